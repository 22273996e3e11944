//! A whole `GetFlowsRequest` checked and compiled once: its filters, its field mask and
//! its time bounds. The agent streams with the result; the relay checks a request here
//! before sending it to every node, so a bad one fails once, with the agent's message.

use observe_proto::observer::GetFlowsRequest;

use crate::{Compiled, FieldMask, FieldMaskError, FilterError, build};

/// What a request asks for, compiled.
pub struct CompiledRequest {
    /// The allow and deny filter lists.
    pub filters: Compiled,
    /// The field mask, if any.
    pub mask: Option<FieldMask>,
}

/// Why a request cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// A filter that does not compile (a server answers `INVALID_ARGUMENT`, or
    /// `UNIMPLEMENTED` for [`FilterError::Unsupported`]).
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// A field mask path that does not exist.
    #[error(transparent)]
    FieldMask(#[from] FieldMaskError),
    /// `since` after `until`.
    #[error("since must not be after until")]
    Backwards,
}

impl RequestError {
    /// Whether a server should answer `UNIMPLEMENTED` (else `INVALID_ARGUMENT`).
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Self::Filter(FilterError::Unsupported { .. }))
    }
}

/// Checks and compiles `req`.
///
/// # Errors
///
/// [`RequestError`].
pub fn compile(req: &GetFlowsRequest) -> Result<CompiledRequest, RequestError> {
    let filters = build(&req.whitelist, &req.blacklist)?;
    let paths = req
        .field_mask
        .as_ref()
        .map_or(&[][..], |m| m.paths.as_slice());
    let mask = FieldMask::new(paths)?;
    if let (Some(s), Some(u)) = (req.since, req.until)
        && s.unix_nanos() > u.unix_nanos()
    {
        return Err(RequestError::Backwards);
    }
    Ok(CompiledRequest { filters, mask })
}
