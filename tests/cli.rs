//! The binary's edge as a user meets it: the kubectl plugin name, `--version`, shell completions, man
//! pages, and logs for machines (JSON lines, no ANSI codes in a pipe).
use std::path::Path;
use std::process::{Command, Output};

use snapdoc::lab::Scenario;

#[path = "support/background_lab.rs"]
mod background_lab;
use background_lab::BackgroundLab;

fn snapdoc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(args)
        .output()
        .expect("snapdoc runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

/// A link named `kubectl-snapdoc` to the binary, in a folder of its own (for PATH).
fn plugin_link(dir: &Path) -> std::path::PathBuf {
    let link = dir.join("kubectl-snapdoc");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_snapdoc"), &link).expect("a symlink");
    link
}

#[test]
fn as_kubectl_snapdoc_the_usage_says_kubectl_snapdoc() {
    let dir = tempfile::tempdir().unwrap();
    let link = plugin_link(dir.path());
    let help = Command::new(&link)
        .args(["check", "--help"])
        .output()
        .unwrap();
    let help = stdout(&help);
    assert!(help.contains("Usage: kubectl snapdoc check"), "{help}");
    assert!(stdout(&snapdoc(&["check", "--help"])).contains("Usage: snapdoc check"));

    // Real kubectl finds the plugin on PATH and runs it.
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok()
    {
        let path = format!(
            "{}:{}",
            dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let output = Command::new("kubectl")
            .args(["snapdoc", "--help"])
            .env("PATH", path)
            .output()
            .unwrap();
        assert!(stdout(&output).contains("Usage: kubectl snapdoc"));
    } else {
        eprintln!("SKIPPED: kubectl is not installed; the plugin was run directly only");
    }
}

#[test]
fn version_names_the_commit_the_rules_and_the_bundle_format() {
    let text = stdout(&snapdoc(&["--version"]));
    let rules = snapdoc::analyze::RuleSet::load(&[]).unwrap().rules().len();
    assert!(
        text.contains(&format!("built-in rules: {rules}\n")),
        "{text}"
    );
    assert!(text.contains("bundle format version: 1\n"), "{text}");
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success());
    match head {
        Some(head) => {
            let commit = String::from_utf8_lossy(&head.stdout).trim().to_string();
            assert!(text.contains(&format!("(commit {commit})")), "{text}");
        }
        None => assert!(text.contains("not built from a git checkout"), "{text}"),
    }
    assert!(stdout(&snapdoc(&["-V"])).contains("(commit "));
}

#[test]
fn bash_knows_snapdoc_after_sourcing_its_completions() {
    let script = format!(
        "source <('{}' completions bash) && complete -p snapdoc",
        env!("CARGO_BIN_EXE_snapdoc")
    );
    let output = Command::new("bash").args(["-c", &script]).output().unwrap();
    let text = stdout(&output);
    assert!(
        text.contains("-F _snapdoc") && text.trim_end().ends_with(" snapdoc"),
        "{text}"
    );
}

#[test]
fn every_shell_gets_a_script_naming_the_subcommands_and_flags() {
    let markers = [
        ("bash", "_snapdoc()"),
        ("zsh", "#compdef snapdoc"),
        ("fish", "complete -c snapdoc"),
        ("powershell", "Register-ArgumentCompleter"),
    ];
    for (shell, marker) in markers {
        let script = stdout(&snapdoc(&["completions", shell]));
        assert!(script.contains(marker), "{shell}: no {marker}");
        for word in ["check", "collect", "request-timeout", "log-format"] {
            assert!(script.contains(word), "{shell}: {word} is not completed");
        }
    }
}

#[test]
fn every_man_page_renders_with_man() {
    if Command::new("man").arg("--version").output().is_err() {
        eprintln!("SKIPPED: man is not installed (scripts/install-test-deps installs man-db)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    stdout(&snapdoc(&["man", "--out-dir", pages.to_str().unwrap()]));
    let mut names: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for expected in [
        "snapdoc.1",
        "snapdoc-check.1",
        "snapdoc-lab-serve.1",
        "snapdoc-completions.1",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not in {names:?}"
        );
    }
    for name in &names {
        let output = Command::new("man")
            .arg("-l")
            .arg(pages.join(name))
            .env("MANWIDTH", "100")
            .env("MANPAGER", "cat")
            .output()
            .unwrap();
        let text = stdout(&output);
        assert!(
            text.contains("NAME") && text.contains("SYNOPSIS"),
            "{name}:\n{text}"
        );
        assert!(
            output.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let one = stdout(&snapdoc(&["man", "lab", "serve"]));
    assert!(one.contains(".TH snapdoc-lab-serve 1"), "{one}");
    let missing = snapdoc(&["man", "nope"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn logs_are_json_lines_for_machines_and_never_ansi_in_a_pipe() {
    let lab = BackgroundLab::start(Scenario::builtin("healthy").unwrap());
    let run = |format: &str| {
        Command::new(env!("CARGO_BIN_EXE_snapdoc"))
            .args(["-v", "--log-format", format, "check", "--kubeconfig"])
            .arg(lab.kubeconfig())
            .env_remove("NO_COLOR")
            .env_remove("SNAPDOC_LOG")
            .env("TMPDIR", lab.path("."))
            .output()
            .unwrap()
    };
    let json = run("json");
    assert_eq!(json.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&json.stderr)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect();
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    let reaching = lines
        .iter()
        .find(|l| l["message"] == "reaching the cluster")
        .unwrap_or_else(|| panic!("no 'reaching the cluster' line in {messages:?}"));
    let server = lab.lab().server_url();
    assert_eq!(
        reaching["server"].as_str(),
        server
            .strip_prefix("https://")
            .map(|s| s.trim_end_matches('/')),
        "the fields are JSON fields"
    );
    assert!(messages.contains(&"check finished"), "{messages:?}");
    assert!(
        lines
            .iter()
            .all(|l| l["level"].is_string() && l["timestamp"].is_string())
    );

    let text = run("text");
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert!(stderr.contains("check finished"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "ANSI codes in a pipe: {stderr:?}"
    );
}

/// `snapdoc run` whose Markdown template is broken: the HTML report is still written, the summary lists it and
/// not the report.md that was not written, says why, and exits 2.
#[test]
fn run_lists_only_the_reports_it_wrote() {
    let lab = BackgroundLab::start(Scenario::builtin("failed-bsl").unwrap());
    let templates = lab.path("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(templates.join("report.md.hbs"), "{{no_such_field}}\n").unwrap();
    let out_dir = lab.path("out");
    let output = Command::new(env!("CARGO_BIN_EXE_snapdoc"))
        .args(["run", "--kubeconfig"])
        .arg(lab.kubeconfig())
        .arg("--templates")
        .arg(&templates)
        .arg("--out-dir")
        .arg(&out_dir)
        .env("NO_COLOR", "1")
        .env("TMPDIR", lab.path("."))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("a report was not written"), "{stderr}");
    let reports = stdout
        .split("Reports:")
        .nth(1)
        .unwrap_or_else(|| panic!("no Reports: list\n{stdout}"));
    assert!(reports.contains("report.html"), "{stdout}");
    assert!(!stdout.contains("report.md"), "{stdout}");
    let folder = std::fs::read_dir(&out_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(folder.join("report.html").exists());
    assert!(!folder.join("report.md").exists());
    // The run folder is named by the kubeconfig context (`lab`), not the API server's address.
    let name = folder.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("snapdoc-lab-"), "{name}");
}
