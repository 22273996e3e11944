//! One stored event on disk: a fixed header, then the event as a protobuf
//! `observer.ExportEvent` (a flow or a loss report, with node name and time).
//!
//! ```text
//! offset 0   u32 LE  payload length
//!        4   u64 LE  sequence number (ring position + the store's base)
//!       12   i64 LE  event time, nanoseconds since the Unix epoch (0: unknown)
//!       20   payload
//! ```
//!
//! The time sits in the header so that a reader can find where a time window starts
//! without decoding payloads. A record is only ever appended whole; a crash can leave a
//! torn last record, which the segment scan at startup cuts off.

use std::borrow::Cow;
use std::io::{self, Read};
use std::sync::Arc;

use observe_proto::observer::ExportEvent;
use observe_proto::observer::export_event::ResponseTypes;
use prost::Message;

use crate::event::{DecodedEvent, EventView};

/// Bytes before the payload.
pub(crate) const HEADER: usize = 20;
/// Payloads larger than this are not flows: a header claiming one marks corruption.
pub(crate) const MAX_PAYLOAD: u32 = 1 << 20;

/// A record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// Payload bytes.
    pub len: u32,
    /// Sequence number.
    pub seq: u64,
    /// Event time in Unix nanoseconds, 0 when unknown.
    pub time: i64,
}

impl Header {
    /// The header of the record that starts `bytes`, if the bytes hold a plausible one.
    pub(crate) fn parse(bytes: &[u8; HEADER]) -> Option<Self> {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        let (seq, rest) = rest.split_first_chunk::<8>()?;
        let time = rest.first_chunk::<8>()?;
        let len = u32::from_le_bytes(*len);
        (len <= MAX_PAYLOAD).then(|| Self {
            len,
            seq: u64::from_le_bytes(*seq),
            time: i64::from_le_bytes(*time),
        })
    }

    /// The whole record's size on disk.
    pub(crate) fn record_len(&self) -> u64 {
        HEADER as u64 + u64::from(self.len)
    }
}

/// Appends the record of `event` with sequence number `seq` to `out`; returns its header.
///
/// The payload is `to_export(event)` as protobuf, written without copying the flow: its
/// body (field [`FLOW_FIELD`], the lowest tag, which prost writes first) by reference, then
/// the rest of the event.
pub(crate) fn encode(seq: u64, view: &EventView<'_>, node_name: &str, out: &mut Vec<u8>) -> Header {
    let (event, flow) = (view.event(), view.flow());
    let rest = match flow {
        Some(_) => export_header(event, node_name),
        None => to_export(event, node_name),
    };
    let flow_len = flow.map_or(0, |f| prost::encoding::message::encoded_len(FLOW_FIELD, f));
    let len = u32::try_from(flow_len + rest.encoded_len()).unwrap_or(u32::MAX);
    let time = event.time().map_or(0, |t| clamp_nanos(t.unix_nanos()));
    let header = Header { len, seq, time };
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&time.to_le_bytes());
    if let Some(flow) = flow {
        prost::encoding::message::encode(FLOW_FIELD, flow, out);
    }
    // Encoding into a Vec cannot run out of space.
    let _ = rest.encode(out);
    header
}

/// `ExportEvent.flow`'s field number.
const FLOW_FIELD: u32 = 1;

/// Decodes a payload back into the event it was made from; `None` if it is not one.
pub(crate) fn decode(payload: &[u8]) -> Option<Arc<DecodedEvent>> {
    let export = ExportEvent::decode(payload).ok()?;
    let event = match export.response_types? {
        ResponseTypes::Flow(flow) => DecodedEvent::flow(flow),
        ResponseTypes::LostEvents(lost) => DecodedEvent::Lost(lost),
        _ => return None,
    };
    Some(Arc::new(event))
}

/// Reads the next header from `r`; `Ok(None)` at a clean end, or where the rest of the
/// stream cannot be a record (torn write, corruption).
pub(crate) fn read_header(r: &mut impl Read) -> io::Result<Option<Header>> {
    let mut bytes = [0u8; HEADER];
    match r.read_exact(&mut bytes) {
        Ok(()) => Ok(Header::parse(&bytes)),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// The `ExportEvent` form of `event`: what the exporter writes as JSON, and what history
/// stores as protobuf.
pub fn to_export(event: &DecodedEvent, node_name: &str) -> ExportEvent {
    let body = match (event, event.to_flow()) {
        (DecodedEvent::Lost(lost), _) => ResponseTypes::LostEvents(*lost),
        (_, flow) => ResponseTypes::Flow(flow.map(Cow::into_owned).unwrap_or_default()),
    };
    ExportEvent {
        response_types: Some(body),
        ..export_header(event, node_name)
    }
}

/// [`to_export`] without the body: the event's node (the flow's own, else `node_name`) and
/// time, for writers that supply the body themselves.
pub fn export_header(event: &DecodedEvent, node_name: &str) -> ExportEvent {
    let node = event.node_name().unwrap_or(node_name).to_string();
    ExportEvent {
        node_name: node,
        time: event.time(),
        response_types: None,
    }
}

fn clamp_nanos(nanos: i128) -> i64 {
    i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use observe_proto::Timestamp;
    use observe_proto::flow::{Flow, LostEvent};

    use super::*;

    #[test]
    fn records_round_trip_with_their_header() {
        let flow = DecodedEvent::flow(Flow {
            uuid: "u-1".into(),
            time: Some(Timestamp {
                seconds: 3,
                nanos: 7,
            }),
            ..Flow::default()
        });
        let mut out = Vec::new();
        let header = encode(42, &EventView::new(&flow), "node-1", &mut out);
        assert_eq!(out.len() as u64, header.record_len());
        let parsed = read_header(&mut out.as_slice()).unwrap().unwrap();
        assert_eq!(parsed, header);
        assert_eq!((parsed.seq, parsed.time), (42, 3_000_000_007));
        let back = decode(&out[HEADER..]).unwrap();
        assert_eq!(*back, flow);
        assert_eq!(
            &out[HEADER..],
            to_export(&flow, "node-1").encode_to_vec(),
            "the flow written by reference gives the ExportEvent's own bytes"
        );
    }

    #[test]
    fn loss_reports_are_stored_too() {
        let lost = DecodedEvent::Lost(LostEvent {
            num_events_lost: 9,
            ..LostEvent::default()
        });
        let mut out = Vec::new();
        let header = encode(1, &EventView::new(&lost), "node-1", &mut out);
        assert_eq!(header.time, 0, "no time known");
        assert_eq!(*decode(&out[HEADER..]).unwrap(), lost);
    }

    #[test]
    fn torn_and_implausible_headers_end_the_stream() {
        assert_eq!(read_header(&mut &[1u8, 2, 3][..]).unwrap(), None);
        let mut huge = [0u8; HEADER];
        huge[..4].copy_from_slice(&(MAX_PAYLOAD + 1).to_le_bytes());
        assert_eq!(read_header(&mut &huge[..]).unwrap(), None);
        assert!(decode(&[0xff, 0xff, 0xff]).is_none());
    }
}
