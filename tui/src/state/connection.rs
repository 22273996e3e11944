//! The state of the flow stream, as the header shows it: connecting, connected, or
//! reconnecting with the reason and how many attempts failed in a row.

/// Connection state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Connection {
    /// The first attempt is under way.
    #[default]
    Connecting,
    /// The stream is open.
    Connected,
    /// The stream broke or could not open; the stream task retries with backoff.
    Reconnecting {
        /// Why the last attempt failed (sanitized).
        reason: String,
        /// Failed attempts in a row.
        attempts: u32,
    },
}

impl Connection {
    /// A failed attempt with `reason`.
    pub fn failed(&mut self, reason: String) {
        let attempts = match self {
            Self::Reconnecting { attempts, .. } => attempts.saturating_add(1),
            _ => 1,
        };
        *self = Self::Reconnecting { reason, attempts };
    }

    /// Whether the stream is open.
    pub fn is_connected(&self) -> bool {
        *self == Self::Connected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_attempts_in_a_row_are_counted_until_connected() {
        let mut c = Connection::default();
        c.failed("refused".into());
        c.failed("refused".into());
        assert_eq!(
            c,
            Connection::Reconnecting {
                reason: "refused".into(),
                attempts: 2
            }
        );
        c = Connection::Connected;
        c.failed("reset".into());
        assert_eq!(
            c,
            Connection::Reconnecting {
                reason: "reset".into(),
                attempts: 1
            }
        );
    }
}
