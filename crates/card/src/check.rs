//! What an artifact may be used for and what it owes, from the licenses of everything it came from.
//! Obligations are the union over all ancestors: a derivative never owes less than any parent.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::kb::{self, Family, Kind, License, Obligation, OutputsRule, Permission, Relation, Use};

/// The inherited terms of an artifact: every license in its ancestry (models and datasets).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Terms {
    /// License ids of ancestor models (and the artifact's own).
    pub licenses: BTreeSet<String>,
    /// License ids that came in only through training data.
    pub dataset_licenses: BTreeSet<String>,
    /// Some step in the ancestry made a new model (fine-tune, adapter, merge, distillation).
    pub adapted: bool,
}

impl Terms {
    /// An original artifact under one license (unknown ids become `other`).
    pub fn of(license: &str) -> Terms {
        let mut t = Terms::default();
        t.licenses.insert(kb::resolve(license, None).id.clone());
        t
    }

    /// The terms of something made from `parents` (and trained on `datasets`) by `relation`.
    pub fn derive(parents: &[Terms], datasets: &[&str], relation: Relation) -> Terms {
        let mut t = Terms::default();
        for p in parents {
            t.licenses.extend(p.licenses.iter().cloned());
            t.dataset_licenses.extend(p.dataset_licenses.iter().cloned());
            t.adapted |= p.adapted;
        }
        for d in datasets {
            let id = kb::resolve(d, None).id.clone();
            if !t.licenses.contains(&id) {
                t.dataset_licenses.insert(id);
            }
        }
        t.adapted |= relation.adapts();
        t
    }

    pub fn all_licenses(&self) -> impl Iterator<Item = &'static License> + '_ {
        self.licenses.iter().chain(self.dataset_licenses.iter()).map(|id| kb::resolve(id, None))
    }

    /// Every obligation owed, with the license it comes from, sorted and without duplicates.
    pub fn obligations(&self) -> BTreeSet<Required> {
        self.all_licenses()
            .flat_map(|l| l.obligations.iter().map(move |o| Required { license: l.id.clone(), obligation: o.clone() }))
            .collect()
    }

    pub fn acceptance_required(&self) -> Vec<&'static License> {
        self.all_licenses().filter(|l| l.acceptance_required).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Required {
    pub license: String,
    #[serde(flatten)]
    pub obligation: Obligation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub license: String,
    pub clause: String,
    pub reason: String,
}

/// What is being asked: may this artifact, made this way and named so, be used for `use_`?
#[derive(Debug, Clone)]
pub struct Question {
    pub terms: Terms,
    /// The step that made the artifact (None for an original).
    pub relation: Option<Relation>,
    pub name: Option<String>,
    pub use_: Use,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub licenses: Vec<String>,
    pub dataset_licenses: Vec<String>,
    pub relation: Option<Relation>,
    pub name: Option<String>,
    #[serde(rename = "use")]
    pub use_: Use,
    pub allowed: Vec<String>,
    pub required: Vec<Required>,
    pub conflicts: Vec<Conflict>,
    /// Things Agora cannot decide (unknown terms, a missing name, data-license questions).
    pub review: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.conflicts.is_empty()
    }
}

