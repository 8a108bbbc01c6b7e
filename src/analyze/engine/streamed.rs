//! Object rules and places over the resources the analysis keeps as typed projections rather than values
//! (PodVolumeBackups and Backups: facts/projected.rs), or as values with only some fields (pods, claims and
//! nodes: facts/picked.rs). Rules read any path, so each object is read whole once more
//! as its list streams from the bundle, every object rule of its kind and every place of the log rules is tried
//! on it, and only what they found is kept: the object itself is dropped before the next is read. That second
//! read runs on a reader of its own while the facts are gathered ([`StreamedKinds`]).
use std::collections::HashMap;

use serde_json::Value;

use super::ObjectMatches;
use super::places::{self, PlaceText, Places};
use crate::analyze::facts::backups::{self, Backups};
use crate::analyze::facts::picked;
use crate::analyze::facts::pod_volume_backups::{self, PodVolumeBackups};
use crate::analyze::findings::Finding;
use crate::analyze::rules::{Matcher, Rule, RuleSet};
use crate::bundle::Bundle;
use crate::bundle::list::{self, Keep, ListSink};
use crate::bundle::reader::MAX_OBJECTS_OF_A_KIND;

/// The kinds read this way: those kept as projections, and those kept as values with only the fields the
/// analysis's own readers read (facts/picked.rs).
pub(crate) const STREAMED_KINDS: [&str; 5] = [
    pod_volume_backups::RESOURCE,
    backups::RESOURCE,
    picked::PODS,
    picked::CLAIMS,
    picked::NODES,
];

/// What the rules and places found in one kind's objects.
pub(crate) struct Streamed<'r> {
    /// Each object rule over the kind, in the rule set's order, with its finding.
    pub(crate) findings: Vec<(&'r Rule, Option<Finding>)>,
    /// The texts of the kind's places, in the objects' order.
    pub(crate) places: Vec<PlaceText>,
    /// Whether the kind had objects (its rules ran).
    pub(crate) ran: bool,
}

impl<'r> Streamed<'r> {
    /// Reads `kind`'s objects, the same ones the analysis kept of it (the newest [`MAX_OBJECTS_OF_A_KIND`],
    /// at `kept`: their places in the list).
    pub(crate) fn read(
        bundle: &mut Bundle,
        kind: &str,
        kept: &[usize],
        rules: &'r RuleSet,
        now: jiff::Timestamp,
    ) -> Result<Streamed<'r>, crate::bundle::BundleError> {
        let mut matched = Vec::new();
        let mut all = Vec::new();
        for rule in rules.rules() {
            if let Matcher::Object(matcher) = &rule.matcher
                && matcher.kind == kind
            {
                all.push(rule);
                matched.push(ObjectMatches::new(matcher, now));
            }
        }
        let paths = places::PLACES
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(&[][..], |(_, paths)| *paths);
        let mut sieve = Sieve {
            kept,
            next: 0,
            place: 0,
            matched,
            places: Places::parse(kind, paths),
            texts: Vec::new(),
        };
        bundle.stream_objects(kind, Keep::Newest(MAX_OBJECTS_OF_A_KIND), &mut sieve)?;
        let Sieve { matched, texts, .. } = sieve;
        Ok(Streamed {
            findings: all
                .into_iter()
                .zip(matched)
                .map(|(rule, matches)| (rule, matches.finish(rules, rule)))
                .collect(),
            places: texts,
            ran: !kept.is_empty(),
        })
    }
}

