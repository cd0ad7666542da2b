//! Each stage on its own, against hand-computed or brute-force expectations.

use engine::sampler::rng::Xoshiro256;
use engine::sampler::{
    Candidates, Dist, Greedy, MinP, Penalties, SamplerStage, Temperature, TopK, TopP,
};

fn filled(logits: &[f32]) -> Candidates {
    let mut c = Candidates::new();
    c.fill_from(logits);
    c
}

/// Logits on a coarse grid so there are many ties.
fn tied_logits(seed: u64, n: usize) -> Vec<f32> {
    let mut r = Xoshiro256::seed_from_u64(seed);
    (0..n)
        .map(|_| ((r.next_f64() * 40.0).floor() * 0.25 - 5.0) as f32)
        .collect()
}

/// Reference ranking: logit descending, id ascending.
fn ranked(logits: &[f32]) -> Vec<(u32, f32)> {
    let mut v: Vec<(u32, f32)> = logits
        .iter()
        .enumerate()
        .map(|(i, &l)| (i as u32, l))
        .collect();
    v.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap().then(a.0.cmp(&b.0)));
    v
}

fn pairs(c: &Candidates) -> Vec<(u32, f32)> {
    c.ids
        .iter()
        .copied()
        .zip(c.logits.iter().copied())
        .collect()
}

#[test]
fn top_k_matches_full_sort_with_ties() {
    for (seed, n) in [(1u64, 5_000usize), (2, 1_000), (3, 70_000)] {
        let l = tied_logits(seed, n);
        let want = ranked(&l);
        for k in [1, 2, 40, 100, 1_000, n - 1, n, n + 5] {
            let mut c = filled(&l);
            TopK { k }.apply(&mut c);
            let keep = k.min(n);
            assert_eq!(pairs(&c), want[..keep], "n={n} k={k}");
            assert!(c.is_sorted());
        }
    }
}

#[test]
fn top_k_zero_is_off() {
    let l = [1.0, 3.0, 2.0];
    let mut c = filled(&l);
    TopK { k: 0 }.apply(&mut c);
    assert_eq!(c.ids, [0, 1, 2]);
}

#[test]
fn top_k_on_already_filtered_candidates() {
    let l = tied_logits(9, 3_000);
    let mut c = filled(&l);
    MinP { p: 0.01 }.apply(&mut c); // leaves an unsorted subset
    let subset = pairs(&c);
    TopK { k: 25 }.apply(&mut c);
    let mut want = subset;
    want.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap().then(a.0.cmp(&b.0)));
    assert_eq!(pairs(&c), want[..25]);
}

fn ln_probs(p: &[f64]) -> Vec<f32> {
    p.iter().map(|x| x.ln() as f32).collect()
}

#[test]
fn top_p_hand_example() {
    // ids 0..4 have probs 0.5, 0.3, 0.15, 0.05, given in shuffled order.
    let l = ln_probs(&[0.5, 0.3, 0.15, 0.05]);
    for (p, want) in [
        (0.4, vec![0]),
        (0.75, vec![0, 1]),
        (0.85, vec![0, 1, 2]),
        (0.99, vec![0, 1, 2, 3]),
    ] {
        let mut c = Candidates::new();
        c.fill_from(&l);
        // shuffle positions: [2, 0, 3, 1]
        c.ids = vec![2, 0, 3, 1];
        c.logits = c.ids.iter().map(|&i| l[i as usize]).collect();
        c.mark_unsorted();
        TopP { p }.apply(&mut c);
        assert_eq!(c.ids, want, "p={p}");
    }
}

/// Brute force: sort everything, keep the shortest prefix with mass >= p.
fn top_p_reference(logits: &[f32], p: f64) -> Vec<u32> {
    let r = ranked(logits);
    let max = r[0].1 as f64;
    let z: f64 = r.iter().map(|x| (x.1 as f64 - max).exp()).sum();
    let mut cum = 0.0;
    let mut out = Vec::new();
    for (id, l) in r {
        out.push(id);
        cum += (l as f64 - max).exp() / z;
        if cum >= p {
            break;
        }
    }
    out
}

