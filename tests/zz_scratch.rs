use snapdoc::lab::Scenario;
#[path = "support/foreign_fixtures.rs"]
mod foreign_fixtures;
#[test]
fn dump() {
    let n: usize = std::env::var("N").unwrap().parse().unwrap();
    let dir = std::path::PathBuf::from(format!("/tmp/snapdoc-scale-{n}"));
    let _ = std::fs::remove_dir_all(&dir);
    let spec = snapdoc::lab::scale::ScaleSpec {
        backups: n,
        pod_volume_backups: n * 4,
        pods: 200,
        nodes: 20,
        log_bytes: 4 << 20,
        backup_logs: 50,
        backup_log_bytes: 16 << 10,
        seed: 7,
    };
    snapdoc::lab::scale::generate(
        &spec,
        &dir.join("scenario"),
        "2026-12-01T00:00:00Z".parse().unwrap(),
    )
    .unwrap();
    let s = Scenario::load(&dir.join("scenario")).unwrap();
    foreign_fixtures::snapdoc_bundle_from_scenario(&s, &dir.join("b.zip"));
}
