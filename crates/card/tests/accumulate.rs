//! Property: through any chain of relations, obligations only accumulate (a derivative never owes
//! less than any parent), uses only narrow, and acceptance duties never disappear. Seeded
//! generator over the whole knowledge base, so failures reproduce.

use std::collections::BTreeSet;

use card::kb::{self, Relation, Use};
use card::{check, Question, Terms};

/// SplitMix64: small, seeded, enough for picking rows.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn forbidden_uses(t: &Terms, relation: Relation) -> BTreeSet<Use> {
    Use::ALL
        .into_iter()
        .filter(|&u| !check(&Question { terms: t.clone(), relation: Some(relation), name: None, use_: u }).allowed.iter().any(|a| a.starts_with(u.name())))
        .collect()
}

#[test]
fn obligations_only_accumulate_through_chains() {
    let ids = kb::ids();
    let mut rng = Rng(0x5EED_0007);
    let mut steps = 0;
    for _chain in 0..300 {
        // A pool of artifacts: originals first, then derivatives of random earlier artifacts.
        let mut pool: Vec<Terms> = (0..3).map(|_| Terms::of(ids[rng.below(ids.len())])).collect();
        for _ in 0..6 {
            let relation = Relation::ALL[rng.below(Relation::ALL.len())];
            let n_parents = if relation == Relation::Merge { 2 + rng.below(2) } else { 1 };
            let parents: Vec<Terms> = (0..n_parents).map(|_| pool[rng.below(pool.len())].clone()).collect();
            let datasets: Vec<&str> = (0..rng.below(2)).map(|_| ids[rng.below(ids.len())]).collect();
            let child = Terms::derive(&parents, &datasets, relation);
            let child_obl = child.obligations();
            let child_forbidden = forbidden_uses(&child, relation);
            for p in &parents {
                let missing: Vec<_> = p.obligations().difference(&child_obl).cloned().collect();
                assert!(missing.is_empty(), "{relation:?} of {:?} lost {missing:?}", p.licenses);
                assert!(forbidden_uses(p, relation).is_subset(&child_forbidden), "{relation:?} widened the uses of {:?}", p.licenses);
                let acc: BTreeSet<_> = p.acceptance_required().iter().map(|l| l.id.clone()).collect();
                let child_acc: BTreeSet<_> = child.acceptance_required().iter().map(|l| l.id.clone()).collect();
                assert!(acc.is_subset(&child_acc));
                assert!(!p.adapted || child.adapted, "adaptation forgotten");
            }
            pool.push(child);
            steps += 1;
        }
    }
    assert_eq!(steps, 1800);
}
