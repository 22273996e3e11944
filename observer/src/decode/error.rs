//! Why an event could not be decoded. The decoder only returns these; the pipeline loop
//! alone decides which are counted silently and which are logged
//! ([`ParseError::is_benign`]).

/// A decode failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A ring-buffer record shorter than a whole event.
    #[error("truncated event: need {need} bytes, got {got}")]
    Truncated {
        /// Bytes of a whole event.
        need: usize,
        /// Bytes received.
        got: usize,
    },
    /// An event kind this decoder does not know (a newer datapath, or kinds we do not
    /// turn into flows).
    #[error("unknown event kind {0}")]
    UnknownEventKind(u8),
    /// The event is a loss report, not a flow; the pipeline handles those itself.
    #[error("not a flow event")]
    NotAFlow,
}

impl ParseError {
    /// Whether the error is expected in normal operation and only worth a counter: event
    /// kinds we do not decode, and loss reports. A truncated record means the datapath and
    /// userspace disagree on the layout, which is worth a log line.
    pub fn is_benign(&self) -> bool {
        match self {
            Self::UnknownEventKind(_) | Self::NotAFlow => true,
            Self::Truncated { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_layout_errors_are_worth_logging() {
        assert!(ParseError::UnknownEventKind(9).is_benign());
        assert!(ParseError::NotAFlow.is_benign());
        assert!(!ParseError::Truncated { need: 80, got: 3 }.is_benign());
    }
}
