//! `observe flows --aggregate-by source,destination,port,verdict`: counts per group
//! instead of every flow (hubble#1697), with the first and last time each group was
//! seen, most frequent first. A group's values are the words the other formats print
//! (`shop/frontend`, `8080/TCP`, `DROPPED`, the drop reason, the deciding policy).

use std::collections::BTreeMap;

use clap::ValueEnum;
use observe_describe::names::{self, FlowEnd};
use observe_describe::numbers::thousands;
use observe_describe::sanitize::cleaned;
use observe_describe::{l4, policy, reason, verdict};
use observe_proto::Timestamp;
use observe_proto::flow::Flow;
use serde_json::{Map, Value};

use super::time::{TimeFormat, format};

/// What flows are grouped by.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupKey {
    /// The source pod (or address, name, entity).
    Source,
    /// The destination pod (or address, name, entity).
    Destination,
    /// The destination port and protocol (`8080/TCP`).
    Port,
    /// FORWARDED, DROPPED, …
    Verdict,
    /// The drop or trace reason.
    Reason,
    /// The policy that decided.
    Policy,
    /// The node that saw the flow.
    Node,
    /// Ingress or egress.
    Direction,
}

impl GroupKey {
    fn header(self) -> &'static str {
        match self {
            Self::Source => "SOURCE",
            Self::Destination => "DESTINATION",
            Self::Port => "PORT",
            Self::Verdict => "VERDICT",
            Self::Reason => "REASON",
            Self::Policy => "POLICY",
            Self::Node => "NODE",
            Self::Direction => "DIRECTION",
        }
    }

    fn json_name(self) -> &'static str {
        match self {
            Self::Source => "source",
            Self::Destination => "destination",
            Self::Port => "port",
            Self::Verdict => "verdict",
            Self::Reason => "reason",
            Self::Policy => "policy",
            Self::Node => "node",
            Self::Direction => "direction",
        }
    }

    fn value(self, flow: &Flow, numeric: bool) -> String {
        let address = |end: FlowEnd| {
            let ip = flow.ip.as_ref();
            let a = match end {
                FlowEnd::Source => ip.map(|i| i.source.as_str()),
                FlowEnd::Destination => ip.map(|i| i.destination.as_str()),
            };
            cleaned(a.unwrap_or_default())
        };
        match self {
            Self::Source if numeric => address(FlowEnd::Source),
            Self::Destination if numeric => address(FlowEnd::Destination),
            Self::Source => names::name(flow, FlowEnd::Source),
            Self::Destination => names::name(flow, FlowEnd::Destination),
            Self::Port => l4::of(flow).port_protocol(),
            Self::Verdict => verdict::verdict_word(flow).to_string(),
            Self::Reason => reason::reason(flow),
            Self::Policy => policy::summary(flow),
            Self::Node => cleaned(&flow.node_name),
            Self::Direction => flow.traffic_direction().as_str_name().to_string(),
        }
    }
}

/// The keys of `--aggregate-by`, in order (at most one of each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupBy {
    keys: [Option<GroupKey>; 8],
}

impl GroupBy {
    /// `keys` in the order given, duplicates dropped; `None` when there are none.
    pub fn new(keys: &[GroupKey]) -> Option<Self> {
        let mut out = [None; 8];
        let mut n = 0;
        for k in keys {
            if !out.contains(&Some(*k)) && n < out.len() {
                out[n] = Some(*k);
                n += 1;
            }
        }
        (n > 0).then_some(Self { keys: out })
    }

