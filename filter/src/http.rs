//! HTTP fields of L7 flows: `http_status_code` (`404`, or a prefix with `+` such as `5+`),
//! `http_method` (case-insensitive), `http_path` and `http_url` (regular expressions),
//! `http_header` (exact key and value).
//!
//! As in Hubble, these cannot be combined with an event type filter that excludes L7
//! events (monitor type 129): such a filter could never match.

use observe_proto::flow::{Flow, FlowFilter, Http, HttpHeader, layer7};
use regex_lite::Regex;

use super::dns::compile_all;
use super::{FilterBuilder, FilterError, FilterFn};

/// Monitor message type of L7 access log records.
const MESSAGE_TYPE_ACCESS_LOG: i32 = 129;

/// Builds the HTTP filters.
pub struct HttpFilter;

impl FilterBuilder for HttpFilter {
    fn build(&self, filter: &FlowFilter) -> Result<Vec<FilterFn>, FilterError> {
        let mut out = Vec::new();
        if !filter.http_status_code.is_empty() {
            check_event_types(filter, "http_status_code")?;
            out.push(by_status(parse_statuses(&filter.http_status_code)?));
        }
        if !filter.http_method.is_empty() {
            check_event_types(filter, "http_method")?;
            let methods = filter.http_method.clone();
            out.push(on_http(move |h| {
                !h.method.is_empty() && methods.iter().any(|m| m.eq_ignore_ascii_case(&h.method))
            }));
        }
        if !filter.http_path.is_empty() {
            check_event_types(filter, "http_path")?;
            let paths = compile_all("http_path", &filter.http_path)?;
            out.push(on_http(move |h| {
                path_of(&h.url).is_some_and(|p| paths.iter().any(|r| r.is_match(p)))
            }));
        }
        if !filter.http_url.is_empty() {
            check_event_types(filter, "http_url")?;
            let urls: Vec<Regex> = compile_all("http_url", &filter.http_url)?;
            out.push(on_http(move |h| {
                !h.url.is_empty() && urls.iter().any(|r| r.is_match(&h.url))
            }));
        }
        if !filter.http_header.is_empty() {
            check_event_types(filter, "http_header")?;
            let headers = filter.http_header.clone();
            out.push(on_http(move |h| {
                h.headers
                    .iter()
                    .any(|hh| headers.iter().any(|w| same_header(w, hh)))
            }));
        }
        Ok(out)
    }
}

