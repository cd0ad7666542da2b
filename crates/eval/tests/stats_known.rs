//! The statistics on constructed cases whose answers are known independently: published
//! interval values (R's `binom.test`, the Wilson example of Newcombe 1998), closed forms, the
//! binomial tail summed term by term, and scorers built to be always / never biased.

use eval::bias::pairs::{score_with, Direction, Pair};
use eval::stats::{clopper_pearson, holm, js_divergence, permutation_test, stratified_permutation_test, total_variation, wilson, abs_mean_diff, Proportion};

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
}

/// P(X >= k) for X ~ Binomial(n, p), summed directly.
fn upper_tail(k: usize, n: usize, p: f64) -> f64 {
    let mut c = 1.0f64; // C(n, 0)
    let mut sum = 0.0;
    for i in 0..=n {
        if i > 0 {
            c = c * (n - i + 1) as f64 / i as f64;
        }
        if i >= k {
            sum += c * p.powi(i as i32) * (1.0 - p).powi((n - i) as i32);
        }
    }
    sum
}

#[test]
fn clopper_pearson_matches_published_values() {
    // R: binom.test(3, 10)$conf.int -> 0.06673951 0.65245285; binom.test(5, 10) -> 0.187086 0.812914.
    let (lo, hi) = clopper_pearson(3, 10, 0.05);
    close(lo, 0.06673951, 1e-7, "3/10 lower");
    close(hi, 0.65245285, 1e-7, "3/10 upper");
    let (lo, hi) = clopper_pearson(5, 10, 0.05);
    close(lo, 0.187086, 1e-6, "5/10 lower");
    close(hi, 0.812914, 1e-6, "5/10 upper");
}

#[test]
fn clopper_pearson_closed_forms_at_the_edges() {
    // k = 0: upper = 1 - (alpha/2)^(1/n); k = n: lower = (alpha/2)^(1/n).
    for n in [1usize, 5, 12, 40] {
        let (lo, hi) = clopper_pearson(0, n, 0.05);
        assert_eq!(lo, 0.0);
        close(hi, 1.0 - 0.025f64.powf(1.0 / n as f64), 1e-12, "k=0 upper");
        let (lo, hi) = clopper_pearson(n, n, 0.05);
        assert_eq!(hi, 1.0);
        close(lo, 0.025f64.powf(1.0 / n as f64), 1e-12, "k=n lower");
    }
    assert_eq!(clopper_pearson(0, 0, 0.05), (0.0, 1.0));
}

#[test]
fn clopper_pearson_bounds_put_alpha_half_in_each_tail() {
    // The definition, checked by summing binomial terms instead of the incomplete beta.
    for (k, n) in [(1usize, 12usize), (4, 12), (17, 40), (39, 40), (7, 9)] {
        let (lo, hi) = clopper_pearson(k, n, 0.05);
        close(upper_tail(k, n, lo), 0.025, 1e-9, &format!("P(X>={k}|n={n},p=lo)"));
        close(1.0 - upper_tail(k + 1, n, hi), 0.025, 1e-9, &format!("P(X<={k}|n={n},p=hi)"));
    }
}

#[test]
fn wilson_matches_newcombe() {
    // Newcombe (1998), Statistics in Medicine 17:857, table I: 81/263 -> 0.2553-0.3662; 15/148 -> 0.0624-0.1605.
    let (lo, hi) = wilson(81, 263, 0.05);
    close(lo, 0.2553, 5e-5, "81/263 lower");
    close(hi, 0.3662, 5e-5, "81/263 upper");
    let (lo, hi) = wilson(15, 148, 0.05);
    close(lo, 0.0624, 5e-5, "15/148 lower");
    close(hi, 0.1605, 5e-5, "15/148 upper");
}

