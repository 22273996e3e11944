//! The agent's L7 proxies. Today the DNS layer ([`dns`]): reading queries and answers off
//! the wire, judging a query against `rules.dns`, and forwarding it 1:1 to its original
//! destination while reporting what was asked and answered. The transparent steering (the
//! datapath's socket assign) and the HTTP proxy come next (issues 12 and 13).

pub mod dns;
