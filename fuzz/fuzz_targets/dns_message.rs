//! Fuzzes the DNS proxy's message layer: any datagram a pod or an upstream sends must
//! become a question, an answer or a `DnsError`, and a refusal can be written for any
//! query that parses, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use observe_proxy::dns::{Refusal, parse_query, parse_response, refusal};

fuzz_target!(|data: &[u8]| {
    if parse_query(data).is_ok() {
        let reply = refusal(data, Refusal::Refused).expect("a parsed query can be refused");
        parse_response(&reply).expect("our refusal parses");
    }
    let _ = parse_response(data);
});
