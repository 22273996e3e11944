//! The DNS proxy's parts: messages on the wire ([`message`]), judging a query against
//! `rules.dns` ([`rules`]), one query's forwarding ([`exchange`](mod@exchange)), the transparent sockets
//! the datapath steers pods' DNS to ([`transparent`]), and the listeners that run them
//! ([`server`]).

pub mod exchange;
pub mod message;
pub mod rules;
pub mod server;
#[cfg(test)]
mod testnet;
pub mod transparent;

pub use exchange::{
    Decision, Exchange, Framed, Lazy, Outcome, UPSTREAM_TIMEOUT, Upstream, exchange, exchange_tcp,
    exchange_udp,
};
pub use message::{Answer, DnsError, Question, Refusal, parse_query, parse_response, refusal};
pub use rules::{DnsRule, DnsRules, Judgement};
pub use server::{
    Config, Handler, Hold, Judge, JudgeNote, Report, Route, Stats, Transport,
    serve_transparent_tcp, serve_transparent_udp, serve_udp,
};
pub use transparent::{
    Listeners, bind, recv_with_original_destination, reply_udp, upstream_tcp, upstream_udp,
};
