//! One downstream connection, request by request: read the head (hyper, with a deadline
//! and a size limit), judge it, answer 403 or forward it upstream and stream both bodies,
//! report it. [`serve`] accepts the listener's connections; [`serve_connection`] serves
//! any stream (the fuzz target feeds it bytes).

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use enforcer::engine::trace::RuleMatch;
use enforcer::engine::{HttpJudgement, HttpPolicy, HttpSide};
use enforcer::policy::Direction;
use enforcer::policy::http::{HeaderEdit, HttpRule, Mismatch};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{HeaderMap, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};

use super::report::{HttpReport, RequestHead, Stats, Verdict};
use super::request::Head;
use super::upstream::{Connector, Upstream};

/// The body the proxy answers with: the upstream's, streamed, or its own.
pub type Body = Either<Incoming, Full<Bytes>>;

/// The engine, as the proxy asks it.
pub trait Judge: Send + Sync + 'static {
    /// The generation of the rules (every policy change makes a new one).
    fn generation(&self) -> u64;
    /// The rules for the connection `client` → `server`, with their generation; `None`
    /// before the agent published any.
    fn policy(&self, client: SocketAddr, server: SocketAddr) -> Option<(u64, Arc<HttpPolicy>)>;
}

/// A judge with one fixed set of rules for every connection: benchmarks, fuzzing and
/// tests, where no agent publishes any.
pub struct Fixed(pub Arc<HttpPolicy>);

impl Fixed {
    /// The ingress rule `spec.ingress[0]` of CiliumNetworkPolicy `namespace/name` with
    /// `http` as its `rules.http`; egress open.
    pub fn ingress(namespace: &str, name: &str, http: Vec<HttpRule>) -> Self {
        let rule = RuleMatch {
            kind: "CiliumNetworkPolicy".into(),
            namespace: namespace.into(),
            name: name.into(),
            rule: "spec.ingress[0]".into(),
            l7: None,
            dns: Vec::new(),
            http,
        };
        Self(Arc::new(HttpPolicy {
            egress: HttpSide::Open(None),
            ingress: HttpSide::Rules(vec![Arc::new(rule)]),
        }))
    }
}

impl Judge for Fixed {
    fn generation(&self) -> u64 {
        1
    }

    fn policy(&self, _: SocketAddr, _: SocketAddr) -> Option<(u64, Arc<HttpPolicy>)> {
        Some((1, self.0.clone()))
    }
}

/// Limits and timeouts.
#[derive(Clone, Debug)]
pub struct Config {
    /// How long a request head may take to arrive (a slow client is cut).
    pub header_read_timeout: Duration,
    /// The largest request head (431 beyond). hyper's read buffer is capped at the same
    /// size (at least 8 KiB), which bounds what a connection holds before it is judged.
    pub max_header_bytes: usize,
    /// How long connecting upstream may take (503 beyond).
    pub connect_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 60 * 1024,
            connect_timeout: Duration::from_secs(2),
        }
    }
}

/// What every connection shares.
#[derive(Clone)]
pub struct Handler {
    judge: Arc<dyn Judge>,
    connector: Arc<dyn Connector>,
    reports: mpsc::Sender<HttpReport>,
    stats: Arc<Stats>,
    config: Config,
}

impl Handler {
    /// A handler judging with `judge`, connecting with `connector`, reporting on
    /// `reports`, counting in `stats`.
    pub fn new(
        judge: Arc<dyn Judge>,
        connector: Arc<dyn Connector>,
        reports: mpsc::Sender<HttpReport>,
        stats: Arc<Stats>,
        config: Config,
    ) -> Self {
        Self {
            judge,
            connector,
            reports,
            stats,
            config,
        }
    }
}

/// Serves `listener`'s connections until it fails.
pub async fn serve(listener: TcpListener, handler: Handler) -> io::Result<()> {
    loop {
        let (stream, client) = listener.accept().await?;
        let server = stream.local_addr()?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(stream, client, server, handler.clone()));
    }
}

