//! `--allowlist` / `--denylist`: raw `FlowFilter`s as JSON (proto field names or their
//! lowerCamelCase JSON names, enums by name), several objects per value allowed, as
//! `--print-raw-filters` prints them and Hubble's `--allowlist` accepts them.

use observe_proto::flow::FlowFilter;

use crate::error::FlagsError;

/// Every filter in `values`, in order.
pub(crate) fn parse(flag: &'static str, values: &[String]) -> Result<Vec<FlowFilter>, FlagsError> {
    let mut out = Vec::new();
    for value in values {
        let stream = serde_json::Deserializer::from_str(value).into_iter::<FlowFilter>();
        for filter in stream {
            out.push(filter.map_err(|e| FlagsError::RawFilter {
                flag,
                value: value.clone(),
                reason: e.to_string(),
            })?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use observe_proto::flow::Verdict;

    #[test]
    fn one_or_more_filters_per_value() {
        let filters = parse(
            "allowlist",
            &[
                r#"{"source_pod":["shop/"],"verdict":["DROPPED"]}"#.into(),
                r#"{"destination_port":["53"]} {"sourcePod":["kube-system/"]}"#.into(),
            ],
        )
        .unwrap();
        assert_eq!(filters.len(), 3);
        assert_eq!(filters[0].verdict, [Verdict::Dropped as i32]);
        assert_eq!(filters[2].source_pod, ["kube-system/"]);
    }

    #[test]
    fn bad_json_names_the_flag_and_value() {
        let err = parse("denylist", &[r#"{"verdict":["NOPE"]}"#.into(), "{".into()])
            .unwrap_err()
            .to_string();
        // Unknown enum names read as the zero value (newer Hubble versions add names), so
        // only the broken object fails.
        assert!(err.starts_with("invalid --denylist value \"{\""), "{err}");
    }
}