#[test]
fn top_p_on_large_flat_vocab_matches_brute_force() {
    // Flat rows force the growing-slice path past its first slices.
    for (seed, p) in [(4u64, 0.9f32), (5, 0.5), (6, 0.05), (7, 0.999)] {
        let mut r = Xoshiro256::seed_from_u64(seed);
        let l: Vec<f32> = (0..20_000).map(|_| (r.next_f64() * 6.0) as f32).collect();
        let want = top_p_reference(&l, p as f64);
        let mut c = filled(&l);
        TopP { p }.apply(&mut c);
        // f32 vs f64 accumulation may move the cut by a token at most.
        let n = want.len().min(c.len());
        assert!(
            c.len().abs_diff(want.len()) <= 1,
            "p={p}: {} vs {}",
            c.len(),
            want.len()
        );
        assert_eq!(c.ids[..n], want[..n], "p={p}");
    }
}

#[test]
fn top_p_one_is_off() {
    let mut c = filled(&[1.0, 2.0, 3.0]);
    TopP { p: 1.0 }.apply(&mut c);
    assert_eq!(c.len(), 3);
}

#[test]
fn min_p_filters_relative_to_best_and_keeps_order() {
    let l = ln_probs(&[0.15, 0.5, 0.05, 0.3]);
    let mut c = filled(&l);
    MinP { p: 0.2 }.apply(&mut c); // keep p >= 0.1
    assert_eq!(c.ids, [0, 1, 3]);
    let mut c = filled(&l);
    MinP { p: 0.5 }.apply(&mut c); // keep p >= 0.25
    assert_eq!(c.ids, [1, 3]);
    let mut c = filled(&l);
    MinP { p: 1.0 }.apply(&mut c);
    assert_eq!(c.ids, [1]);
    let mut c = filled(&l);
    MinP { p: 0.0 }.apply(&mut c);
    assert_eq!(c.len(), 4);
}

#[test]
fn temperature_scales_logits() {
    let mut c = filled(&[2.0, -4.0, 0.0]);
    Temperature { t: 0.5 }.apply(&mut c);
    assert_eq!(c.logits, [4.0, -8.0, 0.0]);
    let mut c = filled(&[2.0, -4.0, 0.0]);
    Temperature { t: 2.0 }.apply(&mut c);
    assert_eq!(c.logits, [1.0, -2.0, 0.0]);
    let mut c = filled(&[2.0, -4.0, 7.0]);
    Temperature { t: 0.0 }.apply(&mut c);
    assert_eq!(pairs(&c), [(2, 7.0)]);
}

#[test]
fn penalties_hand_computed() {
    // window (last_n = 8) holds 1, 2, 2, 4; repeat 1.5, frequency 0.25, presence 0.5.
    let l = [1.0, 3.0, -2.0, 0.5, 0.0, 6.0];
    let want = [
        1.0,                    // unseen
        3.0 / 1.5 - 0.25 - 0.5, // seen once, positive: divided
        -2.0 * 1.5 - 0.5 - 0.5, // seen twice, negative: multiplied, 2 * frequency
        0.5,                    // unseen
        0.0 * 1.5 - 0.25 - 0.5, // zero counts as non-positive
        6.0,                    // unseen
    ];
    let mut pen = Penalties::new(8, 1.5, 0.25, 0.5);
    for t in [1, 2, 2, 4] {
        pen.accept(t);
    }
    assert_eq!(pen.counts(), [(1, 1), (2, 2), (4, 1)]);
    let mut c = filled(&l);
    pen.apply(&mut c);
    assert_eq!(c.logits, want);

    // Same result when candidates are no longer indexed by id (sorted, then penalised).
    let mut c = filled(&l);
    TopK { k: 6 }.apply(&mut c);
    pen.apply(&mut c);
    let mut by_id = vec![0.0; 6];
    for (&id, &x) in c.ids.iter().zip(&c.logits) {
        by_id[id as usize] = x;
    }
    assert_eq!(by_id, want);
    assert!(!c.is_sorted(), "penalties must drop the sorted flag");
}

#[test]
fn penalties_window_slides_and_resets() {
    let mut pen = Penalties::new(3, 2.0, 0.0, 0.0);
    for t in [7, 1, 2, 2, 4] {
        pen.accept(t);
    }
    assert_eq!(pen.counts(), [(2, 2), (4, 1)]); // window [2, 2, 4]
    pen.reset();
    assert!(pen.counts().is_empty());
    let mut off = Penalties::new(0, 2.0, 0.0, 0.0);
    off.accept(1);
    let mut c = filled(&[1.0, 1.0]);
    off.apply(&mut c);
    assert_eq!(c.logits, [1.0, 1.0]);
}