/// Serves one connection from `client` whose original destination is `server`.
pub async fn serve_connection<I>(io: I, client: SocketAddr, server: SocketAddr, handler: Handler)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Stats::bump(&handler.stats.connections);
    let upstream = Upstream::new(
        handler.connector.clone(),
        client,
        server,
        handler.config.connect_timeout,
    );
    let conn = Arc::new(Conn {
        handler: handler.clone(),
        client,
        server,
        state: Mutex::new(State {
            upstream,
            policy: None,
        }),
    });
    let service = hyper::service::service_fn(move |req| {
        let conn = conn.clone();
        async move { Ok::<_, Infallible>(conn.handle(req).await) }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(handler.config.header_read_timeout)
        .max_buf_size(handler.config.max_header_bytes.max(8192))
        .serve_connection(TokioIo::new(io), service)
        .await;
    if let Err(e) = served {
        let stats = &handler.stats;
        if e.is_parse() || e.is_parse_too_large() {
            Stats::bump(&stats.parse_errors);
        } else if e.is_timeout() {
            Stats::bump(&stats.header_timeouts);
        }
    }
}

/// One connection.
struct Conn {
    handler: Handler,
    client: SocketAddr,
    server: SocketAddr,
    state: Mutex<State>,
}

/// What a connection keeps between its requests (hyper serves them one at a time).
struct State {
    upstream: Upstream,
    policy: Option<(u64, Arc<HttpPolicy>)>,
}

impl Conn {
    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        let received = SystemTime::now();
        let started = Instant::now();
        let stats = &self.handler.stats;
        let (mut parts, body) = req.into_parts();
        if head_size(&parts) > self.handler.config.max_header_bytes {
            Stats::bump(&stats.parse_errors);
            let mut response = own_response(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "Request Header Fields Too Large\r\n",
            );
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
        Stats::bump(&stats.requests);
        let mut state = self.state.lock().await;
        let judgement = match self.policy(&mut state) {
            Some(policy) => policy.judge(&Head::new(&parts)),
            None => unpublished(),
        };
        let head = RequestHead {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            version: parts.version,
            headers: parts.headers.clone(),
        };
        let report = |verdict, status: StatusCode, judgement| HttpReport {
            client: self.client,
            server: self.server,
            received,
            request: head,
            judgement,
            verdict,
            status: status.as_u16(),
            latency: started.elapsed(),
        };
        if !judgement.allowed {
            Stats::bump(&stats.denied);
            self.send(report(Verdict::Denied, StatusCode::FORBIDDEN, judgement));
            return own_response(StatusCode::FORBIDDEN, "Access denied\r\n");
        }
        apply_edits(&mut parts.headers, &judgement.edits);
        strip_hop_by_hop(&mut parts.headers);
        match self.forward(&mut state, parts, body).await {
            Ok(mut response) => {
                Stats::bump(&stats.forwarded);
                strip_hop_by_hop(response.headers_mut());
                self.send(report(Verdict::Forwarded, response.status(), judgement));
                response.map(Either::Left)
            }
            Err(_) => {
                // Counted and reported as a flow with verdict ERROR.
                Stats::bump(&stats.upstream_errors);
                state.upstream.reset();
                self.send(report(
                    Verdict::Error,
                    StatusCode::SERVICE_UNAVAILABLE,
                    judgement,
                ));
                own_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "upstream connect error\r\n",
                )
            }
        }
    }

    /// The connection's rules, fetched again when the agent published new ones.
    fn policy(&self, state: &mut State) -> Option<Arc<HttpPolicy>> {
        let judge = &self.handler.judge;
        let current = judge.generation();
        if state.policy.as_ref().is_none_or(|(g, _)| *g != current) {
            state.policy = judge.policy(self.client, self.server);
        }
        state.policy.as_ref().map(|(_, p)| p.clone())
    }

    async fn forward(
        &self,
        state: &mut State,
        parts: Parts,
        body: Incoming,
    ) -> io::Result<Response<Incoming>> {
        let sender = state.upstream.ready().await?;
        sender
            .send_request(Request::from_parts(parts, body))
            .await
            .map_err(io::Error::other)
    }

    fn send(&self, report: HttpReport) {
        if self.handler.reports.try_send(report).is_err() {
            Stats::bump(&self.handler.stats.reports_lost);
        }
    }
}

/// The bytes of a request head as sent, near enough: target and headers.
fn head_size(parts: &Parts) -> usize {
    let target = parts.uri.path_and_query().map_or(1, |p| p.as_str().len());
    let headers: usize = parts
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    target + headers
}

/// The judgement while the agent has published no rules yet: denied, the safe answer.
fn unpublished() -> HttpJudgement {
    HttpJudgement {
        allowed: false,
        direction: Direction::Egress,
        rule: None,
        closest: None,
        http_index: None,
        edits: Vec::new(),
    }
}

/// A response the proxy writes itself.
fn own_response(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from_static(
        text.as_bytes(),
    ))));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// Applies a matching rule's `headerMatches` mismatch actions.
fn apply_edits(headers: &mut HeaderMap, edits: &[HeaderEdit]) {
    for edit in edits {
        let Ok(name) = HeaderName::from_bytes(edit.name.as_bytes()) else {
            continue;
        };
        let value = HeaderValue::from_str(&edit.value).ok();
        match (edit.action, value) {
            (Mismatch::Delete, _) => {
                headers.remove(&name);
            }
            (Mismatch::Add, Some(v)) => {
                headers.append(name, v);
            }
            (Mismatch::Replace, Some(v)) => {
                headers.insert(name, v);
            }
            _ => {}
        }
    }
}

/// Headers that belong to one hop, not to the request: those the `Connection` header
/// names, and the standard ones. (Framing — `Content-Length`, `Transfer-Encoding` — stays:
/// hyper frames the forwarded body by it.)
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// The standard hop-by-hop headers, as names (a `&str` would be parsed on every call).
const HOP_BY_HOP: [HeaderName; 5] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::UPGRADE,
];
