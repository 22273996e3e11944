//! Exporter tests: Hubble's line format (read back the way `observe flows --input-file`
//! reads it), allow/deny filters, the field mask, rotation, and the filter-list syntax.

use std::path::Path;

use observe_proto::Timestamp;
use observe_proto::flow::{Endpoint, Flow, LostEvent, LostEventSource, Verdict};
use observe_proto::observer::GetFlowsResponse;
use observe_proto::observer::get_flows_response::ResponseTypes;

use super::*;
use crate::event::DecodedEvent;

/// A fresh directory, removed on drop.
fn dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("observer-export-")
        .tempdir()
        .unwrap()
}

fn flow(n: i64, verdict: Verdict, pod: &str) -> DecodedEvent {
    DecodedEvent::flow(Flow {
        uuid: format!("flow-{n}"),
        time: Some(Timestamp {
            seconds: 1_700_000_000 + n,
            nanos: 5,
        }),
        verdict: verdict.into(),
        node_name: "node-1".into(),
        source: Some(Endpoint {
            namespace: "default".into(),
            pod_name: pod.into(),
            ..Endpoint::default()
        }),
        ..Flow::default()
    })
}

/// Every line of `path`, parsed as `observe flows --input-file` parses them.
fn replayed(path: &Path) -> Vec<GetFlowsResponse> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn uuids(responses: &[GetFlowsResponse]) -> Vec<String> {
    responses
        .iter()
        .map(|r| match &r.response_types {
            Some(ResponseTypes::Flow(f)) => f.uuid.clone(),
            Some(ResponseTypes::LostEvents(l)) => format!("lost:{}", l.num_events_lost),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn lines_are_export_events_that_replay_as_flow_responses() {
    let d = dir();
    let path = d.path().join("flows.json");
    let mut exporter = Exporter::new(&ExportConfig {
        path: path.clone(),
        max_bytes: 1 << 20,
        max_backups: 1,
        node_name: "node-1".into(),
        ..ExportConfig::default()
    })
    .unwrap();
    exporter.export(&EventView::new(&flow(1, Verdict::Dropped, "a")));
    exporter.export(&EventView::new(&DecodedEvent::Lost(LostEvent {
        source: LostEventSource::ObserverEventsQueue.into(),
        num_events_lost: 12,
        last: Some(Timestamp {
            seconds: 1_700_000_002,
            nanos: 0,
        }),
        ..LostEvent::default()
    })));
    exporter.flush();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["node_name"], "node-1");
    assert_eq!(lines[0]["time"], "2023-11-14T22:13:21.000000005Z");
    assert_eq!(lines[0]["flow"]["verdict"], "DROPPED");
    assert_eq!(lines[0]["flow"]["source"]["pod_name"], "a");
    assert_eq!(lines[1]["lost_events"]["source"], "OBSERVER_EVENTS_QUEUE");
    assert_eq!(lines[1]["lost_events"]["num_events_lost"], "12");
    assert_eq!(uuids(&replayed(&path)), ["flow-1", "lost:12"]);
}

#[test]
fn filters_and_the_field_mask_shape_what_is_written() {
    let d = dir();
    let path = d.path().join("drops.json");
    let mut exporter = Exporter::new(&ExportConfig {
        path: path.clone(),
        max_bytes: 1 << 20,
        max_backups: 1,
        allowlist: parse_filters(r#"{"verdict":["DROPPED"]}"#).unwrap(),
        denylist: parse_filters(r#"{"source_pod":["default/noisy"]}"#).unwrap(),
        field_mask: vec!["verdict".into(), "source.pod_name".into()],
        node_name: "node-1".into(),
    })
    .unwrap();
    for (n, verdict, pod) in [
        (1, Verdict::Dropped, "a"),
        (2, Verdict::Forwarded, "a"),
        (3, Verdict::Dropped, "noisy"),
        (4, Verdict::Dropped, "b"),
    ] {
        exporter.export(&EventView::new(&flow(n, verdict, pod)));
    }
    exporter.flush();
    let lines = replayed(&path);
    let pods: Vec<_> = lines
        .iter()
        .map(|r| match &r.response_types {
            Some(ResponseTypes::Flow(f)) => {
                assert!(f.uuid.is_empty() && f.time.is_none(), "masked: {f:?}");
                f.source.as_ref().unwrap().pod_name.clone()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(pods, ["a", "b"]);
    assert_eq!(
        lines[1].time.unwrap().seconds,
        1_700_000_004,
        "the line keeps the event's time when the mask drops the flow's"
    );
    assert_eq!(lines[1].node_name, "node-1");
}

#[test]
fn files_rotate_by_size_and_keep_the_configured_backups() {
    let d = dir();
    let path = d.path().join("flows.json");
    let mut exporter = Exporter::new(&ExportConfig {
        path: path.clone(),
        max_bytes: 1000,
        max_backups: 2,
        ..ExportConfig::default()
    })
    .unwrap();
    for n in 0..60 {
        exporter.export(&EventView::new(&flow(n, Verdict::Forwarded, "a")));
    }
    exporter.flush();
    let current = replayed(&path);
    let first = replayed(&backup_path(&path, 1));
    let second = replayed(&backup_path(&path, 2));
    assert!(!backup_path(&path, 3).exists(), "two backups only");
    for file in [&path, &backup_path(&path, 1), &backup_path(&path, 2)] {
        assert!(
            std::fs::metadata(file).unwrap().len() <= 1000,
            "{}",
            file.display()
        );
    }
    // Newest in the file, then .1, then .2; together the latest flows, in order.
    let mut all = uuids(&second);
    all.extend(uuids(&first));
    all.extend(uuids(&current));
    let expected: Vec<String> = (60 - all.len() as i64..60)
        .map(|n| format!("flow-{n}"))
        .collect();
    assert_eq!(all, expected);
    assert!(all.len() < 60, "the oldest were rotated away");
}

#[test]
fn filter_lists_take_hubbles_forms() {
    let one = parse_filters(r#"{"verdict":["DROPPED"]}"#).unwrap();
    let two = parse_filters(r#"{"verdict":["DROPPED"]}{"source_pod":["x/"]}"#).unwrap();
    let commas = parse_filters(r#"{"verdict":["DROPPED"]}, {"source_pod":["x/"]}"#).unwrap();
    let array = parse_filters(r#"[{"verdict":["DROPPED"]},{"source_pod":["x/"]}]"#).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(two, commas);
    assert_eq!(two, array);
    assert_eq!(two[1].source_pod, ["x/"]);
    assert!(parse_filters("").unwrap().is_empty());
    let err = parse_filters(r#"{"verdict":"#).unwrap_err();
    assert!(
        err.to_string().contains("invalid export filter list"),
        "{err}"
    );
    let bad_field = Exporter::new(&ExportConfig {
        path: dir().path().join("x.json"),
        field_mask: vec!["nope".into()],
        ..ExportConfig::default()
    });
    assert!(matches!(bad_field, Err(ExportError::FieldMask(_))));
}
