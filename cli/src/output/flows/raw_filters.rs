//! `--print-raw-filters`: the filters the flags produce, as the YAML Hubble prints
//! (`allowlist:`/`denylist:` lists of JSON filters, which `--allowlist`/`--denylist`
//! accept back), or as one JSON object with `-o json`.

use observe_flags::Filters;
use observe_proto::flow::FlowFilter;

/// YAML: each filter as a single-quoted JSON string; `{}` when there are none.
pub fn yaml(filters: &Filters) -> String {
    let mut out = String::new();
    for (key, list) in [
        ("allowlist", &filters.whitelist),
        ("denylist", &filters.blacklist),
    ] {
        if list.is_empty() {
            continue;
        }
        out.push_str(&format!("{key}:\n"));
        for filter in list {
            let json = json_text(filter).replace('\'', "''");
            out.push_str(&format!("    - '{json}'\n"));
        }
    }
    if out.is_empty() {
        out.push_str("{}\n");
    }
    out
}

/// `{"allowlist":[...],"denylist":[...]}` on one line.
pub fn json(filters: &Filters) -> String {
    let value = serde_json::json!({
        "allowlist": filters.whitelist,
        "denylist": filters.blacklist,
    });
    format!("{value}\n")
}

fn json_text(filter: &FlowFilter) -> String {
    serde_json::to_string(filter).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_like_hubble() {
        let filters =
            observe_flags::parse_filter_line("--to-pod shop/ --not --verdict FORWARDED").unwrap();
        assert_eq!(
            yaml(&filters),
            "allowlist:\n    - '{\"destination_pod\":[\"shop/\"]}'\ndenylist:\n    - '{\"verdict\":[\"FORWARDED\"]}'\n"
        );
        assert_eq!(yaml(&Filters::default()), "{}\n");
        assert_eq!(
            json(&filters),
            "{\"allowlist\":[{\"destination_pod\":[\"shop/\"]}],\"denylist\":[{\"verdict\":[\"FORWARDED\"]}]}\n"
        );
    }
}