fn check_event_types(filter: &FlowFilter, field: &'static str) -> Result<(), FilterError> {
    let l7_possible = filter.event_type.is_empty()
        || filter
            .event_type
            .iter()
            .any(|t| t.r#type == MESSAGE_TYPE_ACCESS_LOG);
    if l7_possible {
        Ok(())
    } else {
        Err(FilterError::invalid(
            field,
            "",
            "requires the event type filter to match l7 events",
        ))
    }
}

fn on_http(f: impl Fn(&Http) -> bool + Send + Sync + 'static) -> FilterFn {
    Box::new(
        move |flow: &Flow| match flow.l7.as_ref().and_then(|l| l.record.as_ref()) {
            Some(layer7::Record::Http(http)) => f(http),
            _ => false,
        },
    )
}

fn same_header(a: &HttpHeader, b: &HttpHeader) -> bool {
    a.key == b.key && a.value == b.value
}

/// A full code (`"404"`) or a prefix (`"4"` from `"4+"`, `"40"` from `"40+"`).
enum Status {
    Full(String),
    Prefix(String),
}

fn parse_statuses(values: &[String]) -> Result<Vec<Status>, FilterError> {
    values.iter().map(|v| parse_status(v)).collect()
}

fn parse_status(value: &str) -> Result<Status, FilterError> {
    let err = || {
        FilterError::invalid(
            "http_status_code",
            value,
            "expected a code like 404 or a prefix like 5+",
        )
    };
    let starts_1_to_5 = |s: &str| matches!(s.as_bytes().first(), Some(b'1'..=b'5'));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    match value.strip_suffix('+') {
        Some(prefix)
            if (1..=2).contains(&prefix.len()) && starts_1_to_5(prefix) && digits(prefix) =>
        {
            Ok(Status::Prefix(prefix.into()))
        }
        None if value.len() == 3 && starts_1_to_5(value) && digits(value) => {
            Ok(Status::Full(value.into()))
        }
        _ => Err(err()),
    }
}

fn by_status(statuses: Vec<Status>) -> FilterFn {
    on_http(move |http| {
        // Requests carry no code.
        if http.code == 0 {
            return false;
        }
        let code = format!("{:03}", http.code);
        statuses.iter().any(|s| match s {
            Status::Full(full) => *full == code,
            Status::Prefix(prefix) => code.starts_with(prefix.as_str()),
        })
    })
}

/// The path of a request URL: after the authority of an absolute URL, before any query or
/// fragment. `None` when the URL has no path to speak of. (What HTTP rules match: the
/// filters here, the what-if's replay and `policy suggest`.)
pub fn path_of(url: &str) -> Option<&str> {
    let after_scheme = match url.split_once("://") {
        Some((_, rest)) => &rest[rest.find('/')?..],
        None if url.starts_with('/') => url,
        None => return None,
    };
    let end = after_scheme.find(['?', '#']).unwrap_or(after_scheme.len());
    Some(&after_scheme[..end])
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use observe_proto::flow::{EventTypeFilter, Layer7};

    fn http(code: u32, method: &str, url: &str) -> Flow {
        Flow {
            l7: Some(Layer7 {
                record: Some(layer7::Record::Http(Http {
                    code,
                    method: method.into(),
                    url: url.into(),
                    headers: vec![HttpHeader {
                        key: "x-user".into(),
                        value: "42".into(),
                    }],
                    ..Default::default()
                })),
                ..Default::default()
            }),
            ..forwarded()
        }
    }

    #[test]
    fn status_codes_and_prefixes() {
        let filter = FlowFilter {
            http_status_code: vec!["404".into(), "5+".into()],
            ..Default::default()
        };
        check(
            filter,
            &[
                ("404", http(404, "GET", "/"), true),
                ("503", http(503, "GET", "/"), true),
                ("200", http(200, "GET", "/"), false),
                ("request", http(0, "GET", "/"), false),
                ("l3/l4", forwarded(), false),
            ],
        );
        for bad in ["6+", "40", "4044", "+", "abc", "0+"] {
            let err = build_err(FlowFilter {
                http_status_code: vec![bad.into()],
                ..Default::default()
            });
            assert!(err.to_string().contains("http_status_code"), "{bad}: {err}");
        }
    }

    #[test]
    fn method_path_url_and_header() {
        let flow = http(200, "GET", "http://web.default/api/v1?user=1");
        let method = FlowFilter {
            http_method: vec!["get".into()],
            ..Default::default()
        };
        check(method, &[("case-insensitive", flow.clone(), true)]);
        let path = FlowFilter {
            http_path: vec!["^/api/v[0-9]+$".into()],
            ..Default::default()
        };
        check(
            path,
            &[
                ("path without query", flow.clone(), true),
                ("relative", http(0, "GET", "/api/v2"), true),
            ],
        );
        let url = FlowFilter {
            http_url: vec!["user=1".into()],
            ..Default::default()
        };
        check(url, &[("url", flow.clone(), true)]);
        let header = FlowFilter {
            http_header: vec![HttpHeader {
                key: "x-user".into(),
                value: "42".into(),
            }],
            ..Default::default()
        };
        check(
            header,
            &[("header", flow, true), ("none", forwarded(), false)],
        );
    }

    #[test]
    fn event_types_must_allow_l7() {
        let filter = FlowFilter {
            http_method: vec!["GET".into()],
            event_type: vec![EventTypeFilter {
                r#type: 1,
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(build_err(filter).to_string().contains("l7"));
    }

    #[test]
    fn paths_come_from_absolute_and_relative_urls() {
        assert_eq!(path_of("http://h/a/b?q#f"), Some("/a/b"));
        assert_eq!(path_of("/x#frag"), Some("/x"));
        assert_eq!(path_of("http://host"), None);
        assert_eq!(path_of("host/x"), None);
    }
}
