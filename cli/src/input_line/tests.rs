//! Both readers of a line on the same lines: the fixture, edge cases, renamed and
//! reordered keys, edited bytes and retyped values, through fresh and reused readers.

use super::*;
use observe_proto::observer::get_flows_response::ResponseTypes;
use serde_json::{Map, Value};

/// The replay fixture: responses, a loss report, a bare flow, escapes, unknown fields.
const FIXTURE: &str = include_str!("../../tests/fixtures/flows.jsonl");

/// Lines the fixture lacks: other events and shapes, odd but valid JSON, and lines
/// serde_json refuses.
const EDGE_CASES: &[&str] = &[
    // Other events and layers.
    r#"{"node_status":{"state_change":"NODE_CONNECTED","node_names":["a","b"],"message":"up"},"node_name":"relay","time":"2024-03-14T16:53:01Z"}"#,
    r#"{"agent_event":{"type":"AGENT_STARTED"}}"#,
    r#"{"debug_event":{"type":"DBG_GENERIC"},"node_name":"n"}"#,
    r#"{"flow":{"verdict":"FORWARDED","l7":{"type":"REQUEST","dns":{"query":"api.example.com.","qtypes":["A"],"observation_source":"proxy"}},"source":{"workloads":[{"name":"web","kind":"Deployment"}]},"destination_service":{"name":"db","namespace":"shop"}}}"#,
    r#"{"flow":{"l7":{"type":"RESPONSE","latency_ns":"1200","http":{"code":200,"method":"GET","url":"http://x/a?b=c","headers":[{"key":"k","value":"v"}]}}}}"#,
    r#"{"flow":{"tunnel":{"protocol":"VXLAN","IP":{"source":"1.1.1.1"},"vni":7},"trace_context":{"parent":{"trace_id":"abc"}},"ip_trace_id":{"trace_id":"5"},"proxy_port":8080,"socket_cookie":"18446744073709551615","cgroup_id":42}}"#,
    r#"{"flow":{"attribution":{"kind":"EXPLICIT_DENY","closest_rule":{"kind":"CNP","name":"x"},"fqdn_history":{"name":"a.b"},"l7_rule":"GET /"},"policy_log":["a","b"],"node_labels":["x=y"],"emitter":{"name":"observe","version":"1"}}}"#,
    r#"{"flow":{"extensions":{"@type":"type.googleapis.com/google.protobuf.StringValue","value":"x"}}}"#,
    r#"{"flow":{"aggregate":{"ingress_flow_count":3}}}"#,
    // Aliases, orders, spacing, escapes.
    r#"{"nodeName":"n","flow":{"nodeName":"n","dropReasonDesc":"POLICY_DENIED","isReply":true,"trafficDirection":"EGRESS","sourceNames":["a"],"IP":{"ipVersion":"IPv6","sourceXlated":"::1"}}}"#,
    " \t{ \"flow\" : { \"uuid\" : \"a\" , \"verdict\" : 2 } , \"node_name\" : \"n\" }\r\n",
    r#"{"flow":{"source":{"pod_name":"a\"b\\c\/d\b\f\n\r\t\u0041\u00e9\u4e2d\ud83d\ude00","labels":["\u006b8s:app=x"]}}}"#,
    r#"{"flow":{"Summary":"caf\u00e9 ☕ ünïcode","uuid":""}}"#,
    r#"{"fl\u006fw":{"uuid":"escaped key"}}"#,
    r#"{"flow":{"verd\u0069ct":"DROPPED"}}"#,
    r#"{"flow":{"verdict":"\u0044ROPPED"}}"#,
    // Numbers and enums in every form pbjson takes.
    r#"{"flow":{"drop_reason":"133","policy_match_type":"+4","event_type":{"type":"1","sub_type":133}}}"#,
    r#"{"flow":{"verdict":99,"drop_reason_desc":"SOME_FUTURE_REASON","Type":"L7"}}"#,
    r#"{"flow":{"source":{"identity":4294967295,"ID":0}}}"#,
    r#"{"flow":{"source":{"identity":4294967296}}}"#,
    r#"{"flow":{"source":{"identity":-1}}}"#,
    r#"{"flow":{"source":{"identity":1.0}}}"#,
    r#"{"flow":{"source":{"identity":1e3}}}"#,
    r#"{"flow":{"source":{"identity":012}}}"#,
    r#"{"flow":{"source":{"identity":"12x"}}}"#,
    r#"{"flow":{"source":{"identity":"-0"}}}"#,
    r#"{"flow":{"socket_cookie":18446744073709551616}}"#,
    r#"{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":17,"cpu":{"value":3}}}"#,
    r#"{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"-1"}}"#,
    // Nulls, duplicates, empty and missing parts.
    r#"{"flow":null,"node_name":"n"}"#,
    r#"{"flow":{"uuid":"a","emitter":null},"agent_event":{}}"#,
    r#"{"flow":{"uuid":null}}"#,
    r#"{"flow":{"source":null,"source":{"identity":1}}}"#,
    r#"{"flow":{"uuid":"a","uuid":"b"}}"#,
    r#"{"flow":{"drop_reason":1,"dropReason":2}}"#,
    r#"{"flow":{"x":1,"x":2,"uuid":"dup unknown"}}"#,
    r#"{"flow":{},"lost_events":{}}"#,
    r#"{"flow":{"l4":{"TCP":{},"UDP":{}}}}"#,
    r#"{"flow":{}}"#,
    r#"{}"#,
    r#"{"node_name":"only"}"#,
    r#"{"time":"2024-03-14T16:53:02Z","time":"2024-03-14T16:53:03Z","uuid":"dup time"}"#,
    r#"{"uuid":"bare","verdict":"DROPPED","node_name":"n","time":"2024-03-14T16:53:02Z"}"#,
    r#"{"uuid":"bare","uuid":"twice"}"#,
    // Times.
    r#"{"flow":{"time":"2024-02-29T23:59:59.999999999Z"}}"#,
    r#"{"flow":{"time":"2023-02-29T00:00:00Z"}}"#,
    r#"{"flow":{"time":"2024-03-14T16:53:01+02:00"}}"#,
    r#"{"flow":{"time":"2024-03-14 16:53:01Z"}}"#,
    r#"{"flow":{"time":"0000-01-01T00:00:00Z"}}"#,
    r#"{"flow":{"time":"2024-03-14T16:53:60Z"}}"#,
    r#"{"flow":{"time":"2024-03-14T16:53:01.1234567890Z"}}"#,
    r#"{"flow":{"time":1710435181}}"#,
    // Not JSON, or not an object of a known shape.
    "",
    "   ",
    "[1]",
    "\"flow\"",
    "42",
    "null",
    "{not json",
    r#"{"flow":{"uuid":"a"}} trailing"#,
    r#"{"flow":{"uuid":"a"},}"#,
    r#"{"flow":{"uuid":"a",}}"#,
    r#"{"flow":{"labels":["a",]}}"#,
    r#"{"flow":{"uuid":"a"}"#,
    r#"{"flow":{"uuid":"raw	tab"}}"#,
    r#"{"flow":{"uuid":"\x"}}"#,
    r#"{"flow":{"uuid":"\u12"}}"#,
    r#"{"flow":{"uuid":"\ud800"}}"#,
    r#"{"flow":{"uuid":"\udc00"}}"#,
    r#"{"flow":{"uuid":"\ud800\u0041"}}"#,
    r#"{"flow":{"source":{"labels":"not a list"}}}"#,
    r#"{"flow":{"is_reply":"yes"}}"#,
    r#"{"flow":{"IP":["1.1.1.1"]}}"#,
    r#"{"flow":{"time":"2024-03-14T16:53:01Z","unknown":{"deep":[1,2,{"a":[true,false,null]}],"f":1.5e-3,"s":"\u00e9"}}}"#,
];

