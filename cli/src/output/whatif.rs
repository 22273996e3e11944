//! The report of `observe policy whatif`: the connections whose verdict would change,
//! most frequent first, with what would decide them, then a summary line.

use anyhow::Result;
use observe_proto::control::{WhatIfChange, WhatIfResponse};

use super::table;
use observe_describe::clock::clock;
use observe_describe::numbers::thousands;
use observe_describe::sanitize::cleaned;

/// Whether `change` denies a connection that is allowed today.
pub fn breaks(change: &WhatIfChange) -> bool {
    change.now == "ALLOWED" && change.would_be == "DENIED"
}

/// The table and summary (or the response as JSON).
pub fn render(resp: &WhatIfResponse, json: bool) -> Result<String> {
    if json {
        return Ok(serde_json::to_string_pretty(resp)? + "\n");
    }
    let mut out = String::new();
    if !resp.changes.is_empty() {
        let rows: Vec<Vec<String>> = resp
            .changes
            .iter()
            .map(|c| {
                vec![
                    cleaned(&c.from),
                    cleaned(&c.to),
                    format!("{}/{}", c.dport, c.protocol),
                    if c.request.is_empty() {
                        "-".to_string()
                    } else {
                        cleaned(&c.request)
                    },
                    format!("{} -> {}", c.now, c.would_be),
                    thousands(c.flows),
                    clock(c.first.as_ref()),
                    clock(c.last.as_ref()),
                    cleaned(&c.because),
                ]
            })
            .collect();
        let header = [
            "FROM",
            "TO",
            "PORT",
            "REQUEST",
            "VERDICT",
            "FLOWS",
            "FIRST (UTC)",
            "LAST (UTC)",
            "BECAUSE",
        ];
        out.push_str(&table::render(&header, &rows));
    }
    let broken = resp.changes.iter().filter(|c| breaks(c)).count();
    let opened = resp.changes.len() - broken;
    out.push_str(&format!(
        "{} flows ({} connections) replayed{}: {broken} connections would be denied, {opened} newly allowed\n",
        thousands(resp.flows),
        thousands(resp.connections),
        resp.oldest
            .as_ref()
            .map(|t| format!(" since {}", clock(Some(t))))
            .unwrap_or_default(),
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_then_a_summary_and_breaking_ones_are_told_apart() {
        let change = |now: &str, after: &str| WhatIfChange {
            from: "e2e/client".into(),
            to: "e2e/server".into(),
            protocol: "TCP".into(),
            dport: 8080,
            now: now.into(),
            would_be: after.into(),
            because: "default deny on ingress (selected by CiliumNetworkPolicy e2e/server-ingress)"
                .into(),
            flows: 3,
            ..Default::default()
        };
        let resp = WhatIfResponse {
            changes: vec![change("ALLOWED", "DENIED"), change("DENIED", "ALLOWED")],
            flows: 10,
            connections: 4,
            oldest: None,
        };
        assert!(breaks(&resp.changes[0]) && !breaks(&resp.changes[1]));
        let text = render(&resp, false).unwrap();
        assert!(
            text.contains("8080/TCP") && text.contains("ALLOWED -> DENIED"),
            "{text}"
        );
        assert!(text.ends_with("10 flows (4 connections) replayed: 1 connections would be denied, 1 newly allowed\n"), "{text}");
    }
}
