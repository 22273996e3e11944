//! A request head as `rules.http` sees it ([`enforcer::policy::http::RequestView`]), and
//! the URL flows show (`http://backend:8080/admin`).

use enforcer::policy::http::RequestView;
use hyper::http::request::Parts;
use hyper::{HeaderMap, Method, Uri};

/// A request head read by hyper.
pub struct Head<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
}

impl<'a> Head<'a> {
    /// The view of a request's parts.
    pub fn new(parts: &'a Parts) -> Self {
        Self {
            method: &parts.method,
            uri: &parts.uri,
            headers: &parts.headers,
        }
    }

    /// The view of a target and headers (the method is not needed for the URL).
    pub fn of(uri: &'a Uri, headers: &'a HeaderMap) -> Self {
        Self {
            method: &Method::GET,
            uri,
            headers,
        }
    }
}

impl RequestView for Head<'_> {
    fn method(&self) -> &str {
        self.method.as_str()
    }

    fn path(&self) -> &str {
        self.uri.path_and_query().map_or("/", |p| p.as_str())
    }

    fn host(&self) -> &str {
        self.headers
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| self.uri.authority().map(|a| a.as_str()))
            .unwrap_or("")
    }

    fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }
}

impl Head<'_> {
    /// The URL as Hubble shows it: scheme, host (the original destination's address when
    /// the request names none) and target.
    pub fn url(&self, destination: std::net::SocketAddr) -> String {
        let host = self.host();
        if host.is_empty() {
            format!("http://{destination}{}", self.path())
        } else {
            format!("http://{host}{}", self.path())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(req: hyper::Request<()>) -> Parts {
        req.into_parts().0
    }

    #[test]
    fn the_view_reads_method_target_host_and_headers() {
        let p = parts(
            hyper::Request::post("/api/items?x=1")
                .header("Host", "backend:8080")
                .header("X-Token", "a")
                .header("x-token", "b")
                .body(())
                .unwrap(),
        );
        let h = Head::new(&p);
        assert_eq!(h.method(), "POST");
        assert_eq!(h.path(), "/api/items?x=1");
        assert_eq!(h.host(), "backend:8080");
        assert_eq!(h.header_values("x-token"), ["a", "b"]);
        let dst = "10.0.0.2:8080".parse().unwrap();
        assert_eq!(h.url(dst), "http://backend:8080/api/items?x=1");
    }

    #[test]
    fn without_a_host_the_url_names_the_destination() {
        let p = parts(hyper::Request::get("/").body(()).unwrap());
        let h = Head::new(&p);
        assert_eq!(h.host(), "");
        assert_eq!(h.url("10.0.0.2:80".parse().unwrap()), "http://10.0.0.2:80/");
        let abs = parts(hyper::Request::get("http://a.example/x").body(()).unwrap());
        assert_eq!(Head::new(&abs).host(), "a.example");
        assert_eq!(Head::new(&abs).path(), "/x");
    }
}
