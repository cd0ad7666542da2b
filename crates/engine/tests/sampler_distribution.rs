//! Empirical frequencies over many seeded draws match the intended distribution.

use engine::sampler::{SamplerChain, SamplingParams};

const DRAWS: usize = 20_000;
const LOGITS: [f32; 4] = [1.0, 0.5, 0.0, -1.0];

fn softmax(l: &[f64]) -> Vec<f64> {
    let m = l.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = l.iter().map(|x| (x - m).exp()).collect();
    let z: f64 = e.iter().sum();
    e.iter().map(|x| x / z).collect()
}

fn frequencies(params: SamplingParams) -> Vec<f64> {
    let mut chain = SamplerChain::new(&params, LOGITS.len()).unwrap();
    let mut counts = [0usize; 4];
    for _ in 0..DRAWS {
        counts[chain.sample(&LOGITS).unwrap() as usize] += 1;
    }
    counts.iter().map(|&c| c as f64 / DRAWS as f64).collect()
}

fn plain(t: f32, seed: u64) -> SamplingParams {
    SamplingParams {
        temperature: t,
        top_k: 0,
        top_p: 1.0,
        min_p: 0.0,
        seed: Some(seed),
        ..Default::default()
    }
}

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() < 0.02,
            "{what}: token {i} drawn {g:.4}, expected {w:.4} (all: {got:?} vs {want:?})"
        );
    }
}

#[test]
fn temperature_shapes_the_empirical_distribution() {
    for (t, seed) in [(1.0f32, 11u64), (0.5, 12), (2.0, 13)] {
        let want = softmax(&LOGITS.map(|l| l as f64 / t as f64));
        assert_close(&frequencies(plain(t, seed)), &want, &format!("T={t}"));
    }
    // And the temperatures really differ: T=0.5 puts clearly more mass on the top token than T=2.
    let sharp = frequencies(plain(0.5, 14));
    let flat = frequencies(plain(2.0, 14));
    assert!(sharp[0] > flat[0] + 0.2, "{sharp:?} vs {flat:?}");
}

#[test]
fn top_k_renormalises_over_the_kept_tokens() {
    let p = SamplingParams {
        top_k: 2,
        ..plain(1.0, 21)
    };
    let mut want = softmax(&[1.0, 0.5]);
    want.extend([0.0, 0.0]);
    assert_close(&frequencies(p), &want, "top_k=2");
}

#[test]
fn top_p_and_min_p_cut_the_tail() {
    // probs at T=1: 0.4629, 0.2808, 0.1703, 0.0860
    let p = SamplingParams {
        top_p: 0.7,
        ..plain(1.0, 31)
    }; // keeps tokens 0, 1 (0.7437 >= 0.7)
    let mut want = softmax(&[1.0, 0.5]);
    want.extend([0.0, 0.0]);
    assert_close(&frequencies(p), &want, "top_p=0.7");
    let p = SamplingParams {
        min_p: 0.3,
        ..plain(1.0, 32)
    }; // keeps p >= 0.139: tokens 0, 1, 2
    let mut want = softmax(&[1.0, 0.5, 0.0]);
    want.push(0.0);
    assert_close(&frequencies(p), &want, "min_p=0.3");
}
