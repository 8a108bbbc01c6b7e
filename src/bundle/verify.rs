//! `snapdoc verify`: recompute every entry's size and sha256 and compare with manifest.json.
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::layout::MANIFEST;
use super::{Bundle, BundleError, BundleFormat};

#[derive(Debug, Default)]
pub struct VerifyReport {
    pub checked: usize,
    /// Entries checked by size only (beyond the hash budget of [`verify_open`]).
    pub size_checked: usize,
    /// One line per problem: entry and what differs.
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks every file of the bundle at `path` against the manifest's sizes and SHA-256 sums.
pub fn verify(path: &Path) -> Result<VerifyReport, BundleError> {
    let mut bundle = Bundle::open(path)?;
    if matches!(
        bundle.format(),
        BundleFormat::Troubleshoot | BundleFormat::VeleroDebug | BundleFormat::MustGather
    ) {
        let made_by = match bundle.manifest() {
            Some(m) => format!("{} {}", m.tool.name, m.tool.version),
            None => bundle.format().as_str().to_string(),
        };
        return Err(BundleError::Unverifiable {
            path: path.to_path_buf(),
            made_by,
        });
    }
    if bundle.manifest().is_none() {
        return Err(BundleError::Entry {
            path: path.to_path_buf(),
            entry: MANIFEST.into(),
            message: "missing: not a snapdoc bundle, or an incomplete one".into(),
        });
    }
    Ok(verify_open(&mut bundle, u64::MAX))
}

/// Checks an open snapdoc bundle against its manifest (nothing to check without one). Every entry's presence
/// and size are checked; contents are hashed smallest first while their sizes add up to at most `hash_budget`
/// bytes, so `analyze` (which checks with a budget, to show a tampered or truncated bundle in the report's
/// header) does not read a large bundle's logs twice: every object list is hashed, a large log is checked by
/// its size. `verify` hashes everything.
pub fn verify_open(bundle: &mut Bundle, hash_budget: u64) -> VerifyReport {
    let Some(manifest) = bundle.manifest().cloned() else {
        return VerifyReport::default();
    };
    let mut report = VerifyReport::default();
    let mut files: Vec<_> = manifest.files.iter().collect();
    files.sort_by_key(|f| f.size);
    let mut hashed = 0u64;
    for file in files {
        if !bundle.has(&file.path) {
            report
                .problems
                .push(format!("{}: listed in the manifest but missing", file.path));
            continue;
        }
        if hashed.saturating_add(file.size) > hash_budget {
            match bundle.entry_size(&file.path) {
                Some(size) if size != file.size => report.problems.push(format!(
                    "{}: size {size}, manifest says {}",
                    file.path, file.size
                )),
                _ => report.size_checked += 1,
            }
            continue;
        }
        hashed += file.size;
        let mut reader = match bundle.open_entry(&file.path) {
            Ok(r) => r,
            Err(e) => {
                report
                    .problems
                    .push(format!("{}: unreadable: {e}", file.path));
                continue;
            }
        };
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        let outcome = loop {
            match reader.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    size += n as u64;
                }
                Err(e) => break Err(e),
            }
        };
        report.checked += 1;
        if let Err(e) = outcome {
            report
                .problems
                .push(format!("{}: unreadable: {e}", file.path));
            continue;
        }
        let digest = hex::encode(hasher.finalize());
        if size != file.size {
            report.problems.push(format!(
                "{}: size {size}, manifest says {}",
                file.path, file.size
            ));
        } else if digest != file.sha256 {
            report
                .problems
                .push(format!("{}: sha256 differs from the manifest", file.path));
        }
    }
    let listed: std::collections::HashSet<&str> =
        manifest.files.iter().map(|f| f.path.as_str()).collect();
    for entry in bundle.entries() {
        if entry != MANIFEST && entry != super::layout::ANALYSIS && !listed.contains(entry.as_str())
        {
            report
                .problems
                .push(format!("{entry}: in the bundle but not in the manifest"));
        }
    }
    report
}
