//! The agent's L7 proxies. Today the DNS layer ([`dns`]): reading queries and answers off
//! the wire, judging a query against `rules.dns`, forwarding it 1:1 to its original
//! destination while reporting what was asked and answered, and the transparent sockets
//! and listeners the datapath steers pods' DNS to (over UDP and TCP). The HTTP proxy comes
//! next (issue 13).

pub mod dns;
