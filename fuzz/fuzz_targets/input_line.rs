//! Fuzzes `observe flows --input-file` lines: any text must become responses, skipped
//! lines or an error per line, and every response read must print back as JSON or be
//! refused (a time out of range), never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines() {
        if let Ok(Some(response)) = observe_cli::input_line::parse_line(line) {
            let _ = serde_json::to_string(&response);
        }
    }
});
