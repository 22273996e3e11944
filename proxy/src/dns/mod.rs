//! The DNS proxy's parts: messages on the wire ([`message`]), judging a query against
//! `rules.dns` ([`rules`]), one query's forwarding ([`exchange`]), and the UDP listener
//! that runs them ([`server`]).

pub mod exchange;
pub mod message;
pub mod rules;
pub mod server;

pub use exchange::{Decision, Exchange, Outcome, UPSTREAM_TIMEOUT, exchange_udp};
pub use message::{Answer, DnsError, Question, Refusal, parse_query, parse_response, refusal};
pub use rules::{DnsRule, DnsRules, Judgement};