pub fn check(q: &Question) -> Report {
    let t = &q.terms;
    let required: Vec<Required> = t.obligations().into_iter().collect();
    let mut conflicts = Vec::new();
    let mut review = Vec::new();
    let mut allowed = Vec::new();

    // Use permissions: the narrowest license decides.
    for u in Use::ALL {
        let mut ok = true;
        for l in t.all_licenses() {
            match l.uses.get(u) {
                Permission::Allowed => {}
                Permission::Forbidden => {
                    ok = false;
                    if u == q.use_ {
                        let clause = l.first(Kind::NonCommercial).map_or("grant", |o| o.clause.as_str());
                        conflicts.push(Conflict {
                            license: l.id.clone(),
                            clause: clause.into(),
                            reason: format!("{} use is not permitted by {} ({}){}", u.name(), l.name, clause, via_data(t, l)),
                        });
                    }
                }
                Permission::Review => {
                    ok = false;
                    if u == q.use_ {
                        conflicts.push(Conflict {
                            license: l.id.clone(),
                            clause: "unknown terms".into(),
                            reason: format!(
                                "{} use cannot be confirmed: the license is unknown to Agora ({}){}; read it, then record the real license in the card",
                                u.name(),
                                l.review_note.as_deref().unwrap_or("custom terms"),
                                via_data(t, l)
                            ),
                        });
                    }
                }
            }
        }
        if ok {
            let mut s = format!("{} use", u.name());
            let limits: Vec<String> = t
                .all_licenses()
                .filter_map(|l| l.first(Kind::UserThreshold).map(|o| (l, o)))
                .map(|(l, o)| format!("{} {}: below {} monthly active users", l.id, o.clause, o.mau.unwrap_or(0)))
                .collect();
            if u == Use::Commercial && !limits.is_empty() {
                s += &format!(" ({})", limits.join("; "));
            }
            allowed.push(s);
        }
    }
    if conflicts.is_empty() {
        allowed.push("redistribution, fine-tuning, merging and quantization, with the obligations listed".into());
    }

    share_alike(q, &mut conflicts);
    naming(q, &required, &mut conflicts, &mut review);
    outputs(q, &mut conflicts);
    if !t.dataset_licenses.is_empty() {
        review.push(format!(
            "training data licensed {} is applied conservatively: whether a trained model is an adaptation of its data is not settled law",
            t.dataset_licenses.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    for l in t.all_licenses() {
        if let Some(n) = &l.review_note {
            if l.id != "other" {
                review.push(format!("{}: {n}", l.id));
            }
        }
    }
    Report {
        licenses: t.licenses.iter().cloned().collect(),
        dataset_licenses: t.dataset_licenses.iter().cloned().collect(),
        relation: q.relation,
        name: q.name.clone(),
        use_: q.use_,
        allowed,
        required,
        conflicts,
        review,
    }
}

fn via_data(t: &Terms, l: &License) -> &'static str {
    if t.dataset_licenses.contains(&l.id) {
        " (through the training data)"
    } else {
        ""
    }
}

/// A share-alike license cannot be combined, in an adaptation, with terms that add restrictions.
fn share_alike(q: &Question, out: &mut Vec<Conflict>) {
    let adapting = q.relation.is_some_and(|r| r.adapts()) || q.terms.adapted;
    if !adapting {
        return;
    }
    let ls: Vec<&License> = q.terms.all_licenses().collect();
    for sa in ls.iter().filter(|l| l.has(Kind::ShareAlike)) {
        for other in ls.iter().filter(|o| o.id != sa.id && o.family != Family::Permissive) {
            let clause = sa.first(Kind::ShareAlike).map(|o| o.clause.clone()).unwrap_or_default();
            out.push(Conflict {
                license: sa.id.clone(),
                clause: clause.clone(),
                reason: format!(
                    "share-alike mix: {} ({clause}) requires the adaptation to be released under its own terms, which {} ({}) forbids relaxing or which cannot carry {}'s extra restrictions",
                    sa.id, other.id, other.name, other.id
                ),
            });
        }
    }
}

fn naming(q: &Question, required: &[Required], out: &mut Vec<Conflict>, review: &mut Vec<String>) {
    for r in required.iter().filter(|r| r.obligation.kind == Kind::Naming) {
        let fires = q.relation.is_some_and(|rel| r.obligation.applies_to(rel)) || q.terms.adapted;
        if !fires {
            continue;
        }
        let prefix = r.obligation.prefix.as_deref().unwrap_or("");
        match &q.name {
            Some(n) if !starts_with_words(n, prefix) => out.push(Conflict {
                license: r.license.clone(),
                clause: r.obligation.clause.clone(),
                reason: format!("the name {n:?} must begin with {prefix:?} ({} {})", r.license, r.obligation.clause),
            }),
            Some(_) => {}
            None => review.push(format!(
                "{} {}: a distributed derivative's name must begin with {prefix:?}; pass --name to check it",
                r.license, r.obligation.clause
            )),
        }
    }
}

/// Case-insensitive prefix match that treats `-`, `_` and spaces alike ("Llama-3-Chat" ~ "Llama 3").
fn starts_with_words(name: &str, prefix: &str) -> bool {
    let norm = |s: &str| s.chars().map(|c| if c == '-' || c == '_' { ' ' } else { c.to_ascii_lowercase() }).collect::<String>();
    norm(name.trim()).starts_with(&norm(prefix))
}

fn outputs(q: &Question, out: &mut Vec<Conflict>) {
    if q.relation != Some(Relation::Distill) {
        return;
    }
    for l in q.terms.all_licenses() {
        for o in l.obligations.iter().filter(|o| o.kind == Kind::Outputs && o.rule == Some(OutputsRule::NoOtherLlm)) {
            out.push(Conflict {
                license: l.id.clone(),
                clause: o.clause.clone(),
                reason: format!(
                    "{} ({}) forbids using its outputs to improve another large language model; only a model derived from {} itself may be trained on them",
                    l.name, o.clause, l.id
                ),
            });
        }
    }
}

/// The attribution lines a running or served model must show (notices, "Built with" displays).
pub fn attribution_for(terms: &Terms) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    // One line per policy, naming every clause that points at it.
    let mut policies: Vec<(String, Vec<String>)> = Vec::new();
    for r in terms.obligations() {
        match r.obligation.kind {
            Kind::NoticeFile | Kind::Display => {
                if let Some(t) = r.obligation.text.clone().filter(|t| !v.contains(t)) {
                    v.push(t);
                }
            }
            Kind::UseRestrictions => {
                if let Some(u) = &r.obligation.policy_url {
                    let clause = format!("{} {}", r.license, r.obligation.clause);
                    match policies.iter_mut().find(|(p, _)| p == u) {
                        Some((_, cs)) => cs.push(clause),
                        None => policies.push((u.clone(), vec![clause])),
                    }
                }
            }
            _ => {}
        }
    }
    v.extend(policies.into_iter().map(|(u, cs)| format!("Use is subject to {u} ({})", cs.join("; "))));
    v
}