/// Every line the two readers are compared on: the fixture, the edge cases, and each of
/// them with keys renamed to lowerCamelCase and reordered (through `serde_json::Value`).
fn corpus() -> Vec<String> {
    let mut lines: Vec<String> = FIXTURE.lines().map(str::to_string).collect();
    lines.extend(EDGE_CASES.iter().map(|l| l.to_string()));
    let renamed: Vec<String> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| camel_case_keys(v).to_string())
        .collect();
    lines.extend(renamed);
    lines
}

fn camel_case_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let renamed: Map<String, Value> = map
                .into_iter()
                .map(|(k, v)| (camel_case(&k), camel_case_keys(v)))
                .collect();
            Value::Object(renamed)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(camel_case_keys).collect()),
        other => other,
    }
}

fn camel_case(key: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// What a reader made of a line, errors as their full text.
fn outcome(
    result: Result<Option<GetFlowsResponse>>,
) -> std::result::Result<Option<GetFlowsResponse>, String> {
    result.map_err(|e| format!("{e:#}"))
}

fn assert_same(reader: &mut LineReader, line: &str) {
    let fast = outcome(reader.read(line).map(|r| r.cloned()));
    let full = outcome(parse_line_with_serde_json(line));
    assert_eq!(fast, full, "line: {line}");
}

#[test]
fn lines_of_every_known_shape() {
    let response = r#"{"flow":{"uuid":"a"},"node_name":"n1"}"#;
    let bare = r#"{"uuid":"b","node_name":"n2","time":"2024-01-01T00:00:00Z"}"#;
    let lost = r#"{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"1"}}"#;
    let agent = r#"{"agent_event":{"type":"AGENT_STARTED"}}"#;
    assert_eq!(parse_line(response).unwrap().unwrap().node_name, "n1");
    let bare = parse_line(bare).unwrap().unwrap();
    assert_eq!(bare.node_name, "n2");
    assert!(bare.time.is_some());
    assert!(matches!(
        parse_line(lost).unwrap().unwrap().response_types,
        Some(ResponseTypes::LostEvents(_))
    ));
    assert!(parse_line(agent).unwrap().is_none());
    assert!(parse_line("  ").unwrap().is_none());
    assert!(parse_line("[1]").is_err());
    assert!(parse_line("{not json").is_err());
}

#[test]
fn the_fast_reader_agrees_with_serde_json_on_every_line() {
    for line in corpus() {
        assert_same(&mut LineReader::new(), &line);
    }
}

#[test]
fn the_fast_reader_decides_the_common_lines_itself() {
    let mut slot = slot::Slot::default();
    for line in FIXTURE.lines() {
        assert_ne!(
            fast::read(&mut slot, line.trim()),
            fast::Outcome::Undecided,
            "{line}"
        );
    }
}

/// One reader for every line, in two orders: what a line leaves in the reused response
/// never shows in the next one.
#[test]
fn a_reused_reader_forgets_the_previous_line() {
    let lines = corpus();
    let mut reader = LineReader::new();
    for line in lines.iter().chain(lines.iter().rev()) {
        assert_same(&mut reader, line);
    }
}

/// Small deterministic edits of every line (a byte dropped, doubled or replaced by a
/// JSON-significant one), each read by the same reader as the lines around it.
#[test]
fn edited_lines_read_alike() {
    const BYTES: &[u8] = b"\"\\{}[],:0-9eE.+ntfu a\t";
    let lines: Vec<String> = FIXTURE
        .lines()
        .chain(EDGE_CASES.iter().copied())
        .map(str::to_string)
        .collect();
    let mut reader = LineReader::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..40 {
        for line in &lines {
            let mut bytes = line.clone().into_bytes();
            if bytes.is_empty() {
                continue;
            }
            let at = (next() as usize) % bytes.len();
            let byte = BYTES[(next() as usize) % BYTES.len()];
            match round % 3 {
                0 => {
                    bytes.remove(at);
                }
                1 => bytes.insert(at, bytes[at]),
                _ => bytes[at] = byte,
            }
            let Ok(edited) = String::from_utf8(bytes) else {
                continue;
            };
            assert_same(&mut reader, &edited);
            assert_same(&mut reader, line);
        }
    }
}

/// Values swapped for values of other types and keys added or removed (through
/// `serde_json::Value`), so that most lines stay JSON and many stay valid: the two
/// readers must agree on each, through one reader.
#[test]
fn retyped_values_read_alike() {
    let lines: Vec<Value> = FIXTURE
        .lines()
        .chain(EDGE_CASES.iter().copied())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let replacements = [
        "null",
        "true",
        "0",
        "4294967295",
        "4294967296",
        "-1",
        "1.5",
        "\"7\"",
        "\"+7\"",
        "\"x\"",
        "\"DROPPED\"",
        "\"2024-03-14T16:53:01.5Z\"",
        "\"2024-13-01T00:00:00Z\"",
        "{}",
        "[]",
        "[\"a\",\"b\"]",
        "{\"TCP\":{\"source_port\":1}}",
        "\"caf\\u00e9\\n\"",
        "2147483648",
        "\"-5\"",
        "[{\"name\":\"p\"}]",
        "{\"value\":3}",
    ];
    let keys = [
        "uuid",
        "verdict",
        "source",
        "time",
        "ID",
        "labels",
        "TCP",
        "flow",
        "lost_events",
        "agent_event",
        "is_reply",
        "Summary",
        "sub_type",
        "rules",
        "dropReason",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed as usize
    };
    let mut reader = LineReader::new();
    for _ in 0..20_000 {
        let mut value = lines[next() % lines.len()].clone();
        let pointer = random_pointer(&value, &mut next);
        let replacement: Value =
            serde_json::from_str(replacements[next() % replacements.len()]).unwrap();
        let Some(node) = value.pointer_mut(&pointer) else {
            continue;
        };
        match (node.as_object_mut(), next() % 3) {
            (Some(object), 0) => {
                object.insert(keys[next() % keys.len()].to_string(), replacement);
            }
            (Some(object), 1) => {
                let key = object.keys().nth(next() % object.len().max(1)).cloned();
                key.map(|k| object.remove(&k));
            }
            _ => *node = replacement,
        }
        assert_same(&mut reader, &value.to_string());
    }
}

/// A JSON pointer to a node of `value`, going down at random.
fn random_pointer(value: &Value, next: &mut impl FnMut() -> usize) -> String {
    let mut pointer = String::new();
    let mut node = value;
    while !next().is_multiple_of(3) {
        match node {
            Value::Object(map) if !map.is_empty() => {
                let (key, child) = map.iter().nth(next() % map.len()).unwrap();
                pointer.push('/');
                pointer.push_str(key);
                node = child;
            }
            Value::Array(items) if !items.is_empty() => {
                let index = next() % items.len();
                pointer.push_str(&format!("/{index}"));
                node = &items[index];
            }
            _ => break,
        }
    }
    pointer
}
