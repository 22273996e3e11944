//! L7 rules (`toPorts[].rules`): `http` (every field, regular expressions compiled here so
//! that a bad one is an error naming its field) and `dns`. Both are enforced by the
//! agent's proxies.

use super::dns::read_dns_selector;
use crate::manifest::cursor::{Cursor, MapCursor};
use crate::policy::Direction;
use crate::policy::http::{HeaderMatch, HeaderRequirement, HttpRule, Mismatch, Pattern};
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

fn read_http(c: &Cursor<'_>) -> Option<Vec<HttpRule>> {
    c.each(read_http_rule)
}

fn read_http_rule(item: &Cursor<'_>) -> Option<HttpRule> {
    let m = item.map()?;
    let mut ok = true;
    let mut pattern = |field: &str| -> Option<Pattern> {
        let f = m.get(field)?;
        let text = f.string().or_else(|| {
            ok = false;
            None
        })?;
        Pattern::new(text)
            .map_err(|e| {
                f.error(format!("invalid regular expression {text:?}: {e}"));
                ok = false;
            })
            .ok()
    };
    let method = pattern("method");
    let path = pattern("path");
    let host = pattern("host");
    let headers = match m.get("headers") {
        Some(h) => h
            .each(|header| header.string().map(HeaderRequirement::parse))
            .unwrap_or_else(|| {
                ok = false;
                Vec::new()
            }),
        None => Vec::new(),
    };
    let header_matches = match m.get("headerMatches") {
        Some(h) => h
            .each(|hm| read_header_match(&hm.map()?))
            .unwrap_or_else(|| {
                ok = false;
                Vec::new()
            }),
        None => Vec::new(),
    };
    m.finish();
    ok.then_some(HttpRule {
        method,
        path,
        host,
        headers,
        header_matches,
    })
}

fn read_header_match(m: &MapCursor<'_>) -> Option<HeaderMatch> {
    let name = match m.get("name") {
        Some(n) => n.string(),
        None => {
            m.cursor().error("missing field \"name\"");
            None
        }
    };
    let mut ok = name.is_some();
    let value = match m.get("value") {
        Some(v) => v.scalar().unwrap_or_else(|| {
            ok = false;
            ""
        }),
        None => "",
    };
    if let Some(s) = m.get("secret") {
        s.error("secret header values are not supported (they need a secret store): give the value literally");
        ok = false;
    }
    let mut mismatch = None;
    if let Some(c) = m.get("mismatch") {
        match c.string().map(|t| (t, Mismatch::parse(t))) {
            Some((_, Some(action))) => mismatch = Some(action),
            Some((_, None)) => {
                c.invalid("one of LOG, ADD, DELETE, REPLACE");
                ok = false;
            }
            None => ok = false,
        }
    }
    m.finish();
    ok.then(|| HeaderMatch {
        name: name.unwrap_or_default().to_ascii_lowercase(),
        value: value.to_string(),
        mismatch,
    })
}

fn read_dns(c: &Cursor<'_>) -> Option<Vec<String>> {
    c.each(|item| read_dns_selector(item, "a dns rule").map(|(_, text)| text))
}
