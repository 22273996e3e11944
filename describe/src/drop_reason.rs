//! Drop reasons in words: a flow's drop code, its enum name (`POLICY_DENIED`) and the text
//! Hubble prints for it (`Policy denied`), one text for every client. Unknown codes print
//! as their number, as Hubble does.

use observe_proto::flow::{DropReason, Flow};

/// The drop reason code (from `drop_reason_desc`, else the deprecated `drop_reason`).
#[expect(
    deprecated,
    reason = "older agents and Hubble set only the numeric drop_reason"
)]
pub fn drop_code(flow: &Flow) -> u32 {
    match u32::try_from(flow.drop_reason_desc) {
        Ok(code) if code != 0 => code,
        _ => flow.drop_reason,
    }
}

/// The enum name of a drop reason (`POLICY_DENIED`), or the number when unknown.
pub fn drop_name(code: u32) -> String {
    i32::try_from(code)
        .ok()
        .and_then(|c| DropReason::try_from(c).ok())
        .filter(|r| *r != DropReason::Unknown)
        .map_or_else(|| code.to_string(), |r| r.as_str_name().to_string())
}

/// The text Hubble prints for drop reason `code` (the table is
/// `probe_common::drop_reason`), or the number when the table does not know it.
pub fn drop_text(code: u32) -> String {
    u8::try_from(code)
        .ok()
        .and_then(probe_common::drop_reason::known_text)
        .map_or_else(|| code.to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_drop_reasons_read_like_hubble() {
        assert_eq!(drop_text(133), "Policy denied");
        assert_eq!(drop_text(181), "Policy denied by denylist");
        assert_eq!(drop_name(181), "POLICY_DENY");
        assert_eq!(drop_text(60_000), "60000");
        assert_eq!(drop_text(250), "250");
    }

    #[test]
    fn every_named_drop_reason_has_hubbles_text() {
        for code in 1..=u32::from(u16::MAX) {
            if drop_name(code) != code.to_string() {
                assert_ne!(drop_text(code), code.to_string(), "{}", drop_name(code));
            }
        }
    }
}
