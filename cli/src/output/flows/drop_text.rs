//! The text Hubble prints for a drop reason in the TYPE column (`Policy denied`), for
//! every code of the `DropReason` enum; unknown codes print as their number, as Hubble
//! does.

/// The text of drop reason `code` (the table is `probe_common::drop_reason`).
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
    fn policy_drops_and_unknown_codes() {
        assert_eq!(drop_text(133), "Policy denied");
        assert_eq!(drop_text(181), "Policy denied by denylist");
        assert_eq!(drop_text(250), "250");
    }
}
