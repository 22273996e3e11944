//! Protobuf fields written by hand into a `Vec<u8>`, as prost writes them: what the agent
//! uses where it encodes a message without building it (a flow's response around its
//! fields, [`crate::raw`]; a stored event's flow fields, in observer). One home for the
//! varint and length rules and for the `Flow` field numbers such writers use.
//!
//! Scalars at their default are left out and present messages always written, as prost
//! does, so that what is written decodes to the message prost would have written.

use prost::encoding::{WireType, encoded_len_varint, key_len};

/// `Flow` field numbers.
pub mod flow_field {
    #![allow(missing_docs, reason = "each is the field of its name")]
    pub const TIME: u32 = 1;
    pub const VERDICT: u32 = 2;
    pub const DROP_REASON: u32 = 3;
    pub const IP: u32 = 5;
    pub const L4: u32 = 6;
    pub const SOURCE: u32 = 8;
    pub const DESTINATION: u32 = 9;
    pub const TYPE: u32 = 10;
    pub const NODE_NAME: u32 = 11;
    pub const REPLY: u32 = 16;
    pub const EVENT_TYPE: u32 = 19;
    pub const TRAFFIC_DIRECTION: u32 = 22;
    pub const POLICY_MATCH_TYPE: u32 = 23;
    pub const TRACE_OBSERVATION_POINT: u32 = 24;
    pub const DROP_REASON_DESC: u32 = 25;
    pub const IS_REPLY: u32 = 26;
    pub const INTERFACE: u32 = 28;
    pub const UUID: u32 = 34;
    pub const TRACE_REASON: u32 = 36;
    pub const SUMMARY: u32 = 100_000;
}

/// A varint field, left out when zero. Enums and signed numbers are written as prost
/// writes `int32`/`int64` (sign-extended).
pub fn number(tag: u32, value: impl Into<i64>, out: &mut Vec<u8>) {
    let value = value.into() as u64;
    if value != 0 {
        key(tag, WireType::Varint, out);
        varint(value, out);
    }
}

/// A string field, left out when empty.
pub fn text(tag: u32, value: &str, out: &mut Vec<u8>) {
    if !value.is_empty() {
        bytes(tag, value.as_bytes(), out);
    }
}

/// A length-delimited field (an embedded message's bytes), always written.
pub fn bytes(tag: u32, value: &[u8], out: &mut Vec<u8>) {
    open(tag, value.len(), out);
    out.extend_from_slice(value);
}

/// An embedded message of two varint fields (`Timestamp`, `CiliumEventType`), always
/// written (a present message is present even when empty).
pub fn pair(tag: u32, first: i64, second: i64, out: &mut Vec<u8>) {
    open(tag, number_len(1, first) + number_len(2, second), out);
    number(1, first, out);
    number(2, second, out);
}

/// The key and length of a length-delimited field whose `len` bytes follow.
pub fn open(tag: u32, len: usize, out: &mut Vec<u8>) {
    key(tag, WireType::LengthDelimited, out);
    varint(len as u64, out);
}

/// A field's key: its number and wire type.
fn key(tag: u32, wire: WireType, out: &mut Vec<u8>) {
    varint(u64::from(tag) << 3 | wire as u64, out);
}

/// A varint, written byte by byte into the vector (prost's writer, through `BufMut`, cost
/// more than the rest of a flow's fields).
fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The bytes [`number`] writes.
pub fn number_len(tag: u32, value: i64) -> usize {
    match value as u64 {
        0 => 0,
        value => key_len(tag) + encoded_len_varint(value),
    }
}

/// The bytes [`text`] writes.
pub fn text_len(tag: u32, value: &str) -> usize {
    if value.is_empty() {
        0
    } else {
        field_len(tag, value.len())
    }
}

/// The bytes [`pair`] writes.
pub fn pair_len(tag: u32, first: i64, second: i64) -> usize {
    field_len(tag, number_len(1, first) + number_len(2, second))
}

/// The bytes of a length-delimited field of `len` bytes ([`bytes`], [`open`] and what
/// follows it).
pub fn field_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use crate::flow::{CiliumEventType, Flow, NetworkInterface};
    use prost::Message;

    /// What the writers write decodes to what prost writes, and their lengths are what
    /// they write: zeros and empty strings left out, negatives sign-extended, long
    /// lengths and large field numbers.
    #[test]
    #[allow(deprecated, reason = "Summary is one of the fields written")]
    fn written_fields_decode_as_prost_writes_them() {
        let name = "x".repeat(300);
        let mut out = Vec::new();
        let mut expected_len = 0;
        for (seconds, nanos) in [(0, 0), (1_700_000_000, -5)] {
            pair(flow_field::TIME, seconds, nanos, &mut out);
            expected_len += pair_len(flow_field::TIME, seconds, nanos);
        }
        number(flow_field::VERDICT, 0, &mut out);
        number(flow_field::VERDICT, -3, &mut out);
        expected_len += number_len(flow_field::VERDICT, -3);
        text(flow_field::NODE_NAME, "", &mut out);
        text(flow_field::SUMMARY, &name, &mut out);
        expected_len += text_len(flow_field::SUMMARY, &name);
        let interface = NetworkInterface {
            index: 7,
            name: "lxc1".into(),
        };
        bytes(flow_field::INTERFACE, &interface.encode_to_vec(), &mut out);
        expected_len += field_len(flow_field::INTERFACE, interface.encoded_len());
        pair(flow_field::EVENT_TYPE, 4, 0, &mut out);
        expected_len += pair_len(flow_field::EVENT_TYPE, 4, 0);
        assert_eq!(out.len(), expected_len);
        let expected = Flow {
            time: Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: -5,
            }),
            verdict: -3,
            summary: name,
            interface: Some(interface),
            event_type: Some(CiliumEventType {
                r#type: 4,
                sub_type: 0,
            }),
            ..Default::default()
        };
        let decoded = Flow::decode(&out[..]).expect("decodes");
        assert_eq!(decoded, expected);
    }
}
