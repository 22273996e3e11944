//! `GetFlowsResponse`s carried encoded: the bytes a server sent, and the few top-level
//! fields a reader that passes them on needs (the response's kind and `time`), read
//! without decoding the flow. The agent encodes each response once, where its stream
//! builds it; the relay passes a node's flows on as the node encoded them, field mask and
//! all, so its cost per flow does not grow with the flow's size.
//!
//! The codecs: [`PeerCodec`] sends a `GetFlowsRequest` to a server and takes its
//! responses raw ([`get_flows`] makes that call); [`ClientCodec`] takes a client's request
//! and sends it raw responses ([`encode_response`] makes them, and
//! [`encode_flow_response`] a flow's, from the borrowed flow; [`encode_flow_body_response`]
//! from a flow's fields the stream wrote itself, with its endpoints encoded once).

use crate::Timestamp;
use crate::flow::Flow;
use crate::observer::{GetFlowsRequest, GetFlowsResponse};
use crate::writer::{self, flow_field::DESTINATION, flow_field::SOURCE};
use bytes::{Buf, BufMut, Bytes};
use prost::Message;
use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder, EncodeBuf, Encoder, Streaming};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::codegen::{Body, StdError};
use tonic::{Request, Status};

/// The method's path.
pub(crate) const GET_FLOWS: &str = "/observer.Observer/GetFlows";

/// `GetFlowsResponse` field numbers the relay reads, and the agent writes.
const FLOW: u32 = 1;
const NODE_STATUS: u32 = 2;
const LOST_EVENTS: u32 = 3;
const NODE_NAME: u32 = 1000;
const TIME: u32 = 1001;

/// What a response carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A flow.
    Flow,
    /// A relay's node status event (a node that is itself a relay).
    NodeStatus,
    /// A loss report.
    LostEvents,
    /// Nothing the relay knows (a newer server's response type): passed on.
    Other,
}

/// One response, encoded.
#[derive(Clone, Debug)]
pub struct RawResponse {
    /// The encoded `GetFlowsResponse`.
    pub bytes: Bytes,
    /// What it carries.
    pub kind: Kind,
    /// Its `time` in nanoseconds since the Unix epoch, when it has one.
    pub time: Option<i64>,
}

/// Why a node's response cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("malformed GetFlowsResponse: {0}")]
pub struct Malformed(String);

impl RawResponse {
    /// Reads the kind and time of `bytes`, an encoded `GetFlowsResponse`.
    ///
    /// # Errors
    ///
    /// [`Malformed`] when the top level is not valid protobuf.
    pub fn parse(bytes: Bytes) -> Result<Self, Malformed> {
        let mut buf = bytes.clone();
        let mut kind = Kind::Other;
        // Repeated embedded messages merge field by field, as prost reads them.
        let mut time: Option<(i64, i32)> = None;
        while buf.has_remaining() {
            let (tag, wire) = decode_key(&mut buf).map_err(malformed)?;
            match (tag, wire) {
                (FLOW | NODE_STATUS | LOST_EVENTS, WireType::LengthDelimited) => {
                    kind = match tag {
                        FLOW => Kind::Flow,
                        NODE_STATUS => Kind::NodeStatus,
                        _ => Kind::LostEvents,
                    };
                    take_bytes(&mut buf)?;
                }
                (TIME, WireType::LengthDelimited) => {
                    let body = take_bytes(&mut buf)?;
                    time = Some(merge_timestamp(time.unwrap_or_default(), body)?);
                }
                _ => {
                    skip_field(wire, tag, &mut buf, DecodeContext::default()).map_err(malformed)?
                }
            }
        }
        let time = time.map(|(seconds, ns)| nanos(seconds, ns));
        Ok(Self { bytes, kind, time })
    }

    /// Encodes a response the relay makes itself (node status events).
    pub fn encode(response: &GetFlowsResponse) -> Self {
        let bytes = encode_response(response);
        let time = response.time.map(|t| nanos(t.seconds, t.nanos));
        let kind = match response.response_types {
            Some(crate::observer::get_flows_response::ResponseTypes::Flow(_)) => Kind::Flow,
            Some(crate::observer::get_flows_response::ResponseTypes::NodeStatus(_)) => {
                Kind::NodeStatus
            }
            Some(crate::observer::get_flows_response::ResponseTypes::LostEvents(_)) => {
                Kind::LostEvents
            }
            None => Kind::Other,
        };
        Self { bytes, kind, time }
    }
}