/// The objects the analysis kept of each streamed kind (their places in the list), taken from `bundle`'s
/// projections, so that another reader of the bundle ([`Bundle::reopen`]) can stream them again once the
/// projections themselves are freed.
pub(crate) struct KeptPlaces(Vec<(&'static str, Result<Vec<usize>, String>)>);

impl KeptPlaces {
    pub(crate) fn of(bundle: &mut Bundle) -> KeptPlaces {
        KeptPlaces(
            STREAMED_KINDS
                .iter()
                .map(|&kind| {
                    let places = match kind {
                        pod_volume_backups::RESOURCE => {
                            PodVolumeBackups::of(bundle).map(|kept| kept.kept_places().to_vec())
                        }
                        backups::RESOURCE => {
                            Backups::of(bundle).map(|kept| kept.kept_places().to_vec())
                        }
                        picked => {
                            picked::objects(bundle, picked).map(|kept| kept.kept_places().to_vec())
                        }
                    };
                    (kind, places.map_err(|e| e.to_string()))
                })
                .collect(),
        )
    }
}

/// Every streamed kind's [`Streamed`], or why its list could not be read. Read on a thread of its own while
/// the facts are gathered and the other kinds' rules run (analyze/run.rs): it holds one object at a time.
pub(crate) struct StreamedKinds<'r>(HashMap<&'static str, Outcome<'r>>);

enum Outcome<'r> {
    Read(Streamed<'r>),
    Failed(String),
    /// Failed, and said so in the problems already.
    Said,
}

impl<'r> StreamedKinds<'r> {
    pub(crate) fn read(
        bundle: &mut Bundle,
        kept: &KeptPlaces,
        rules: &'r RuleSet,
        now: jiff::Timestamp,
    ) -> StreamedKinds<'r> {
        StreamedKinds(
            kept.0
                .iter()
                .map(|(kind, kept)| {
                    let streamed = kept.as_ref().map_err(String::clone).and_then(|kept| {
                        Streamed::read(bundle, kind, kept, rules, now).map_err(|e| e.to_string())
                    });
                    let outcome = match streamed {
                        Ok(found) => Outcome::Read(found),
                        Err(e) => Outcome::Failed(e),
                    };
                    (*kind, outcome)
                })
                .collect(),
        )
    }

    /// Names the kind's list in `problems` if it could not be read, the first time only: its rules then do not
    /// run, as for a list of values.
    pub(crate) fn say_problem(&mut self, kind: &str, problems: &mut Vec<String>) {
        if let Some(outcome) = self.0.get_mut(kind)
            && let Outcome::Failed(e) = outcome
        {
            problems.push(format!("{kind} not read: {e}"));
            *outcome = Outcome::Said;
        }
    }

    /// What the kind's rules and places found, if its list was read.
    pub(crate) fn found(&mut self, kind: &str) -> Option<&mut Streamed<'r>> {
        match self.0.get_mut(kind)? {
            Outcome::Read(found) => Some(found),
            Outcome::Failed(_) | Outcome::Said => None,
        }
    }
}

impl<'r> Streamed<'r> {
    /// The rule's finding (taken: each rule's outcome is said once).
    pub(crate) fn take_finding(&mut self, rule: &Rule) -> Option<Finding> {
        self.findings
            .iter_mut()
            .find(|(r, _)| std::ptr::eq(*r, rule))
            .and_then(|(_, finding)| finding.take())
    }
}

/// Tries the rules and places on each object the analysis kept, as it is read.
struct Sieve<'k, 'm> {
    /// The places of the objects kept, ascending.
    kept: &'k [usize],
    /// The next of `kept` to meet.
    next: usize,
    /// The place of the next object read.
    place: usize,
    matched: Vec<ObjectMatches<'m>>,
    places: Places<'k>,
    texts: Vec<PlaceText>,
}

impl ListSink for Sieve<'_, '_> {
    /// The objects the analysis left out (past the newest [`MAX_OBJECTS_OF_A_KIND`]) are read past.
    fn wants_next(&self) -> bool {
        self.kept.get(self.next) == Some(&self.place)
    }

    fn skip(&mut self) {
        self.place += 1;
    }

