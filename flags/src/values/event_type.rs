//! `--type TYPE[:SUBTYPE]`: a monitor message type by name or number, and optionally a
//! subtype: an observation point name for `trace` (`trace:to-endpoint`), a drop reason
//! name for `drop` (`drop:POLICY_DENIED`, an extension), or a number for any type.

use observe_proto::flow::{DropReason, EventTypeFilter};

use crate::names::{EVENT_TYPES, OBSERVATION_POINTS, TYPE_DROP, TYPE_TRACE};

/// Parses `TYPE[:SUBTYPE]`.
pub fn event_type(text: &str) -> Result<EventTypeFilter, String> {
    let (ty, sub) = match text.split_once(':') {
        Some((ty, sub)) => (ty, Some(sub)),
        None => (text, None),
    };
    let r#type = type_number(ty)?;
    let mut filter = EventTypeFilter {
        r#type,
        ..Default::default()
    };
    if let Some(sub) = sub {
        filter.match_sub_type = true;
        filter.sub_type = sub_type_number(r#type, sub)?;
    }
    Ok(filter)
}

fn type_number(name: &str) -> Result<i32, String> {
    let lower = name.to_ascii_lowercase();
    if let Some((n, _)) = EVENT_TYPES.iter().find(|(_, t)| *t == lower) {
        return Ok(*n);
    }
    name.parse::<u8>().map(i32::from).map_err(|_| {
        let names: Vec<&str> = EVENT_TYPES.iter().map(|(_, n)| *n).collect();
        format!(
            "unknown event type {name:?}: expected one of {} or a number",
            names.join(", ")
        )
    })
}

fn sub_type_number(r#type: i32, name: &str) -> Result<i32, String> {
    let lower = name.to_ascii_lowercase();
    let named = match r#type {
        TYPE_TRACE => OBSERVATION_POINTS
            .iter()
            .find(|(_, p)| *p == lower)
            .map(|(n, _)| *n),
        TYPE_DROP => DropReason::from_str_name(&name.to_ascii_uppercase()).map(|r| r as i32),
        _ => None,
    };
    named
        .or_else(|| name.parse::<u8>().ok().map(i32::from))
        .ok_or_else(|| match r#type {
            TYPE_TRACE => {
                let points: Vec<&str> = OBSERVATION_POINTS.iter().map(|(_, p)| *p).collect();
                format!(
                    "unknown trace sub-type {name:?}: expected one of {} or a number",
                    points.join(", ")
                )
            }
            TYPE_DROP => format!(
                "unknown drop sub-type {name:?}: expected a drop reason name or code, e.g. POLICY_DENIED or 133"
            ),
            _ => format!("unknown sub-type {name:?}: expected a number"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> (i32, bool, i32) {
        let f = event_type(text).unwrap();
        (f.r#type, f.match_sub_type, f.sub_type)
    }

    #[test]
    fn names_numbers_and_subtypes() {
        assert_eq!(parsed("trace"), (4, false, 0));
        assert_eq!(parsed("Policy-Verdict"), (5, false, 0));
        assert_eq!(parsed("trace:to-endpoint"), (4, true, 0));
        assert_eq!(parsed("trace:from-endpoint"), (4, true, 5));
        assert_eq!(parsed("drop:POLICY_DENY"), (1, true, 181));
        assert_eq!(parsed("drop:133"), (1, true, 133));
        assert_eq!(parsed("129"), (129, false, 0));
        assert_eq!(parsed("l7"), (129, false, 0));
    }

    #[test]
    fn unknown_names_say_what_is_accepted() {
        let err = event_type("tarce").unwrap_err();
        assert!(err.contains("unknown event type \"tarce\""), "{err}");
        assert!(err.contains("policy-verdict"), "{err}");
        let err = event_type("trace:to-moon").unwrap_err();
        assert!(err.contains("to-endpoint"), "{err}");
        assert!(event_type("drop:NOPE").is_err());
        assert!(event_type("capture:x").is_err());
    }
}
