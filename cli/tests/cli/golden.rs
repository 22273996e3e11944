//! Every output format of the fixture, as golden files.

use observe_proto::observer::GetFlowsResponse;

use crate::util::{assert_golden, fixture, observe, replay, stdout};

#[test]
fn compact_is_hubbles_line_with_policy_names_on_drops() {
    assert_golden("compact.txt", &stdout(&replay(&[])));
}

#[test]
fn compact_with_node_names_policy_names_and_numeric() {
    let out = stdout(&replay(&["--print-node-name", "--print-policy-names"]));
    assert_golden("compact-node-policy-names.txt", &out);
    assert_golden("compact-numeric.txt", &stdout(&replay(&["--numeric"])));
}

#[test]
fn compact_colors_like_hubble() {
    let out = stdout(&replay(&["--color", "always", "--last", "6"]));
    assert!(out.contains("\x1b[31mDROPPED\x1b[0m"), "{out}");
    assert!(out.contains("\x1b[35m(ID:48213)\x1b[0m"), "{out}");
    assert_golden("compact-color.txt", &out);
    let never = stdout(&replay(&["--color", "always", "-o", "table"]));
    assert!(!never.contains('\x1b'), "tables are never colored");
}

#[test]
fn no_color_turns_auto_off() {
    let out = observe()
        .args(["flows", "--color", "auto", "--input-file"])
        .arg(fixture())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!stdout(&out).contains('\x1b'));
}

#[test]
fn dict_blocks() {
    assert_golden(
        "dict.txt",
        &stdout(&replay(&["-o", "dict", "--print-node-name"])),
    );
}

#[test]
fn table_columns() {
    assert_golden("table.txt", &stdout(&replay(&["-o", "table"])));
    assert_golden(
        "table-node.txt",
        &stdout(&replay(&["-o", "tab", "--print-node-name", "--last", "4"])),
    );
}

#[test]
fn time_formats() {
    let mut text = String::new();
    for format in [
        "StampMilli",
        "YearMonthDay",
        "YearMonthDayHour",
        "YearMonthDayHourMinute",
        "RFC3339",
        "RFC3339Milli",
        "rfc3339micro",
        "RFC3339Nano",
        "RFC1123Z",
    ] {
        let out = stdout(&replay(&["--time-format", format, "--last", "1"]));
        text.push_str(&format!("{format}: {out}"));
    }
    assert_golden("time-formats.txt", &text);
}

#[test]
fn jsonpb_lines_parse_back_and_replay_identically() {
    let jsonpb = stdout(&replay(&["-o", "jsonpb"]));
    assert_eq!(jsonpb, stdout(&replay(&["-o", "json"])), "json is jsonpb");
    assert_golden("jsonpb.txt", &jsonpb);
    let responses: Vec<GetFlowsResponse> = jsonpb
        .lines()
        .map(|l| serde_json::from_str(l).expect("a GetFlowsResponse"))
        .collect();
    assert_eq!(responses.len(), 15);
    // Our jsonpb, replayed, prints exactly what the fixture prints.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flows.json");
    std::fs::write(&file, &jsonpb).unwrap();
    let again = observe()
        .arg("flows")
        .arg("--input-file")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(stdout(&again), stdout(&replay(&[])));
}

#[test]
fn field_mask_keeps_only_named_fields() {
    let out = stdout(&replay(&[
        "-o",
        "jsonpb",
        "--field-mask",
        "time,verdict,source.pod_name",
        "--last",
        "2",
    ]));
    assert_golden("jsonpb-field-mask.txt", &out);
}

#[test]
fn print_raw_filters_as_yaml_and_json() {
    let args = [
        "--to-namespace",
        "shop",
        "--not",
        "--verdict",
        "FORWARDED",
        "--print-raw-filters",
    ];
    let yaml = stdout(&replay(&args));
    assert_eq!(
        yaml,
        "allowlist:\n    - '{\"destination_pod\":[\"shop/\"]}'\ndenylist:\n    - '{\"verdict\":[\"FORWARDED\"]}'\n"
    );
    let mut json_args = args.to_vec();
    json_args.extend(["-o", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&replay(&json_args))).unwrap();
    assert_eq!(json["denylist"][0]["verdict"][0], "FORWARDED");
}
