//! Fuzzes `observe flows --input-file` lines: any text must become responses, skipped
//! lines or an error per line, never a panic; the fast reader (one reused for every line,
//! as a replay reads them) must give exactly what serde_json gives, errors included; and
//! every response read must print back as JSON or be refused (a time out of range).
#![no_main]

use libfuzzer_sys::fuzz_target;
use observe_cli::input_line::{LineReader, parse_line_with_serde_json};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut reader = LineReader::new();
    for line in text.lines() {
        let fast = reader
            .read(line)
            .map(|r| r.cloned())
            .map_err(|e| format!("{e:#}"));
        let full = parse_line_with_serde_json(line).map_err(|e| format!("{e:#}"));
        assert_eq!(fast, full, "{line}");
        if let Ok(Some(response)) = fast {
            let _ = serde_json::to_string(&response);
        }
    }
});