/// `response` encoded, in a buffer of its exact size, as a server sends it raw.
pub fn encode_response(response: &GetFlowsResponse) -> Bytes {
    Bytes::from(response.encode_to_vec())
}

/// A flow's two endpoints as encoded `Endpoint` messages, written in place of the flow's
/// own `source` and `destination`: a stream encodes each endpoint once and reuses its
/// bytes, where building and encoding the labels of every flow's endpoints was a third
/// of what streaming it cost.
#[derive(Clone, Copy, Debug)]
pub struct EncodedEndpoints<'a> {
    /// The source's `Endpoint`, encoded.
    pub source: &'a [u8],
    /// The destination's.
    pub destination: &'a [u8],
}

impl EncodedEndpoints<'_> {
    /// Their bytes as the flow's fields.
    fn encoded_len(&self) -> usize {
        writer::field_len(SOURCE, self.source.len())
            + writer::field_len(DESTINATION, self.destination.len())
    }

    fn encode(&self, buf: &mut Vec<u8>) {
        writer::bytes(SOURCE, self.source, buf);
        writer::bytes(DESTINATION, self.destination, buf);
    }
}

/// The `GetFlowsResponse` carrying `flow`, encoded from the borrowed flow (not moved into
/// a response first: a `Flow` is 2 KB), with the response's `node_name` and `time`. It
/// decodes to the response built the usual way.
pub fn encode_flow_response(flow: &Flow, node_name: &str, time: Option<&Timestamp>) -> Bytes {
    let wrapper = Wrapper {
        endpoints: None,
        node_name,
        time,
    };
    wrapper.encode(flow.encoded_len(), |buf| flow.encode_raw(buf))
}

/// The `GetFlowsResponse` carrying a flow already encoded, `body` (a `Flow` message's
/// fields), with `endpoints` as its source and destination when given (the body must then
/// have none), as [`encode_flow_response`] writes it: what a stream sends when it writes
/// a flow's fields itself.
pub fn encode_flow_body_response(
    body: &[u8],
    endpoints: Option<EncodedEndpoints<'_>>,
    node_name: &str,
    time: Option<&Timestamp>,
) -> Bytes {
    let wrapper = Wrapper {
        endpoints,
        node_name,
        time,
    };
    wrapper.encode(body.len(), |buf| buf.put_slice(body))
}

/// What a flow's response carries around the flow's own fields.
struct Wrapper<'a> {
    endpoints: Option<EncodedEndpoints<'a>>,
    node_name: &'a str,
    time: Option<&'a Timestamp>,
}

impl Wrapper<'_> {
    /// The response, in a buffer of its exact size, the flow's own `own_len` bytes of
    /// fields written by `write_flow`.
    fn encode(&self, own_len: usize, write_flow: impl FnOnce(&mut Vec<u8>)) -> Bytes {
        let flow_len = own_len + self.endpoints.map_or(0, |e| e.encoded_len());
        let time = self.time.map(|t| (t.seconds, i64::from(t.nanos)));
        let len = writer::field_len(FLOW, flow_len)
            + writer::text_len(NODE_NAME, self.node_name)
            + time.map_or(0, |(s, n)| writer::pair_len(TIME, s, n));
        let mut buf = Vec::with_capacity(len);
        writer::open(FLOW, flow_len, &mut buf);
        write_flow(&mut buf);
        if let Some(endpoints) = self.endpoints {
            endpoints.encode(&mut buf);
        }
        writer::text(NODE_NAME, self.node_name, &mut buf);
        if let Some((seconds, nanos)) = time {
            writer::pair(TIME, seconds, nanos, &mut buf);
        }
        debug_assert_eq!(buf.len(), buf.capacity(), "the computed length is exact");
        Bytes::from(buf)
    }
}

/// Calls `GetFlows` on `channel` and reads its responses raw ([`PeerCodec`]): how the
/// relay reads a node, and how a test or a benchmark reads a server as the relay does.
///
/// # Errors
///
/// `UNAVAILABLE` when the channel is not ready; the server's status when it refuses.
pub async fn get_flows<T>(
    channel: T,
    request: GetFlowsRequest,
) -> Result<Streaming<RawResponse>, Status>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<StdError>,
    T::ResponseBody: Body<Data = Bytes> + Send + 'static,
    <T::ResponseBody as Body>::Error: Into<StdError> + Send,
{
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.into().to_string()))?;
    let path = PathAndQuery::from_static(GET_FLOWS);
    let response = grpc
        .server_streaming(Request::new(request), path, PeerCodec)
        .await?;
    Ok(response.into_inner())
}

