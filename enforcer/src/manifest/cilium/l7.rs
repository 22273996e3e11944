//! L7 rules (`toPorts[].rules`): HTTP and DNS are parsed and validated; their enforcement
//! needs a proxy that does not exist yet, so they only mark entries as "L7 pending".

use super::dns::read_dns_selector;
use crate::manifest::cursor::{Cursor, MapCursor};
use crate::policy::Direction;
use crate::policy::model::L7;

/// Reads `rules` of a section in `direction`: exactly one of `http` or `dns` (DNS only at
/// egress).
pub fn read_l7(c: &Cursor<'_>, direction: Direction) -> Option<L7> {
    let m = c.map()?;
    let mut unsupported = false;
    for field in ["kafka", "l7proto", "l7"] {
        if let Some(f) = m.get(field) {
            f.error(format!(
                "{field} rules are not supported by this enforcer (only http and dns)"
            ));
            unsupported = true;
        }
    }
    let http = m.get("http");
    let dns = m.get("dns");
    m.finish();
    match (http, dns) {
        (Some(_), Some(_)) => {
            c.error("multiple L7 protocol rule types specified in single rule");
            None
        }
        (Some(h), None) => read_http(&h).filter(|_| !unsupported).map(L7::Http),
        (None, Some(d)) if direction == Direction::Ingress => {
            d.error("DNS rules are only allowed on egress");
            None
        }
        (None, Some(d)) => read_dns(&d).filter(|_| !unsupported).map(L7::Dns),
        // The unsupported kind was reported already: one error is clearer than two.
        (None, None) if unsupported => None,
        (None, None) => {
            c.error("\"rules\" needs http or dns");
            None
        }
    }
}

fn read_http(c: &Cursor<'_>) -> Option<usize> {
    c.each(read_http_rule).map(|rules| rules.len())
}

fn read_http_rule(item: &Cursor<'_>) -> Option<()> {
    let m = item.map()?;
    let mut ok = true;
    for field in ["path", "method", "host"] {
        if let Some(f) = m.get(field) {
            ok &= f.string().is_some();
        }
    }
    if let Some(h) = m.get("headers") {
        ok &= h.each(|header| header.string()).is_some();
    }
    if let Some(h) = m.get("headerMatches") {
        ok &= h.each(|hm| read_header_match(&hm.map()?)).is_some();
    }
    m.finish();
    ok.then_some(())
}

fn read_header_match(m: &MapCursor<'_>) -> Option<()> {
    let mut ok = match m.get("name") {
        Some(n) => n.string().is_some(),
        None => {
            m.cursor().error("missing field \"name\"");
            false
        }
    };
    if let Some(v) = m.get("value") {
        ok &= v.scalar().is_some();
    }
    if let Some(mismatch) = m.get("mismatch") {
        match mismatch.string() {
            Some("LOG" | "ADD" | "DELETE" | "REPLACE") => {}
            Some(_) => {
                mismatch.invalid("one of LOG, ADD, DELETE, REPLACE");
                ok = false;
            }
            None => ok = false,
        }
    }
    m.ignore(&["secret"]);
    m.finish();
    ok.then_some(())
}

fn read_dns(c: &Cursor<'_>) -> Option<Vec<String>> {
    c.each(|item| read_dns_selector(item, "a dns rule").map(|(_, text)| text))
}