#[test]
fn penalised_token_outside_candidates_is_ignored() {
    let mut pen = Penalties::new(4, 2.0, 1.0, 1.0);
    pen.accept(1_000_000);
    let mut c = filled(&[1.0, 2.0]);
    pen.apply(&mut c);
    assert_eq!(c.logits, [1.0, 2.0]);
}

#[test]
fn greedy_and_dist_pick_from_remaining() {
    let mut c = filled(&[0.5, 9.0, 9.0, 1.0]);
    Greedy.apply(&mut c);
    assert_eq!(c.selected_id(), Some(1));
    let mut c = filled(&[0.5, 9.0, 9.0, 1.0]);
    c.keep_only(3);
    let mut d = Dist::new(1);
    d.apply(&mut c);
    assert_eq!(c.selected_id(), Some(3));
    assert_eq!(c.probs.as_deref(), Some(&[1.0f32][..]));
}

#[test]
fn candidate_buffers_are_reused_across_steps() {
    let l = tied_logits(11, 50_000);
    let mut c = Candidates::new();
    let mut stages: Vec<Box<dyn SamplerStage>> = vec![
        Box::new(TopK { k: 40 }),
        Box::new(TopP { p: 0.9 }),
        Box::new(Dist::new(3)),
    ];
    c.fill_from(&l);
    stages.iter_mut().for_each(|s| s.apply(&mut c));
    let (ids_ptr, logits_ptr) = (c.ids.as_ptr(), c.logits.as_ptr());
    let probs_ptr = c.probs.as_ref().unwrap().as_ptr();
    for _ in 0..5 {
        c.fill_from(&l);
        stages.iter_mut().for_each(|s| s.apply(&mut c));
        assert_eq!(c.ids.as_ptr(), ids_ptr);
        assert_eq!(c.logits.as_ptr(), logits_ptr);
        assert_eq!(c.probs.as_ref().unwrap().as_ptr(), probs_ptr);
    }
}

#[test]
fn top_k_ties_go_to_lowest_id_whatever_the_order() {
    // Reversed ids with all logits equal: the streaming buffer sees the highest ids first.
    let n = 1_000u32;
    let mut c = Candidates::new();
    c.fill_from(&vec![0.5; n as usize]);
    c.ids = (0..n).rev().collect();
    c.mark_unsorted();
    TopK { k: 10 }.apply(&mut c);
    assert_eq!(c.ids, (0..10).collect::<Vec<u32>>());
}

/// Rows with ties, NaNs, infinities and signed zeros.
fn nasty_logits(seed: u64, n: usize) -> Vec<f32> {
    let mut l = tied_logits(seed, n);
    let mut r = Xoshiro256::seed_from_u64(seed ^ 0xABCD);
    for _ in 0..n / 50 + 1 {
        let i = (r.next_u64() % n as u64) as usize;
        l[i] = match r.next_u64() % 4 {
            0 => f32::NAN,
            1 => f32::NEG_INFINITY,
            2 => -0.0,
            _ => 0.0,
        };
    }
    l
}

#[test]
fn fused_fills_equal_fill_then_stage() {
    for (seed, n) in [(1u64, 10usize), (2, 300), (3, 20_000)] {
        for l in [
            nasty_logits(seed, n),
            vec![f32::NAN; n],
            vec![f32::NEG_INFINITY; n],
        ] {
            for k in [1, 5, 40, n - 1, n, n + 3] {
                let mut a = filled(&l);
                a.retain_top_k(k);
                let mut b = Candidates::new();
                b.fill_top_k_from(&l, k);
                assert_eq!(pairs(&a), pairs(&b), "n={n} k={k}");
            }
            let mut a = filled(&l);
            Greedy.apply(&mut a);
            let want = a.selected_id();
            let mut b = Candidates::new();
            b.fill_argmax_from(&l);
            assert_eq!(b.selected_id(), want, "argmax n={n}");
            assert_eq!(b.len(), 1);
        }
    }
}
