//! SamplingParams defaults and validation.

use engine::sampler::{SamplerChain, SamplerError, SamplingParams};

#[test]
fn defaults_follow_llama_cpp() {
    let p = SamplingParams::default();
    assert_eq!(p.temperature, 0.8);
    assert_eq!(p.top_k, 40);
    assert_eq!(p.top_p, 0.95);
    assert_eq!(p.min_p, 0.05);
    assert_eq!(p.repeat_penalty, 1.0);
    assert_eq!(p.presence_penalty, 0.0);
    assert_eq!(p.frequency_penalty, 0.0);
    assert_eq!(p.penalty_last_n, 64);
    assert_eq!(p.seed, None);
    assert_eq!(p.max_tokens, None);
    assert!(p.stop.is_empty());
    assert!(p.validate().is_ok());
    assert!(!p.has_penalties());
}

#[test]
fn greedy_is_temperature_zero_and_valid() {
    let p = SamplingParams::greedy();
    assert_eq!(p.temperature, 0.0);
    assert!(p.validate().is_ok());
}

fn err(p: SamplingParams) -> SamplerError {
    p.validate().expect_err("params should be rejected")
}

#[test]
fn rejects_bad_temperature() {
    let d = SamplingParams::default;
    assert_eq!(
        err(SamplingParams {
            temperature: -0.1,
            ..d()
        }),
        SamplerError::Temperature(-0.1)
    );
    assert!(matches!(
        err(SamplingParams {
            temperature: f32::NAN,
            ..d()
        }),
        SamplerError::Temperature(_)
    ));
    assert!(matches!(
        err(SamplingParams {
            temperature: f32::INFINITY,
            ..d()
        }),
        SamplerError::Temperature(_)
    ));
}

#[test]
fn rejects_top_p_outside_half_open_unit_interval() {
    let d = SamplingParams::default;
    for bad in [0.0, -0.5, 1.01, f32::NAN] {
        assert!(
            matches!(
                err(SamplingParams { top_p: bad, ..d() }),
                SamplerError::TopP(_)
            ),
            "{bad}"
        );
    }
    assert!(SamplingParams { top_p: 1.0, ..d() }.validate().is_ok());
    assert!(SamplingParams { top_p: 1e-6, ..d() }.validate().is_ok());
}

#[test]
fn rejects_other_bad_fields() {
    let d = SamplingParams::default;
    assert!(matches!(
        err(SamplingParams { min_p: 1.5, ..d() }),
        SamplerError::MinP(_)
    ));
    assert!(matches!(
        err(SamplingParams {
            min_p: f32::NAN,
            ..d()
        }),
        SamplerError::MinP(_)
    ));
    assert!(matches!(
        err(SamplingParams {
            repeat_penalty: 0.0,
            ..d()
        }),
        SamplerError::RepeatPenalty(_)
    ));
    assert!(matches!(
        err(SamplingParams {
            repeat_penalty: f32::NAN,
            ..d()
        }),
        SamplerError::RepeatPenalty(_)
    ));
    assert!(matches!(
        err(SamplingParams {
            presence_penalty: f32::INFINITY,
            ..d()
        }),
        SamplerError::PresencePenalty(_)
    ));
    assert!(matches!(
        err(SamplingParams {
            frequency_penalty: f32::NAN,
            ..d()
        }),
        SamplerError::FrequencyPenalty(_)
    ));
    assert_eq!(
        err(SamplingParams {
            max_tokens: Some(0),
            ..d()
        }),
        SamplerError::MaxTokens
    );
    assert_eq!(
        err(SamplingParams {
            stop: vec!["\n".into(), String::new()],
            ..d()
        }),
        SamplerError::EmptyStop { index: 1 }
    );
    // Negative presence/frequency penalties are allowed (they encourage repetition, as in OpenAI's API).
    assert!(SamplingParams {
        presence_penalty: -1.0,
        frequency_penalty: -0.5,
        ..d()
    }
    .validate()
    .is_ok());
}

#[test]
fn messages_name_the_field_and_the_value() {
    let msg = err(SamplingParams {
        top_p: 1.5,
        ..Default::default()
    })
    .to_string();
    assert!(
        msg.contains("top_p") && msg.contains("1.5") && msg.contains("(0, 1]"),
        "{msg}"
    );
    let msg = err(SamplingParams {
        temperature: -1.0,
        ..Default::default()
    })
    .to_string();
    assert!(msg.contains("temperature") && msg.contains("-1"), "{msg}");
}

#[test]
fn chain_construction_validates() {
    let bad = SamplingParams {
        temperature: -1.0,
        ..Default::default()
    };
    assert!(matches!(
        SamplerChain::new(&bad, 10),
        Err(SamplerError::Temperature(_))
    ));
    assert!(matches!(
        SamplerChain::new(&SamplingParams::default(), 0),
        Err(SamplerError::EmptyVocab)
    ));
}
