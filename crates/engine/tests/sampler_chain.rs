//! The assembled chain: order, determinism, greedy behaviour, error cases.

use engine::sampler::rng::Xoshiro256;
use engine::sampler::{Greedy, SamplerChain, SamplerError, SamplerStage, SamplingParams, TopK};

const VOCAB: usize = 5_000;

fn random_logits(seed: u64, n: usize) -> Vec<f32> {
    let mut r = Xoshiro256::seed_from_u64(seed);
    (0..n).map(|_| (r.next_f64() * 10.0 - 5.0) as f32).collect()
}

/// A run of `steps` tokens, each from a fresh random row, accepting what was sampled.
fn run(params: &SamplingParams, steps: usize) -> Vec<u32> {
    let mut chain = SamplerChain::new(params, VOCAB).unwrap();
    (0..steps as u64)
        .map(|i| {
            let id = chain.sample(&random_logits(1000 + i, VOCAB)).unwrap();
            chain.accept(id);
            id
        })
        .collect()
}

fn argmax(xs: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in xs.iter().enumerate() {
        if x > xs[best] {
            best = i;
        }
    }
    best as u32
}

fn flat_params(seed: u64) -> SamplingParams {
    // Wide enough that every step has many plausible tokens.
    SamplingParams {
        seed: Some(seed),
        temperature: 1.5,
        top_k: 0,
        top_p: 1.0,
        min_p: 0.0,
        ..Default::default()
    }
}

#[test]
fn same_seed_same_sequence() {
    let a = run(&flat_params(7), 200);
    let b = run(&flat_params(7), 200);
    assert_eq!(a, b);
    let d = SamplingParams {
        seed: Some(7),
        repeat_penalty: 1.3,
        ..Default::default()
    };
    assert_eq!(run(&d, 100), run(&d, 100));
}

#[test]
fn different_seeds_differ() {
    let a = run(&flat_params(7), 200);
    let b = run(&flat_params(8), 200);
    let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
    assert!(same < 20, "{same} of 200 tokens equal across seeds");
}

#[test]
fn pinned_sequence_for_seed_42() {
    // Guards the RNG stream and draw order: any change here changes every user's seeded output.
    let logits = [1.0f32, 2.0, 0.5, 1.5, -1.0, 0.0];
    let p = SamplingParams {
        seed: Some(42),
        temperature: 1.0,
        top_k: 0,
        top_p: 1.0,
        min_p: 0.0,
        ..Default::default()
    };
    let mut chain = SamplerChain::new(&p, logits.len()).unwrap();
    let got: Vec<u32> = (0..16).map(|_| chain.sample(&logits).unwrap()).collect();
    chain.reset();
    let again: Vec<u32> = (0..16).map(|_| chain.sample(&logits).unwrap()).collect();
    assert_eq!(got, again, "reset must replay the stream");
    assert_eq!(got, PINNED_42, "seeded stream changed");
}
// Checked against an independent Python transcription (splitmix64 -> xoshiro256**, 53-bit
// uniform, inverse-CDF walk over the f64 softmax).
const PINNED_42: [u32; 16] = [0, 1, 3, 4, 5, 3, 3, 3, 3, 2, 3, 1, 3, 1, 3, 3];

#[test]
fn greedy_is_argmax() {
    let mut chain = SamplerChain::new(&SamplingParams::greedy(), VOCAB).unwrap();
    assert_eq!(chain.stage_names(), ["greedy"]);
    for s in 0..50 {
        let l = random_logits(s, VOCAB);
        assert_eq!(chain.sample(&l).unwrap(), argmax(&l));
    }
}

#[test]
fn greedy_ties_go_to_lowest_id() {
    let mut chain = SamplerChain::new(&SamplingParams::greedy(), 8).unwrap();
    let l = [0.0, 3.0, 1.0, 3.0, -0.0, 3.0, 2.0, 3.0];
    assert_eq!(chain.sample(&l).unwrap(), 1);
    let z = [-0.0f32, 0.0, -0.0, 0.0, -1.0, -2.0, -3.0, -4.0];
    assert_eq!(chain.sample(&z).unwrap(), 0, "-0.0 and 0.0 are a tie");
}

