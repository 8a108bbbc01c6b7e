//! Bundle readers: arbitrary bytes as a bundle file (zip, or whatever Bundle::open recognises), then
//! everything the analysis reads from it. Any panic is a finding; errors are the expected outcome.
#![no_main]

use std::io::{Read, Write};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use snapdoc::analyze::rules::RuleSet;
use snapdoc::bundle::{ArchiveLimits, Bundle};

/// Small limits: a fuzzer finds bombs quickly, and each run must stay fast.
const LIMITS: ArchiveLimits = ArchiveLimits {
    max_total_bytes: 64 << 20,
    max_entry_bytes: 32 << 20,
    max_ratio: 200,
    ratio_floor_bytes: 1 << 20,
};

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().expect("the built-in rules load"))
}

fuzz_target!(|data: &[u8]| {
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
    file.write_all(data).expect("temporary file written");
    file.flush().expect("temporary file flushed");
    let Ok(mut bundle) = Bundle::open_with_limits(file.path(), LIMITS) else {
        return;
    };
    let entries: Vec<String> = bundle.entries().to_vec();
    for entry in &entries {
        if let Ok(mut reader) = bundle.open_entry(entry) {
            let _ = std::io::copy(&mut reader.by_ref().take(64 << 20), &mut std::io::sink());
        }
    }
    for resource in [
        "nodes",
        "pods",
        "backups.velero.io",
        "backupstoragelocations.velero.io",
    ] {
        let _ = bundle.objects(resource);
    }
    let _ = bundle.logs();
    let _ = snapdoc::analyze::run::analyze_open_bundle(&mut bundle, rules());
    let _ = snapdoc::bundle::verify::verify(file.path());
});
