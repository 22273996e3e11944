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
    for field in ["kafka", "l7proto", "l7"] {
        if let Some(f) = m.get(field) {
            f.error(format!(
                "{field} rules are not supported by this enforcer (only http and dns)"
            ));
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
        (Some(h), None) => read_http(&h).map(L7::Http),
        (None, Some(d)) if direction == Direction::Ingress => {
            d.error("DNS rules are only allowed on egress");
            None
        }
        (None, Some(d)) => read_dns(&d).map(L7::Dns),
        (None, None) => {
            c.error("\"rules\" needs http or dns");
            None
        }
    }
}

fn read_http(c: &Cursor<'_>) -> Option<usize> {
    let items = c.seq()?;
    for item in &items {
        let m = item.map()?;
        for field in ["path", "method", "host"] {
            if let Some(f) = m.get(field) {
                f.string()?;
            }
        }
        if let Some(h) = m.get("headers") {
            for header in h.seq()? {
                header.string()?;
            }
        }
        if let Some(h) = m.get("headerMatches") {
            for hm in h.seq()? {
                read_header_match(&hm.map()?)?;
            }
        }
        m.finish();
    }
    Some(items.len())
}

fn read_header_match(m: &MapCursor<'_>) -> Option<()> {
    if m.get("name")
        .and_then(|n| n.string().map(str::to_string))
        .is_none()
    {
        m.cursor().error("missing field \"name\"");
        return None;
    }
    if let Some(v) = m.get("value") {
        v.scalar()?;
    }
    if let Some(mismatch) = m.get("mismatch")
        && !matches!(
            mismatch.string(),
            Some("LOG" | "ADD" | "DELETE" | "REPLACE")
        )
    {
        mismatch.invalid("one of LOG, ADD, DELETE, REPLACE");
        return None;
    }
    m.ignore(&["secret"]);
    m.finish();
    Some(())
}

fn read_dns(c: &Cursor<'_>) -> Option<Vec<String>> {
    c.seq()?
        .iter()
        .map(|item| read_dns_selector(item, "a dns rule").map(|(_, text)| text))
        .collect()
}