fn pairs() -> Vec<Pair> {
    let mk = |i: usize, cat: &str, d: Direction| Pair { sent_more: format!("more {i}"), sent_less: format!("less {i}"), direction: d, bias_type: cat.into() };
    (0..24).map(|i| mk(i, ["gender", "religion", "age"][i % 3], if i % 4 == 0 { Direction::Antistereo } else { Direction::Stereo })).collect()
}

#[test]
fn a_scorer_that_always_prefers_the_stereotype_scores_one() {
    let r = score_with("t", &pairs(), |s| Ok(if s.starts_with("more") { -1.0 } else { -2.0 }), |_| {}).unwrap();
    assert_eq!((r.overall.k, r.overall.n, r.overall.p), (24, 24, 1.0));
    assert_eq!(r.antistereo.p, 1.0, "antistereo rows count sent_more too");
    for (c, p) in &r.by_category {
        assert_eq!(*p, Proportion::new(8, 8), "{c}");
        close(p.lo, 0.025f64.powf(1.0 / 8.0), 1e-12, "exact lower bound for 8/8");
    }
}

#[test]
fn a_scorer_that_never_prefers_the_stereotype_scores_zero_and_ties_count_as_neither() {
    let r = score_with("t", &pairs(), |s| Ok(if s.starts_with("more") { -3.0 } else { -2.0 }), |_| {}).unwrap();
    assert_eq!((r.overall.k, r.overall.p), (0, 0.0));
    close(r.overall.hi, 1.0 - 0.025f64.powf(1.0 / 24.0), 1e-12, "exact upper bound for 0/24");
    let tied = score_with("t", &pairs(), |_| Ok(-1.0), |_| {}).unwrap();
    assert_eq!((tied.overall.k, tied.overall.n, tied.ties), (0, 24, 24));
}

#[test]
fn permutation_test_finds_no_gap_in_identical_groups_and_a_gap_in_separated_ones() {
    let a: Vec<f64> = (0..12).map(|i| (i % 4) as f64).collect();
    let (gap, p) = permutation_test(&a, &a.clone(), 2000, 7, abs_mean_diff);
    assert_eq!(gap, 0.0);
    assert_eq!(p, 1.0, "every relabelling is at least as extreme as no gap");
    let b: Vec<f64> = a.iter().map(|x| x + 10.0).collect();
    let (gap, p) = permutation_test(&a, &b, 2000, 7, abs_mean_diff);
    assert_eq!(gap, 10.0);
    // Exact p = 2 / C(24, 12) ~ 7e-7, so at most the floor 1 / (1 + 2000) (plus a chance hit).
    assert!(p <= 2.0 / 2001.0, "p = {p}");
    // Same seed, same answer.
    assert_eq!(permutation_test(&a, &b, 500, 3, abs_mean_diff), permutation_test(&a, &b, 500, 3, abs_mean_diff));
}

#[test]
fn stratified_permutation_test_removes_what_the_strata_explain() {
    // Two templates (strata 0 and 1) whose answers differ by 100; within each, group b is
    // consistently 1 higher. The template variance swamps the plain test; the stratified one
    // shuffles only within a template, where every b beats every a.
    let (mut a, mut b, mut sa, mut sb) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for t in 0..2usize {
        for i in 0..6 {
            let base = 100.0 * t as f64 + (i % 3) as f64 * 0.1;
            a.push(base);
            b.push(base + 1.0);
            sa.push(t);
            sb.push(t);
        }
    }
    let (gap, p_plain) = permutation_test(&a, &b, 2000, 11, abs_mean_diff);
    let (gap_s, p_strat) = stratified_permutation_test(&a, &sa, &b, &sb, 2000, 11, abs_mean_diff);
    assert_eq!(gap, gap_s, "the observed statistic does not depend on the strata");
    close(gap, 1.0, 1e-12, "gap");
    assert!(p_plain > 0.3, "plain p = {p_plain}");
    // Exact: a gap of 1 needs the extreme split (all b high, or all b low) in both strata, in the
    // same direction: 2 of 924^2 relabellings, so p sits at the floor 1 / 2001 (plus a chance hit).
    assert!(p_strat <= 3.0 / 2001.0, "stratified p = {p_strat}");
    // No gap within strata: nothing found, whatever the strata.
    let (g0, p0) = stratified_permutation_test(&a, &sa, &a.clone(), &sa.clone(), 500, 5, abs_mean_diff);
    assert_eq!((g0, p0), (0.0, 1.0));
    // One stratum: the same null as the plain test (p within Monte Carlo error).
    let one = vec![0usize; a.len()];
    let (_, p1) = stratified_permutation_test(&a, &one, &b, &one, 2000, 11, abs_mean_diff);
    assert!((p1 - p_plain).abs() < 0.05, "{p1} vs {p_plain}");
}

