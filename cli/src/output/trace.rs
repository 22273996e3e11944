//! `policy trace` output: text like `cilium policy trace`, and JSON.

use std::fmt::Write;

use anyhow::Result;
use enforcer::engine::trace::{Party, RuleMatch, SideTrace, Trace};
use enforcer::policy::ports::{is_portless, parse_protocol_name};
use probe_common::drop_reason;

/// The trace as indented JSON, with the drop reason's name alongside its code.
pub fn to_json(trace: &Trace) -> Result<String> {
    #[derive(serde::Serialize)]
    struct Out<'a> {
        #[serde(flatten)]
        trace: &'a Trace,
        drop_reason_name: Option<&'static str>,
    }
    let out = Out {
        trace,
        drop_reason_name: trace.drop_reason.map(drop_reason::name),
    };
    Ok(serde_json::to_string_pretty(&out)?)
}

/// A party's name, with the workload a pod stands for: `shop/web-x2b4c-0 (deployment/web)`.
fn named(p: &Party) -> String {
    match &p.owner {
        Some(owner) => format!("{} ({owner})", p.name),
        None => p.name.clone(),
    }
}

/// The trace as text.
pub fn to_text(t: &Trace) -> String {
    let mut out = String::new();
    let port = if t.protocol.starts_with("ICMP") {
        format!(" type {}", t.dport)
    } else if parse_protocol_name(&t.protocol).is_some_and(is_portless) {
        String::new()
    } else {
        format!(":{}", t.dport)
    };
    let _ = writeln!(
        out,
        "Tracing {} {} -> {}{port}\n",
        t.protocol,
        named(&t.source),
        named(&t.destination)
    );
    for (title, p) in [("Source", &t.source), ("Destination", &t.destination)] {
        let node = p
            .node
            .as_deref()
            .map(|n| format!(", node {n}"))
            .unwrap_or_default();
        let kind = match &p.owner {
            Some(owner) => format!("{} of {owner}", p.kind),
            None => p.kind.clone(),
        };
        let _ = writeln!(
            out,
            "{title:<12} {} ({kind}, identity {}{node})",
            p.name, p.identity
        );
        let _ = writeln!(out, "{:<12} {}", "", p.labels.join(", "));
    }
    side(
        &mut out,
        &format!("Egress from {}", named(&t.source)),
        &t.egress,
    );
    side(
        &mut out,
        &format!("Ingress to {}", named(&t.destination)),
        &t.ingress,
    );
    let _ = writeln!(out);
    match t.drop_reason {
        Some(r) => {
            let at = if t.egress.drop_reason.is_some() {
                "the source's egress"
            } else {
                "the destination's ingress"
            };
            let _ = writeln!(
                out,
                "Final verdict: DENIED ({} {}, at {at})",
                r,
                drop_reason::name(r)
            );
        }
        None if t.verdict == "AUDIT" => {
            let _ = writeln!(
                out,
                "Final verdict: AUDIT (it passes; a policy in audit mode would drop it)"
            );
        }
        None => {
            let _ = writeln!(out, "Final verdict: ALLOWED");
        }
    }
    if let Some(l7) = &t.l7_verdict {
        let _ = writeln!(out, "HTTP: {l7}");
    }
    if let Some(reply) = &t.reply {
        let _ = writeln!(out, "Reply: {reply}");
    }
    out
}

fn side(out: &mut String, title: &str, s: &SideTrace) {
    let reason = s
        .drop_reason
        .map(|r| format!(" ({}, {r} {})", drop_reason::text(r), drop_reason::name(r)))
        .unwrap_or_default();
    let _ = writeln!(out, "\n{title}: {}{reason}", s.verdict);
    if !s.selecting_policies.is_empty() {
        let _ = writeln!(out, "  selected by: {}", s.selecting_policies.join(", "));
        let _ = writeln!(
            out,
            "  default deny: {}",
            if s.default_deny { "on" } else { "off" }
        );
        let _ = writeln!(
            out,
            "  peer identity: {}, match: {}",
            s.peer_identity, s.match_type
        );
    }
    if s.enforced {
        rules(out, "deny rules matching", &s.denying_rules);
        rules(out, "allow rules matching", &s.matched_rules);
    }
    for h in &s.hints {
        let _ = writeln!(out, "  hint: {h}");
    }
    for n in &s.notes {
        let _ = writeln!(out, "  {n}");
    }
    if let Some(a) = &s.audit {
        let r = a.drop_reason;
        let _ = writeln!(
            out,
            "  audit mode: would drop it ({}, {r} {}), by: {}",
            drop_reason::text(r),
            drop_reason::name(r),
            a.by.join(", ")
        );
    }
}

fn rules(out: &mut String, what: &str, list: &[RuleMatch]) {
    if list.is_empty() {
        let _ = writeln!(out, "  {what}: none");
        return;
    }
    let _ = writeln!(out, "  {what}:");
    for r in list {
        let ns = if r.namespace.is_empty() {
            String::new()
        } else {
            format!("{}/", r.namespace)
        };
        let l7 =
            r.l7.as_deref()
                .map(|l| format!(" [{l}]"))
                .unwrap_or_default();
        let _ = writeln!(out, "    {} {ns}{} {}{l7}", r.kind, r.name, r.rule);
    }
}
