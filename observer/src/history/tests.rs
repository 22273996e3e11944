//! Store tests: appends and reads by sequence, time and count; the size cap; a restart
//! that finds a torn tail.

use std::ops::ControlFlow;
use std::path::PathBuf;

use observe_proto::Timestamp;
use observe_proto::flow::{Flow, Verdict};

use super::reader::Item;
use super::*;
use crate::event::{DecodedEvent, EventView};

/// A fresh directory for the store (not yet created), removed on drop.
struct Dir(
    PathBuf,
    #[expect(dead_code, reason = "held for its drop, which removes the directory")]
    tempfile::TempDir,
);

impl Dir {
    fn new() -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("observer-history-")
            .tempdir()
            .unwrap();
        Self(tmp.path().join("store"), tmp)
    }
}

fn flow(secs: i64) -> DecodedEvent {
    DecodedEvent::flow(Flow {
        uuid: format!("flow-{secs}"),
        time: Some(Timestamp {
            seconds: secs,
            nanos: 0,
        }),
        verdict: if secs % 2 == 0 {
            Verdict::Dropped
        } else {
            Verdict::Forwarded
        }
        .into(),
        ..Flow::default()
    })
}

fn config(dir: &Dir, max_bytes: u64, segment_bytes: u64) -> HistoryConfig {
    HistoryConfig {
        dir: dir.0.clone(),
        max_bytes,
        segment_bytes,
    }
}

/// Appends flows at ring positions `positions`, with time = position + 1, committing
/// after every `batch`.
fn append(writer: &mut HistoryWriter, positions: std::ops::Range<u64>, batch: u64) {
    for p in positions {
        writer.append(p, &EventView::new(&flow(p as i64 + 1)));
        if (p + 1) % batch == 0 {
            writer.commit();
        }
    }
    writer.commit();
}

/// What `read` yields, as `seq` or `gap:n`.
fn read(history: &History, from: u64, to: u64) -> Vec<String> {
    let mut out = Vec::new();
    history.read(from, to, |item| {
        out.push(match item {
            Item::Event(seq, _) => seq.to_string(),
            Item::Gap(n) => format!("gap:{n}"),
        });
        ControlFlow::Continue(())
    });
    out
}

#[test]
fn events_come_back_in_order_with_their_sequence_numbers() {
    let dir = Dir::new();
    let (history, mut writer) = History::open(config(&dir, 1 << 20, 1 << 20)).unwrap();
    assert_eq!(history.base(), 0);
    append(&mut writer, 0..10, 4);
    assert_eq!(history.events(), 10);
    assert_eq!(read(&history, 3, 6), ["3", "4", "5"]);
    assert_eq!(read(&history, 8, 12), ["8", "9", "gap:2"], "past the end");
    let mut uuids = Vec::new();
    history.read(0, 2, |item| {
        if let Item::Event(_, e) = item {
            uuids.push(e.to_flow().unwrap().uuid.clone());
        }
        ControlFlow::Continue(())
    });
    assert_eq!(uuids, ["flow-1", "flow-2"]);
    assert_eq!(
        history.oldest().map(|(seq, t)| (seq, t.map(|t| t.seconds))),
        Some((0, Some(1)))
    );
}

#[test]
fn nothing_is_visible_before_it_is_committed() {
    let dir = Dir::new();
    let (history, mut writer) = History::open(config(&dir, 1 << 20, 1 << 20)).unwrap();
    writer.append(0, &EventView::new(&flow(1)));
    assert_eq!(read(&history, 0, 1), ["gap:1"]);
    writer.commit();
    assert_eq!(read(&history, 0, 1), ["0"]);
}

#[test]
fn the_cap_holds_by_deleting_the_oldest_segments() {
    let dir = Dir::new();
    let (history, mut writer) = History::open(config(&dir, 4096, 1024)).unwrap();
    append(&mut writer, 0..2000, 16);
    let on_disk: u64 = segment::list(&dir.0)
        .unwrap()
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(on_disk <= 4096, "{on_disk} bytes on disk");
    assert_eq!(history.bytes(), on_disk, "the index agrees with the files");
    let discarded = history.discarded();
    assert_eq!(discarded.events + history.events(), 2000);
    assert_eq!(
        discarded.first_time, 1_000_000_000,
        "the first event's time"
    );
    let (oldest, _) = history.oldest().unwrap();
    assert_eq!(
        discarded.events, oldest,
        "everything before the oldest is gone"
    );
    assert_eq!(read(&history, oldest, oldest + 2).len(), 2);
    assert_eq!(read(&history, 0, 2), ["gap:2"], "deleted events are a gap");
}

#[test]
fn a_restart_continues_the_sequence_and_cuts_a_torn_tail() {
    let dir = Dir::new();
    {
        let (_, mut writer) = History::open(config(&dir, 1 << 20, 1 << 20)).unwrap();
        append(&mut writer, 0..5, 5);
    }
    // A crash in the middle of a record: half a header at the end.
    let last = segment::list(&dir.0).unwrap().pop().unwrap();
    let mut bytes = std::fs::read(&last).unwrap();
    let intact = bytes.len();
    bytes.extend_from_slice(&[7, 0, 0, 0, 9]);
    std::fs::write(&last, bytes).unwrap();
    let (history, mut writer) = History::open(config(&dir, 1 << 20, 1 << 20)).unwrap();
    assert_eq!(std::fs::metadata(&last).unwrap().len() as usize, intact);
    assert_eq!(history.base(), 5, "ring position 0 is sequence 5 now");
    append(&mut writer, 0..3, 3);
    assert_eq!(
        read(&history, 0, 8),
        ["0", "1", "2", "3", "4", "5", "6", "7"]
    );
}

#[test]
fn time_and_count_lookups_find_where_to_start() {
    let dir = Dir::new();
    let (history, mut writer) = History::open(config(&dir, 1 << 20, 256)).unwrap();
    append(&mut writer, 0..100, 10);
    let ns = |secs: i128| secs * 1_000_000_000;
    assert_eq!(history.seq_at_time(ns(50), 100), Some(49), "time = seq + 1");
    assert_eq!(
        history.seq_at_time(ns(50), 40),
        None,
        "nothing that new below 40"
    );
    assert_eq!(history.seq_at_time(ns(0), 100), Some(0));
    let dropped = |e: &DecodedEvent| e.to_flow().is_some_and(|f| f.verdict() == Verdict::Dropped);
    // Dropped flows have even times, so odd sequence numbers: ..., 93, 95, 97, 99.
    assert_eq!(history.scan_back(100, 3, dropped), (95, 3));
    assert_eq!(
        history.scan_back(10, 20, dropped),
        (0, 5),
        "history runs out"
    );
    assert_eq!(history.scan_back(100, 0, dropped), (100, 0));
}

#[test]
fn a_cap_below_one_segment_is_refused() {
    let dir = Dir::new();
    let err = History::open(config(&dir, 100, 1000)).unwrap_err();
    assert!(
        err.to_string().contains("smaller than one segment"),
        "{err}"
    );
}
