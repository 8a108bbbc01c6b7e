//! Embeds the data directories into the binary: rules (analyzers/), report templates (report-templates/),
//! the lab's scenarios (tests/scenarios/) and Velero's CRDs (crds/). Each becomes a sorted table of
//! (relative path, contents) in $OUT_DIR/embedded.rs, included by src/embedded.rs.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const TABLES: &[(&str, &str)] = &[
    ("ANALYZERS", "analyzers"),
    ("REPORT_TEMPLATES", "report-templates"),
    ("SCENARIOS", "tests/scenarios"),
    ("CRDS", "crds"),
];

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut out = String::new();
    for (table, dir) in TABLES {
        let base = root.join(dir);
        println!("cargo:rerun-if-changed={}", base.display());
        let mut files = Vec::new();
        if base.is_dir() {
            walk(&base, &mut files);
        }
        files.sort();
        writeln!(out, "pub static {table}: &[(&str, &str)] = &[").unwrap();
        for file in files {
            println!("cargo:rerun-if-changed={}", file.display());
            let rel = file
                .strip_prefix(&base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            writeln!(
                out,
                "    ({rel:?}, include_str!({:?})),",
                file.display().to_string()
            )
            .unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    let dest =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded.rs");
    std::fs::write(dest, out).expect("write embedded.rs");
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}