/// Nanoseconds since the epoch, saturating (a year-9999 timestamp sorts last).
pub fn nanos(seconds: i64, nanos: i32) -> i64 {
    seconds
        .saturating_mul(1_000_000_000)
        .saturating_add(i64::from(nanos))
}

/// `body`, a `google.protobuf.Timestamp`, merged into `(seconds, nanos)`.
fn merge_timestamp(
    (mut seconds, mut ns): (i64, i32),
    mut body: Bytes,
) -> Result<(i64, i32), Malformed> {
    while body.has_remaining() {
        let (tag, wire) = decode_key(&mut body).map_err(malformed)?;
        match (tag, wire) {
            (1, WireType::Varint) => seconds = varint(&mut body)? as i64,
            (2, WireType::Varint) => ns = varint(&mut body)? as i32,
            _ => skip_field(wire, tag, &mut body, DecodeContext::default()).map_err(malformed)?,
        }
    }
    Ok((seconds, ns))
}

fn malformed(e: prost::DecodeError) -> Malformed {
    Malformed(e.to_string())
}

fn varint(buf: &mut Bytes) -> Result<u64, Malformed> {
    decode_varint(buf).map_err(malformed)
}

fn take_bytes(buf: &mut Bytes) -> Result<Bytes, Malformed> {
    let len = usize::try_from(varint(buf)?).map_err(|_| Malformed("length too large".into()))?;
    if len > buf.remaining() {
        return Err(Malformed(format!(
            "field of {len} bytes, {} left",
            buf.remaining()
        )));
    }
    Ok(buf.split_to(len))
}

/// The codec of a relay's call to a node: a `GetFlowsRequest` out, raw responses in.
#[derive(Clone, Copy, Debug, Default)]
pub struct PeerCodec;

/// The codec of a client's call to the relay: its `GetFlowsRequest` in, raw responses out.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientCodec;

/// Encodes a prost message.
#[derive(Debug)]
pub struct RequestEncoder;
/// Decodes a prost message.
#[derive(Debug)]
pub struct RequestDecoder;
/// Passes response bytes on as they are.
#[derive(Debug)]
pub struct RawEncoder;
/// Takes response bytes and reads their head.
#[derive(Debug)]
pub struct RawDecoder;

impl Codec for PeerCodec {
    type Encode = GetFlowsRequest;
    type Decode = RawResponse;
    type Encoder = RequestEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RequestEncoder {
        RequestEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Codec for ClientCodec {
    type Encode = Bytes;
    type Decode = GetFlowsRequest;
    type Encoder = RawEncoder;
    type Decoder = RequestDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RequestDecoder {
        RequestDecoder
    }
}

impl Encoder for RequestEncoder {
    type Item = GetFlowsRequest;
    type Error = Status;
    fn encode(&mut self, item: GetFlowsRequest, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|e| Status::internal(format!("encoding the request: {e}")))
    }
}

impl Decoder for RequestDecoder {
    type Item = GetFlowsRequest;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<GetFlowsRequest>, Status> {
        GetFlowsRequest::decode(src)
            .map(Some)
            .map_err(|e| Status::invalid_argument(format!("malformed GetFlowsRequest: {e}")))
    }
}

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }

    /// A buffer that holds a whole batch: tonic hands its buffer on in batches of up to
    /// the yield threshold (32 KiB), and with its default 8 KiB start grew each batch
    /// twice, copying what it held (about 0.75 bytes copied per byte sent).
    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::new(RESPONSE_BUFFER, YIELD_THRESHOLD)
    }
}

/// tonic's encode buffer for streamed responses: two batches of [`YIELD_THRESHOLD`].
const RESPONSE_BUFFER: usize = 2 * YIELD_THRESHOLD;
/// tonic's default: the most it encodes before handing the bytes to HTTP/2.
const YIELD_THRESHOLD: usize = 32 * 1024;

