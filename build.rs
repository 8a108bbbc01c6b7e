//! Embeds the data directories into the binary: rules (analyzers/), report templates (report-templates/),
//! the lab's scenarios (tests/scenarios/) and Velero's CRDs (crds/). Each becomes a sorted table of
//! (relative path, contents) in $OUT_DIR/embedded.rs, included by src/embedded.rs. Also sets
//! SNAPDOC_COMMIT, the commit `--version` names.
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
        writeln!(
            out,
            "/// The files of `{dir}/` built into the binary: (path relative to `{dir}/`, contents), sorted by path."
        )
        .unwrap();
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
    println!("cargo:rustc-env=SNAPDOC_COMMIT={}", git_commit(&root));
}

/// The checkout's commit, or a plain statement when the source is not a git checkout (a crate tarball, a
/// container build without .git, no git installed).
fn git_commit(root: &Path) -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .and_then(|output| String::from_utf8(output.stdout).ok())
            .map(|text| text.trim().to_string())
            .filter(|text| !text.is_empty())
    };
    let Some(commit) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        return "unknown (not built from a git checkout)".into();
    };
    // Rebuild when HEAD moves: HEAD itself, and the branch it points to (worktrees keep both elsewhere).
    for name in ["HEAD", "packed-refs"] {
        if let Some(path) = git(&["rev-parse", "--git-path", name]) {
            println!("cargo:rerun-if-changed={}", root.join(path).display());
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(path) = git(&["rev-parse", "--git-path", &branch])
    {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    commit
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