    fn push(&mut self, _: Keep, mut item: Value) {
        let place = self.place;
        self.place += 1;
        if self.kept.get(self.next) != Some(&place) {
            return;
        }
        self.next += 1;
        // As the kept values were: a rule naming managed fields found none there either.
        list::drop_managed_fields(&mut item);
        for matches in &mut self.matched {
            matches.offer(&item);
        }
        self.places.texts_of(&item, &mut self.texts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::layout;
    use serde_json::json;

    const PVB: &str = pod_volume_backups::RESOURCE;

    /// A PodVolumeBackup as Velero v1.16 writes one (composed, fields of pod_volume_backup_types.go).
    fn pod_volume_backup(name: &str, created: &str, phase: &str, message: &str) -> Value {
        json!({
            "apiVersion": "velero.io/v1", "kind": "PodVolumeBackup",
            "metadata": {"name": name, "namespace": "velero", "creationTimestamp": created,
                         "labels": {"velero.io/backup-name": "b1"}},
            "spec": {"node": "worker-1", "pod": {"name": "db-0", "namespace": "app", "uid": "p-1"},
                     "volume": "data", "tags": {"ns": "app"}},
            "status": {"phase": phase, "message": message}
        })
    }

    /// A user rule reading a field no Rust reader projects (a tag), capturing another (the pod's uid).
    fn tag_rule() -> RuleSet {
        let rule = format!(
            "id: SD991\nname: tagged\nseverity: warn\ncategory: pod-volume\ntitle: T\nmessage: 'm {{{{uid}}}}'\n\
             cause: C.\nfix: F.\nmatch:\n  object:\n    kind: {PVB}\n    when:\n      path: spec.tags.ns\n      \
             equals: app\n    capture:\n      uid: spec.pod.uid\ntests:\n  match:\n    - {{metadata: {{name: a}}, \
             spec: {{tags: {{ns: app}}}}}}\n  no_match:\n    - {{metadata: {{name: b}}}}\n"
        );
        RuleSet::from_files(&[("SD991-tagged.yaml".to_string(), rule)]).unwrap()
    }

    #[test]
    fn rules_and_places_read_every_path_of_the_objects_the_analysis_kept() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(layout::objects_dir(PVB));
        std::fs::create_dir_all(&folder).unwrap();
        // Three objects, the oldest left out when only two are kept; two with a message.
        let items: Vec<Value> = (0..3)
            .map(|i| {
                pod_volume_backup(
                    &format!("p{i}"),
                    &format!("2026-11-20T12:00:0{}Z", 3 - i),
                    if i == 1 { "Failed" } else { "Completed" },
                    if i == 0 { "" } else { "signal: killed" },
                )
            })
            .collect();
        let list = json!({"kind": "List", "items": items});
        std::fs::write(folder.join("velero.json"), list.to_string()).unwrap();
        let mut bundle = Bundle::open(dir.path()).unwrap();
        let (kept, total) = PodVolumeBackups::read(&mut bundle).unwrap();
        assert_eq!((kept.len(), total), (3, 3));
        let rules = tag_rule();
        let now = "2026-11-21T00:00:00Z".parse().unwrap();
        let mut found = Streamed::read(&mut bundle, PVB, kept.kept_places(), &rules, now).unwrap();
        assert!(found.ran);
        let finding = found.take_finding(&rules.rules()[0]).unwrap();
        assert_eq!(finding.count, 3);
        assert_eq!(finding.message, "m p-1");
        let texts: Vec<&str> = found
            .places
            .iter()
            .map(|p| p.object.name.as_str())
            .collect();
        assert_eq!(texts, ["p1", "p2"]);
        assert!(found.take_finding(&rules.rules()[0]).is_none());

        // Only the newest kept: p2, the oldest, is not read.
        let mut sieve = Sieve {
            kept: &[0, 1],
            next: 0,
            place: 0,
            matched: vec![match &rules.rules()[0].matcher {
                Matcher::Object(matcher) => ObjectMatches::new(matcher, now),
                _ => unreachable!(),
            }],
            places: Places::parse(PVB, &["status.message"]),
            texts: Vec::new(),
        };
        let text = list.to_string();
        list::read_list(text.as_bytes(), None, Keep::Newest(2), &mut sieve).unwrap();
        assert_eq!(sieve.place, 3);
        let texts: Vec<&str> = sieve.texts.iter().map(|p| p.object.name.as_str()).collect();
        assert_eq!(texts, ["p1"]);
        let finding = sieve
            .matched
            .remove(0)
            .finish(&rules, &rules.rules()[0])
            .unwrap();
        assert_eq!(finding.count, 2);
    }
}