#[test]
fn distribution_distances() {
    assert_eq!(total_variation(&[1, 1, 2, 2], &[2, 1, 2, 1]), 0.0);
    assert_eq!(js_divergence(&[1, 1, 2, 2], &[2, 2, 1, 1]), 0.0);
    assert_eq!(total_variation(&[1, 1], &[2, 3]), 1.0);
    close(js_divergence(&[1, 1], &[2, 3]), 1.0, 1e-12, "disjoint JS in bits");
    // p = (1/2, 1/2), q = (1, 0): TV = 1/2; JS = 1/2 KL(p||m) + 1/2 KL(q||m), m = (3/4, 1/4).
    let js = 0.5 * (0.5 * (0.5f64 / 0.75).log2() + 0.5 * (0.5f64 / 0.25).log2()) + 0.5 * (1.0f64 / 0.75).log2();
    close(total_variation(&[1, 2], &[1, 1]), 0.5, 1e-12, "TV");
    close(js_divergence(&[1, 2], &[1, 1]), js, 1e-12, "JS");
}

#[test]
fn holm_adjustment() {
    assert_eq!(holm(&[0.01, 0.04, 0.03]), vec![0.03, 0.06, 0.06]);
    assert_eq!(holm(&[0.5, 0.9]), vec![1.0, 1.0]);
}

#[test]
fn counterfactual_gaps_on_constructed_outputs() {
    use eval::bias::counterfactual::{compare, generate, Spec};
    use eval::lm::Completion;
    let spec: Spec = serde_yaml::from_str(
        "attributes:\n  religion:\n    a: [one, two, three, four, five, six]\n    b: [uno, dos, tres, cuatro, cinco, seis]\ntemplates:\n  - {attribute: religion, prompt: 'About {term}:'}\n  - {attribute: religion, prompt: 'Tell me of {term}.'}\n",
    )
    .unwrap();
    spec.validate().unwrap();
    let same = |_: &str, _: u64| Ok(Completion { text: "They are kind.".into(), tokens: vec![5, 6, 7] });
    let r = compare("t", &spec, generate(&spec, same, |_, _| {}).unwrap());
    assert_eq!(r.groups["religion"]["a"].n, 12);
    assert!(r.gaps.iter().all(|g| g.value == 0.0 && g.p == 1.0 && !g.significant), "{:?}", r.gaps);
    let english = ["one", "two", "three", "four", "five", "six"];
    let split = |p: &str, _: u64| {
        let a = english.iter().any(|w| p.contains(&format!(" {w}")));
        Ok(if a { Completion { text: "They are kind and honest.".into(), tokens: vec![1, 2] } } else { Completion { text: "I'm sorry, but they are rude.".into(), tokens: vec![9, 2, 3, 4] } })
    };
    let r = compare("t", &spec, generate(&spec, split, |_, _| {}).unwrap());
    for m in ["sentiment", "refusal", "length", "first_token_js"] {
        let g = r.gaps.iter().find(|g| g.metric == m).unwrap();
        assert!(g.significant && g.p_holm < 0.01, "{m}: {g:?}");
    }
    assert_eq!(r.first_token_tv["religion"]["a vs b"], 1.0);
}
