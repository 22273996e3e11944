//! Verdicts in words: Hubble's verdict names (`FORWARDED`, `DROPPED`), the VERDICT column's
//! word for policy-verdict events (`ALLOWED`, `DENIED`, `AUDITED`), and which flows are
//! drops.

pub use observe_flags::names::is_policy_verdict;
use observe_proto::flow::{Flow, Verdict};

/// The verdict as Hubble prints it (`FORWARDED`, `DROPPED`, ...).
pub fn verdict(flow: &Flow) -> &'static str {
    match flow.verdict() {
        Verdict::Unknown => "UNKNOWN",
        v => v.as_str_name(),
    }
}

/// The VERDICT column: Hubble's word, which for policy-verdict events is `ALLOWED`,
/// `DENIED` or `AUDITED` (`observe_flags::names::verdict_word`), `UNKNOWN` for no verdict.
pub fn verdict_word(flow: &Flow) -> &'static str {
    match flow.verdict() {
        Verdict::Unknown => "UNKNOWN",
        _ => observe_flags::names::verdict_word(flow),
    }
}

/// Whether the flow's verdict is a drop (a drop event or a denying policy verdict).
pub fn is_drop(flow: &Flow) -> bool {
    flow.verdict() == Verdict::Dropped
}

/// Whether the flow is a drop event, the one a dropped packet produces: what drop rates and
/// drop panels count, so a denied packet's policy-verdict event does not count it twice.
pub fn is_drop_event(flow: &Flow) -> bool {
    is_drop(flow) && !is_policy_verdict(flow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use observe_proto::flow::{CiliumEventType, DropReason};

    #[test]
    fn policy_verdicts_read_like_hubble_and_are_not_counted_as_drops() {
        let mut f = Flow {
            verdict: Verdict::Dropped.into(),
            drop_reason_desc: DropReason::PolicyDenied.into(),
            event_type: Some(CiliumEventType {
                r#type: 5,
                sub_type: 0,
            }),
            ..Default::default()
        };
        assert_eq!(verdict_word(&f), "DENIED");
        assert_eq!(verdict(&f), "DROPPED", "what --verdict filters on");
        assert_eq!(crate::reason::reason(&f), "policy-verdict");
        assert!(is_drop(&f) && !is_drop_event(&f));
        f.verdict = Verdict::Forwarded.into();
        assert_eq!(verdict_word(&f), "ALLOWED");
        f.event_type = None;
        f.verdict = Verdict::Dropped.into();
        assert!(is_drop_event(&f), "a drop without an event type is a drop");
    }
}
