//! The log-line field parser (logfmt and JSON lines) and the line time it derives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapdoc::analyze::engine::fields::LineFields;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let fields = LineFields::parse(&line);
    for key in ["level", "msg", "error", "backup", "time", "ts", "logSource"] {
        let _ = fields.get(key);
    }
    let _ = fields.iter().count();
    let _ = fields.time(&line);
});
