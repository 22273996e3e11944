//! The jsonpb format (`-o json` is the same, as in current Hubble): one `GetFlowsResponse`
//! per line in proto3 JSON with proto field names, the shape `hubble observe -o jsonpb`
//! prints and `--input-file` (ours and Hubble's) reads back. JSON escaping keeps control
//! characters out of the terminal.

use observe_proto::observer::GetFlowsResponse;

/// One response as a JSON line, without newline.
pub fn line(response: &GetFlowsResponse) -> std::io::Result<String> {
    serde_json::to_string(response).map_err(std::io::Error::other)
}