impl Decoder for RawDecoder {
    type Item = RawResponse;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<RawResponse>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        RawResponse::parse(bytes)
            .map(Some)
            .map_err(|e| Status::data_loss(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use crate::Timestamp;
    use crate::flow::{Flow, LostEvent};
    use crate::observer::get_flows_response::ResponseTypes;

    use super::*;

    fn response(body: ResponseTypes, time: Option<Timestamp>) -> GetFlowsResponse {
        GetFlowsResponse {
            response_types: Some(body),
            node_name: "n1".into(),
            time,
        }
    }

    #[test]
    fn reads_kind_and_time_without_decoding_the_flow() {
        let at = Timestamp {
            seconds: 1_700_000_000,
            nanos: 42,
        };
        let flow = Flow {
            uuid: "u".into(),
            time: Some(at),
            ..Default::default()
        };
        let r = response(ResponseTypes::Flow(flow), Some(at));
        let raw = RawResponse::parse(Bytes::from(r.encode_to_vec())).unwrap();
        assert_eq!(raw.kind, Kind::Flow);
        assert_eq!(raw.time, Some(1_700_000_000_000_000_042));
        assert_eq!(GetFlowsResponse::decode(raw.bytes).unwrap(), r);

        let lost = response(ResponseTypes::LostEvents(LostEvent::default()), None);
        let raw = RawResponse::parse(Bytes::from(lost.encode_to_vec())).unwrap();
        assert_eq!((raw.kind, raw.time), (Kind::LostEvents, None));
        let again = RawResponse::encode(&lost);
        assert_eq!((again.kind, again.time), (Kind::LostEvents, None));
    }

    /// A response encoded from a borrowed flow, with its endpoints encoded apart or not,
    /// decodes to the response built the usual way, and reads with its kind and time.
    #[test]
    fn a_flow_response_encoded_in_parts_is_the_whole_response() {
        use crate::flow::Endpoint;
        let at = Timestamp {
            seconds: 1_700_000_000,
            nanos: 7,
        };
        let side = |pod: &str, labels: &[&str]| Endpoint {
            identity: 4242,
            pod_name: pod.into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            ..Default::default()
        };
        let bare = Flow {
            uuid: "u".into(),
            time: Some(at),
            node_name: "k8s1".into(),
            ..Default::default()
        };
        let whole = Flow {
            source: Some(side("web-0", &["k8s:app=web", "k8s:tier=front"])),
            // An endpoint with no fields set is still there: present and empty.
            destination: Some(Endpoint::default()),
            ..bare.clone()
        };
        let expected = response(ResponseTypes::Flow(whole.clone()), Some(at));
        let (src, dst) = (
            whole.source.as_ref().unwrap().encode_to_vec(),
            whole.destination.as_ref().unwrap().encode_to_vec(),
        );
        let endpoints = EncodedEndpoints {
            source: &src,
            destination: &dst,
        };
        let bare_body = bare.encode_to_vec();
        for bytes in [
            encode_flow_response(&whole, "n1", Some(&at)),
            encode_flow_body_response(&bare_body, Some(endpoints), "n1", Some(&at)),
            encode_flow_body_response(&whole.encode_to_vec(), None, "n1", Some(&at)),
        ] {
            assert_eq!(GetFlowsResponse::decode(bytes.clone()).unwrap(), expected);
            let raw = RawResponse::parse(bytes).unwrap();
            assert_eq!(
                (raw.kind, raw.time),
                (Kind::Flow, Some(1_700_000_000_000_000_007))
            );
        }
        // Without a node name or a time, neither is written.
        let expected = GetFlowsResponse {
            response_types: Some(ResponseTypes::Flow(bare.clone())),
            ..Default::default()
        };
        for plain in [
            encode_flow_response(&bare, "", None),
            encode_flow_body_response(&bare_body, None, "", None),
        ] {
            assert_eq!(GetFlowsResponse::decode(plain).unwrap(), expected);
        }
    }

    #[test]
    fn unknown_fields_are_skipped_and_garbage_is_an_error() {
        // Field 7 (varint 5), field 8 (fixed32), then nothing the relay knows.
        let raw = RawResponse::parse(Bytes::from_static(&[0x38, 5, 0x45, 1, 2, 3, 4])).unwrap();
        assert_eq!((raw.kind, raw.time), (Kind::Other, None));
        // Two `time`s merge field by field, as prost merges them: seconds 5, then nanos 7.
        let twice = RawResponse::parse(Bytes::from_static(&[
            0xca, 0x3e, 2, 0x08, 5, 0xca, 0x3e, 2, 0x10, 7,
        ]))
        .unwrap();
        assert_eq!(twice.time, Some(5_000_000_007));
        // Groups are skipped as prost skips them (found by the fuzzer).
        let group = RawResponse::parse(Bytes::from_static(&[0x23, 0x24])).unwrap();
        assert_eq!((group.kind, group.time), (Kind::Other, None));
        for bad in [&[0x0a, 10, 1][..], &[0x45, 1], &[0xff], &[0x0b]] {
            assert!(
                RawResponse::parse(Bytes::copy_from_slice(bad)).is_err(),
                "{bad:?}"
            );
        }
    }
}