    fn keys(&self) -> impl Iterator<Item = GroupKey> + '_ {
        self.keys.iter().flatten().copied()
    }

    /// The group `flow` belongs to.
    pub fn key_of(&self, flow: &Flow, numeric: bool) -> Vec<String> {
        self.keys().map(|k| k.value(flow, numeric)).collect()
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Stats {
    flows: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

/// The groups seen so far.
#[derive(Debug, Default)]
pub struct Groups {
    groups: BTreeMap<Vec<String>, Stats>,
}

impl Groups {
    /// Counts one flow of group `key` at `time`.
    pub fn add(&mut self, key: Vec<String>, time: Option<Timestamp>) {
        let s = self.groups.entry(key).or_default();
        s.flows += 1;
        let older = |a: Timestamp, b: Timestamp| a.unix_nanos() < b.unix_nanos();
        s.first = match (s.first, time) {
            (Some(f), Some(t)) if older(t, f) => Some(t),
            (None, t) => t,
            (f, _) => f,
        };
        s.last = match (s.last, time) {
            (Some(l), Some(t)) if older(l, t) => Some(t),
            (None, t) => t,
            (l, _) => l,
        };
    }

    fn sorted(&self) -> Vec<(&Vec<String>, &Stats)> {
        let mut rows: Vec<_> = self.groups.iter().collect();
        rows.sort_by(|a, b| b.1.flows.cmp(&a.1.flows).then_with(|| a.0.cmp(b.0)));
        rows
    }

    /// The table: the keys, FLOWS, FIRST and LAST, most frequent group first.
    pub fn table(&self, by: &GroupBy, time: TimeFormat) -> String {
        let mut header: Vec<&str> = by.keys().map(GroupKey::header).collect();
        header.extend(["FLOWS", "FIRST", "LAST"]);
        let rows: Vec<Vec<String>> = self
            .sorted()
            .into_iter()
            .map(|(key, s)| {
                let mut row = key.clone();
                row.push(thousands(s.flows));
                row.push(format(s.first.as_ref(), time));
                row.push(format(s.last.as_ref(), time));
                row
            })
            .collect();
        crate::output::table::render(&header, &rows)
    }

    /// One JSON object per group, one per line.
    pub fn json_lines(&self, by: &GroupBy) -> String {
        let mut out = String::new();
        for (key, s) in self.sorted() {
            let mut obj = Map::new();
            for (k, v) in by.keys().zip(key) {
                obj.insert(k.json_name().into(), Value::String(v.clone()));
            }
            obj.insert("flows".into(), s.flows.into());
            let time =
                |t: Option<Timestamp>| t.map_or(Value::Null, |t| Value::String(t.to_string()));
            obj.insert("first".into(), time(s.first));
            obj.insert("last".into(), time(s.last));
            out.push_str(&Value::Object(obj).to_string());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use observe_proto::flow::{Endpoint, Layer4, Tcp, Verdict, layer4};

    use super::*;

    fn flow(from: &str, port: u32, verdict: Verdict, secs: i64) -> Flow {
        let pod = |name: &str| Endpoint {
            namespace: "shop".into(),
            pod_name: name.into(),
            ..Default::default()
        };
        Flow {
            time: Some(Timestamp {
                seconds: secs,
                nanos: 0,
            }),
            verdict: verdict.into(),
            source: Some(pod(from)),
            destination: Some(pod("backend")),
            l4: Some(Layer4 {
                protocol: Some(layer4::Protocol::Tcp(Tcp {
                    source_port: 40_000 + secs as u32,
                    destination_port: port,
                    flags: None,
                })),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn flows_are_counted_per_group_most_frequent_first() {
        let by = GroupBy::new(&[
            GroupKey::Source,
            GroupKey::Port,
            GroupKey::Verdict,
            GroupKey::Port,
        ])
        .unwrap();
        let mut groups = Groups::default();
        for f in [
            flow("frontend", 8080, Verdict::Forwarded, 10),
            flow("frontend", 9090, Verdict::Dropped, 11),
            flow("frontend", 8080, Verdict::Forwarded, 12),
            flow("frontend", 8080, Verdict::Forwarded, 5),
        ]
        .iter()
        {
            groups.add(by.key_of(f, false), f.time);
        }
        let table = groups.table(&by, TimeFormat::Rfc3339);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["SOURCE", "PORT", "VERDICT", "FLOWS", "FIRST", "LAST"]
        );
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            [
                "shop/frontend",
                "8080/TCP",
                "FORWARDED",
                "3",
                "1970-01-01T00:00:05Z",
                "1970-01-01T00:00:12Z"
            ]
        );
        assert!(
            lines[2].contains("9090/TCP") && lines[2].contains("DROPPED"),
            "{table}"
        );
        let json = groups.json_lines(&by);
        let first: Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
        assert_eq!(first["flows"], 3);
        assert_eq!(first["port"], "8080/TCP");
        assert!(GroupBy::new(&[]).is_none());
    }
}
