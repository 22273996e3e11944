//! What became of a DNS-learned address, in words: the tail a default-deny drop to such an
//! address carries (`observe flows`, the dashboard's detail). Times are UTC clock times,
//! as the dashboard prints them.
//!
//! ```text
//! 203.0.113.11 was last seen for short.partner.com. at 12:00:01.000, TTL expired at 12:00:03.000
//! 203.0.113.11 was last seen for short.partner.com. at 12:00:01.000, evicted at 12:00:02.000 (over --tofqdns-endpoint-max-ip-per-hostname)
//! 203.0.113.10 answers for api.partner.com., but this endpoint never resolved it
//! ```

use observe_proto::flow::{FqdnGone, FqdnHistory};

use crate::clock::clock;

/// The history of `ip` as a sentence; `None` when it says nothing (an unknown reason).
pub fn history_text(ip: &str, history: &FqdnHistory) -> Option<String> {
    let name = &history.name;
    let seen = clock(history.last_seen.as_ref());
    let gone = clock(history.gone.as_ref());
    Some(match history.why() {
        FqdnGone::FqdnExpired => {
            format!("{ip} was last seen for {name} at {seen}, TTL expired at {gone}")
        }
        FqdnGone::FqdnEvicted => format!(
            "{ip} was last seen for {name} at {seen}, evicted at {gone} \
             (over --tofqdns-endpoint-max-ip-per-hostname)"
        ),
        FqdnGone::FqdnNotResolvedByEndpoint => {
            format!("{ip} answers for {name}, but this endpoint never resolved it")
        }
        FqdnGone::Unknown => return None,
    })
}

#[cfg(test)]
mod tests {
    use observe_proto::Timestamp;

    use super::*;

    fn at(seconds: i64) -> Option<Timestamp> {
        Some(Timestamp { seconds, nanos: 0 })
    }

    #[test]
    fn each_way_an_address_leaves_is_said_with_its_times() {
        let expired = FqdnHistory {
            name: "short.partner.com.".into(),
            last_seen: at(43_201),
            gone: at(43_203),
            why: FqdnGone::FqdnExpired as i32,
        };
        assert_eq!(
            history_text("203.0.113.11", &expired).unwrap(),
            "203.0.113.11 was last seen for short.partner.com. at 12:00:01.000, TTL expired at 12:00:03.000"
        );
        let evicted = FqdnHistory {
            why: FqdnGone::FqdnEvicted as i32,
            ..expired.clone()
        };
        assert!(
            history_text("203.0.113.11", &evicted)
                .unwrap()
                .contains("evicted at 12:00:03.000")
        );
        let never = FqdnHistory {
            name: "api.partner.com.".into(),
            why: FqdnGone::FqdnNotResolvedByEndpoint as i32,
            ..FqdnHistory::default()
        };
        assert_eq!(
            history_text("203.0.113.10", &never).unwrap(),
            "203.0.113.10 answers for api.partner.com., but this endpoint never resolved it"
        );
        assert_eq!(history_text("x", &FqdnHistory::default()), None);
    }
}