#[test]
fn top_k_1_equals_greedy() {
    for seed in 0..5 {
        let p = SamplingParams {
            seed: Some(seed),
            top_k: 1,
            temperature: 1.7,
            ..Default::default()
        };
        let mut chain = SamplerChain::new(&p, VOCAB).unwrap();
        for s in 0..30 {
            let l = random_logits(s * 31 + seed, VOCAB);
            assert_eq!(chain.sample(&l).unwrap(), argmax(&l));
        }
    }
}

#[test]
fn tiny_top_p_gives_argmax() {
    let p = SamplingParams {
        seed: Some(3),
        top_k: 0,
        top_p: 1e-6,
        min_p: 0.0,
        temperature: 2.0,
        ..Default::default()
    };
    let mut chain = SamplerChain::new(&p, VOCAB).unwrap();
    for s in 0..30 {
        let l = random_logits(s + 500, VOCAB);
        assert_eq!(chain.sample(&l).unwrap(), argmax(&l));
        assert_eq!(chain.candidates().len(), 1);
    }
}

#[test]
fn stage_order_matches_llama_cpp_and_skips_disabled() {
    let all = SamplingParams {
        repeat_penalty: 1.1,
        temperature: 0.7,
        seed: Some(1),
        ..Default::default()
    };
    let chain = SamplerChain::new(&all, VOCAB).unwrap();
    assert_eq!(
        chain.stage_names(),
        [
            "penalties",
            "top_k",
            "top_p",
            "min_p",
            "temperature",
            "dist"
        ]
    );
    let greedy = SamplingParams {
        repeat_penalty: 1.1,
        ..SamplingParams::greedy()
    };
    assert_eq!(
        SamplerChain::new(&greedy, VOCAB).unwrap().stage_names(),
        ["penalties", "greedy"]
    );
    let plain = SamplingParams {
        top_k: 0,
        top_p: 1.0,
        min_p: 0.0,
        temperature: 1.0,
        ..Default::default()
    };
    assert_eq!(
        SamplerChain::new(&plain, VOCAB).unwrap().stage_names(),
        ["dist"]
    );
    let big_k = SamplingParams {
        top_k: VOCAB,
        ..plain
    };
    assert_eq!(
        SamplerChain::new(&big_k, VOCAB).unwrap().stage_names(),
        ["dist"]
    );
}

#[test]
fn seed_is_reported_and_none_draws_fresh_ones() {
    let p = SamplingParams {
        seed: Some(99),
        ..Default::default()
    };
    assert_eq!(SamplerChain::new(&p, 10).unwrap().seed(), 99);
    let a = SamplerChain::new(&SamplingParams::default(), 10)
        .unwrap()
        .seed();
    let b = SamplerChain::new(&SamplingParams::default(), 10)
        .unwrap()
        .seed();
    assert_ne!(a, b);
}

#[test]
fn wrong_logits_length_is_an_error() {
    let mut chain = SamplerChain::new(&SamplingParams::greedy(), 10).unwrap();
    assert_eq!(
        chain.sample(&[0.0; 9]),
        Err(SamplerError::LogitsLength {
            expected: 10,
            got: 9
        })
    );
    assert_eq!(
        chain.sample(&[]),
        Err(SamplerError::LogitsLength {
            expected: 10,
            got: 0
        })
    );
}

#[test]
fn nan_logits_are_never_picked_and_all_nan_is_an_error() {
    let mut l = vec![f32::NAN; 6];
    l[4] = -3.0;
    for p in [
        SamplingParams::greedy(),
        SamplingParams {
            seed: Some(1),
            ..Default::default()
        },
    ] {
        let mut chain = SamplerChain::new(&p, 6).unwrap();
        for _ in 0..20 {
            assert_eq!(chain.sample(&l).unwrap(), 4);
        }
        assert_eq!(
            chain.sample(&[f32::NAN; 6]),
            Err(SamplerError::NoFiniteLogits)
        );
        assert_eq!(
            chain.sample(&[f32::NEG_INFINITY; 6]),
            Err(SamplerError::NoFiniteLogits)
        );
    }
}

#[test]
fn infinite_logit_wins() {
    let l = [0.0, f32::INFINITY, 5.0, 1.0];
    let p = SamplingParams {
        seed: Some(5),
        temperature: 1e-30,
        top_k: 0,
        top_p: 1.0,
        min_p: 0.0,
        ..Default::default()
    };
    let mut chain = SamplerChain::new(&p, 4).unwrap();
    for _ in 0..10 {
        assert_eq!(chain.sample(&l).unwrap(), 1);
    }
}

