//! The HTTP proxy's parts: a request as the rules see it ([`request`]), what the proxy
//! reports and counts ([`report`]), the transparent listeners the datapath steers
//! connections to ([`listener`]), the upstream connection ([`upstream`]) and one
//! downstream connection, request by request ([`server`]).
//!
//! Every request on a connection is judged on its own (keep-alive connections mix allowed
//! and denied requests): a denied one is answered `403 Access denied` at once, an allowed
//! one goes to the connection's original destination over one upstream connection per
//! downstream connection, its body and the response's streamed both ways.

pub mod listener;
pub mod report;
pub mod request;
pub mod server;
pub mod upstream;

pub use listener::{Listeners, bind};
pub use report::{HttpReport, RequestHead, Stats, Verdict};
pub use request::Head;
pub use server::{Config, Handler, Judge, serve, serve_connection};
pub use upstream::{Connector, Upstream};

#[cfg(test)]
mod tests;
