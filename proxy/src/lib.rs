//! The agent's L7 proxies: the DNS layer ([`dns`]: reading queries and answers off the
//! wire, judging a query against `rules.dns`, forwarding it 1:1 to its original destination
//! while reporting what was asked and answered, over UDP and TCP) and the HTTP proxy
//! ([`http`]: judging each request against `rules.http`, answering 403 or forwarding it to
//! its original destination), with the transparent sockets and listeners the datapath
//! steers pods' connections to.

pub mod dns;
pub mod http;