#[test]
fn tiny_temperature_acts_like_greedy_without_nans() {
    let p = SamplingParams {
        seed: Some(5),
        temperature: 1e-30,
        ..Default::default()
    };
    let mut chain = SamplerChain::new(&p, VOCAB).unwrap();
    for s in 0..10 {
        let l = random_logits(s + 77, VOCAB);
        assert_eq!(chain.sample(&l).unwrap(), argmax(&l));
    }
}

#[test]
fn dist_exposes_the_probabilities_it_drew_from() {
    let p = SamplingParams {
        seed: Some(2),
        top_k: 3,
        top_p: 1.0,
        min_p: 0.0,
        temperature: 1.0,
        ..Default::default()
    };
    let mut chain = SamplerChain::new(&p, 5).unwrap();
    let id = chain.sample(&[0.0, 3.0, 1.0, 2.0, -1.0]).unwrap();
    let c = chain.candidates();
    assert_eq!(c.ids, [1, 3, 2]);
    assert_eq!(c.selected_id(), Some(id));
    let probs = c.probs.as_ref().expect("dist fills probs");
    let z: f32 = [3.0f32, 2.0, 1.0].iter().map(|x| x.exp()).sum();
    for (p, l) in probs.iter().zip([3.0f32, 2.0, 1.0]) {
        assert!((p - l.exp() / z).abs() < 1e-6);
    }
}

#[test]
fn custom_chain_without_a_picker_reports_no_selection() {
    let stages: Vec<Box<dyn SamplerStage>> = vec![Box::new(TopK { k: 2 })];
    let mut chain = SamplerChain::from_stages(stages, 4).unwrap();
    assert_eq!(
        chain.sample(&[1.0, 2.0, 3.0, 4.0]),
        Err(SamplerError::NoSelection)
    );
    let stages: Vec<Box<dyn SamplerStage>> = vec![Box::new(TopK { k: 2 }), Box::new(Greedy)];
    let mut chain = SamplerChain::from_stages(stages, 4).unwrap();
    assert_eq!(chain.sample(&[1.0, 2.0, 3.0, 4.0]), Ok(3));
}

#[test]
fn fast_paths_match_the_plain_chain() {
    // Same params with and without a no-op penalty stage (which disables the fused fills).
    let noop_pen = |p: SamplingParams| SamplingParams {
        presence_penalty: 1e-30,
        ..p
    };
    for base in [
        SamplingParams::greedy(),
        SamplingParams {
            seed: Some(4),
            ..Default::default()
        },
        SamplingParams {
            seed: Some(5),
            top_k: 3,
            min_p: 0.0,
            temperature: 1.3,
            ..Default::default()
        },
    ] {
        let mut fast = SamplerChain::new(&base, VOCAB).unwrap();
        let mut slow = SamplerChain::new(&noop_pen(base.clone()), VOCAB).unwrap();
        assert_eq!(slow.stage_names()[0], "penalties");
        for s in 0..40 {
            let mut l = random_logits(s + 900, VOCAB);
            l[(s as usize * 7) % VOCAB] = f32::NAN;
            let a = fast.sample(&l).unwrap();
            let b = slow.sample(&l).unwrap();
            assert_eq!(a, b, "step {s} with {base:?}");
            fast.accept(a);
            slow.accept(b);
        }
    }
}

#[test]
fn penalties_steer_greedy_away_from_repeats() {
    let p = SamplingParams {
        repeat_penalty: 2.0,
        penalty_last_n: 2,
        ..SamplingParams::greedy()
    };
    let mut chain = SamplerChain::new(&p, 3).unwrap();
    let l = [3.0, 2.0, 1.0];
    assert_eq!(chain.sample(&l).unwrap(), 0);
    chain.accept(0); // 0 -> 1.5
    assert_eq!(chain.sample(&l).unwrap(), 1);
    chain.accept(1); // 1 -> 1.0, 0 still 1.5
    assert_eq!(chain.sample(&l).unwrap(), 0);
    chain.accept(2);
    chain.accept(2); // window [2, 2]: 0 and 1 are free again
    assert_eq!(chain.sample(&l).unwrap(), 0);
    chain.reset();
    assert_eq!(chain.sample(&l).unwrap(), 0);
}
