//! `observe get policies --hits`: one line per rule with the connections it allowed and
//! denied since the agent started and when it last decided one; a rule that never did is
//! flagged `unused` (a candidate for removal, or a sign the traffic it was written for
//! never came). A policy's default denies are its `(default deny)` line.

use anyhow::Result;
use observe_proto::control::Policy;
use serde::Serialize;

use super::table;
use observe_describe::clock::clock;
use observe_describe::numbers::thousands;
use observe_describe::sanitize::cleaned;

#[derive(Serialize)]
struct Json<'a> {
    kind: &'a str,
    namespace: &'a str,
    name: &'a str,
    rule: &'a str,
    allowed: u64,
    denied: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_hit: Option<String>,
    unused: bool,
}

/// The table (or JSON array) of every rule of `policies`.
pub fn render(policies: &[Policy], json: bool) -> Result<String> {
    let mut rows = Vec::new();
    let mut out = Vec::new();
    for p in policies {
        for r in &p.rule_hits {
            let unused = r.allowed == 0 && r.denied == 0;
            out.push(Json {
                kind: &p.kind,
                namespace: &p.namespace,
                name: &p.name,
                rule: &r.path,
                allowed: r.allowed,
                denied: r.denied,
                last_hit: r.last.map(|t| t.to_string()),
                unused,
            });
            rows.push(vec![
                cleaned(&p.kind),
                cleaned(&p.namespace),
                cleaned(&p.name),
                cleaned(&r.path),
                thousands(r.allowed),
                thousands(r.denied),
                if unused {
                    "unused".to_string()
                } else {
                    clock(r.last.as_ref())
                },
            ]);
        }
    }
    if json {
        return Ok(serde_json::to_string_pretty(&out)? + "\n");
    }
    let header = [
        "KIND",
        "NAMESPACE",
        "NAME",
        "RULE",
        "ALLOWED",
        "DENIED",
        "LAST HIT (UTC)",
    ];
    Ok(table::render(&header, &rows))
}

#[cfg(test)]
mod tests {
    use observe_proto::Timestamp;
    use observe_proto::control::RuleHits;

    use super::*;

    #[test]
    fn every_rule_with_its_hits_and_unused_ones_flagged() {
        let p = Policy {
            kind: "CiliumNetworkPolicy".into(),
            namespace: "shop".into(),
            name: "backend-ingress".into(),
            rule_hits: vec![
                RuleHits {
                    path: "spec.ingress[0]".into(),
                    allowed: 1234,
                    last: Some(Timestamp {
                        seconds: 1_700_000_000,
                        nanos: 0,
                    }),
                    ..Default::default()
                },
                RuleHits {
                    path: "spec.ingress[1]".into(),
                    ..Default::default()
                },
                RuleHits {
                    path: "(default deny)".into(),
                    denied: 3,
                    last: Some(Timestamp {
                        seconds: 1_700_000_060,
                        nanos: 0,
                    }),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let text = render(std::slice::from_ref(&p), false).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("KIND"), "{text}");
        assert!(
            lines[1].contains("spec.ingress[0]") && lines[1].contains("1,234"),
            "{text}"
        );
        assert!(
            lines[2].contains("spec.ingress[1]") && lines[2].ends_with("unused"),
            "{text}"
        );
        assert!(
            lines[3].contains("(default deny)") && lines[3].contains(" 3 "),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&render(&[p], true).unwrap()).unwrap();
        assert_eq!(json[1]["unused"], true);
        assert_eq!(json[0]["allowed"], 1234);
    }
}
