//! RoPE scaling schemes read from a config: per-frequency divisors for `Rope::freq_factors`.
//! Supported: none/"default", "linear" (positions divided by `factor`), Llama 3's "llama3", and
//! Phi-3's "longrope" ([`LongRope`], which the architecture must ask for: its factors depend on the
//! context the model is loaded for). Anything else (yarn, dynamic...) is refused with a clear error
//! rather than silently computing a different function.

use weights::gguf::Metadata;
use weights::hf::HfConfig;
use weights::names::{tn, TensorName as T};

use super::vector;
use crate::{ModelError, WeightSource};

/// Divisors of each inverse frequency (`dim / 2` values) for a Hugging Face config, None when unscaled.
pub fn hf_freq_factors(c: &HfConfig, dim: usize, base: f32) -> Result<Option<Vec<f32>>, ModelError> {
    let Some(rs) = c.rope_scaling.as_ref() else { return Ok(None) };
    let kind = rs.rope_type.as_deref().unwrap_or("default");
    match kind {
        "default" => Ok(None),
        "linear" => Ok(Some(vec![factor(rs.factor, kind)?; dim / 2])),
        "llama3" => {
            let factor = rs.factor.unwrap_or(8.0);
            let (low, high) = (rs.low_freq_factor.unwrap_or(1.0), rs.high_freq_factor.unwrap_or(4.0));
            let old_ctx = rs.original_max_position_embeddings.unwrap_or(8192) as f64;
            Ok(Some(llama3_factors(dim, base, factor, low, high, old_ctx)))
        }
        // Built by `LongRope::load` for the architectures that support it; `refuse_longrope` guards the rest.
        "longrope" | "su" => Ok(None),
        other => Err(unsupported(other)),
    }
}

/// Phi-3 long-context RoPE (Phi-3-mini-128k, Phi-3.5; "su" is its old name): one set of per-frequency
/// divisors for contexts up to the pretraining context, another beyond it, and a scale on cos/sin.
///
/// Which set applies is decided once, when the model is loaded, from the context it will run at: the
/// long factors when that context exceeds the original one, as llama.cpp does (it first rounds the
/// context up to a multiple of 256, which changes nothing for the 4096 of the Phi-3 models). transformers instead
/// switches per call on the sequence length, which a KV cache cannot follow: keys cached with the
/// short factors would be mixed with queries rotated by the long ones once a sequence grows past
/// the boundary (and sequences batched together would need different tables).
#[derive(Clone, Debug, PartialEq)]
pub struct LongRope {
    pub short: Vec<f32>, // [rot_dim / 2]
    pub long: Vec<f32>,  // [rot_dim / 2]
    /// The pretraining context; a larger context takes the long factors.
    pub original_ctx: usize,
    /// Multiplies cos and sin whichever set is used.
    pub attn_factor: f32,
}

impl LongRope {
    /// The long-rope parameters of a Hugging Face config or of a GGUF converted by llama.cpp
    /// (`rope_factors_long/short.weight`, `{arch}.rope.scaling.attn_factor` and
    /// `.original_context_length`); None when the model has none.
    pub fn load(src: &WeightSource, arch: &str, dim: usize, n_ctx_train: usize) -> Result<Option<Self>, ModelError> {
        match src {
            WeightSource::Hf(h) => Self::from_hf(&h.config, dim),
            WeightSource::Gguf(g) => {
                if !src.has_tensor(&tn(T::RopeFactorsLong, None)) {
                    return Ok(None);
                }
                let m = g.metadata();
                Ok(Some(Self {
                    long: vector(&src.tensor(&tn(T::RopeFactorsLong, None))?, dim / 2)?,
                    short: vector(&src.tensor(&tn(T::RopeFactorsShort, None))?, dim / 2)?,
                    // llama.cpp's defaults when the keys are absent.
                    original_ctx: m.opt_u32(&format!("{arch}.rope.scaling.original_context_length")).map_or(n_ctx_train, |v| v as usize),
                    attn_factor: m.opt_f32(&format!("{arch}.rope.scaling.attn_factor")).unwrap_or(1.0),
                }))
            }
        }
    }

    pub fn from_hf(c: &HfConfig, dim: usize) -> Result<Option<Self>, ModelError> {
        let Some(rs) = c.rope_scaling.as_ref().filter(|rs| is_longrope(rs.rope_type.as_deref())) else { return Ok(None) };
        let list = |v: &Option<Vec<f64>>, key: &str| -> Result<Vec<f32>, ModelError> {
            match v {
                Some(v) if v.len() == dim / 2 && v.iter().all(|&f| f > 0.0) => Ok(v.iter().map(|&f| f as f32).collect()),
                Some(v) => Err(ModelError::Config(format!(
                    "rope_scaling.{key} has {} values; longrope needs {} positive ones (half the rotary dimension)",
                    v.len(),
                    dim / 2
                ))),
                None => Err(ModelError::Config(format!("rope_scaling of type longrope has no '{key}'"))),
            }
        };
        let original_ctx = rs
            .original_max_position_embeddings
            .or(c.original_max_position_embeddings)
            .filter(|&n| n > 1)
            .ok_or_else(|| ModelError::Config("longrope scaling needs 'original_max_position_embeddings' (the pretraining context)".into()))?;
        // As transformers: an explicit attention_factor, else one from the context extension factor.
        let attn_factor = match rs.attention_factor {
            Some(a) => a,
            None => {
                let factor = rs.factor.unwrap_or(c.max_position_embeddings.unwrap_or(original_ctx) as f64 / original_ctx as f64);
                if factor <= 1.0 { 1.0 } else { (1.0 + factor.ln() / (original_ctx as f64).ln()).sqrt() }
            }
        };
        Ok(Some(Self { short: list(&rs.short_factor, "short_factor")?, long: list(&rs.long_factor, "long_factor")?, original_ctx, attn_factor: attn_factor as f32 }))
    }

    /// The divisors for a model that will run sequences of up to `n_ctx` tokens.
    pub fn factors_for(&self, n_ctx: usize) -> &[f32] {
        if n_ctx > self.original_ctx { &self.long } else { &self.short }
    }
}

fn is_longrope(kind: Option<&str>) -> bool {
    matches!(kind, Some("longrope" | "su"))
}

/// For architectures without long-rope support: a clear error instead of running with plain RoPE.
pub fn refuse_longrope(src: &WeightSource, arch: &str) -> Result<(), ModelError> {
    let has = match src {
        WeightSource::Hf(h) => is_longrope(h.config.rope_scaling.as_ref().and_then(|r| r.rope_type.as_deref())),
        WeightSource::Gguf(_) => src.has_tensor(&tn(T::RopeFactorsLong, None)),
    };
    match has {
        true => Err(ModelError::Config(format!("long-rope ('longrope') RoPE scaling is supported for phi3 models only, not for {arch}"))),
        false => Ok(()),
    }
}

/// The same for a GGUF file: `{arch}.rope.scaling.type` ("none" / "linear"); Llama 3 factors come
/// as the `rope_freqs.weight` tensor instead.
pub fn gguf_freq_factors(m: &Metadata, arch: &str, dim: usize) -> Result<Option<Vec<f32>>, ModelError> {
    let Some(kind) = m.opt_str(&format!("{arch}.rope.scaling.type")) else { return Ok(None) };
    match kind {
        "none" | "" => Ok(None),
        "linear" => Ok(Some(vec![factor(m.opt_f32(&format!("{arch}.rope.scaling.factor")).map(f64::from), kind)?; dim / 2])),
        other => Err(unsupported(other)),
    }
}

fn factor(f: Option<f64>, kind: &str) -> Result<f32, ModelError> {
    match f {
        Some(f) if f > 0.0 => Ok(f as f32),
        _ => Err(ModelError::Config(format!("rope scaling '{kind}' needs a positive 'factor'"))),
    }
}

fn unsupported(kind: &str) -> ModelError {
    ModelError::Config(format!(
        "rope scaling type '{kind}' is not supported (supported: default, linear, llama3, and longrope for phi3); \
         remove 'rope_scaling' from config.json to run with plain RoPE at the original context length"
    ))
}

/// Llama 3: long wavelengths are divided by `factor`, short ones kept, and the band between
/// blended smoothly.
fn llama3_factors(dim: usize, base: f32, factor: f64, low: f64, high: f64, old_ctx: f64) -> Vec<f32> {
    let (low_wavelen, high_wavelen) = (old_ctx / low, old_ctx / high);
    (0..dim / 2)
        .map(|i| {
            let inv_freq = (base as f64).powf(-2.0 * i as f64 / dim as f64);
            let wavelen = 2.0 * std::f64::consts::PI / inv_freq;
            if wavelen < high_wavelen {
                1.0
            } else if wavelen > low_wavelen {
                factor as f32
            } else {
                let smooth = (old_ctx / wavelen - low) / (high - low);
                (1.0 / ((1.0 - smooth) / factor + smooth)) as f32
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_scaling_is_a_clear_error() {
        let c = HfConfig::from_json_str(r#"{"model_type":"llama","rope_scaling":{"rope_type":"yarn","factor":4.0}}"#).unwrap();
        let e = hf_freq_factors(&c, 16, 10000.0).unwrap_err().to_string();
        assert!(e.contains("'yarn' is not supported") && e.contains("llama3"), "{e}");
    }

    #[test]
    fn longrope_reads_both_lists_and_picks_by_context() {
        let c = HfConfig::from_json_str(
            r#"{"model_type":"phi3","max_position_embeddings":256,"original_max_position_embeddings":16,
                "rope_scaling":{"type":"longrope","short_factor":[1.0,2.0],"long_factor":[3.0,4.0]}}"#,
        )
        .unwrap();
        assert_eq!(hf_freq_factors(&c, 4, 10000.0).unwrap(), None);
        let lr = LongRope::from_hf(&c, 4).unwrap().unwrap();
        assert_eq!((lr.factors_for(16), lr.factors_for(17)), (&[1.0f32, 2.0][..], &[3.0f32, 4.0][..]));
        // 256 / 16: sqrt(1 + ln 16 / ln 16)
        assert!((lr.attn_factor - 2f32.sqrt()).abs() < 1e-6, "{}", lr.attn_factor);
        let e = LongRope::from_hf(&c, 8).unwrap_err().to_string();
        assert!(e.contains("short_factor has 2 values") && e.contains("needs 4"), "{e}");
    }

    #[test]
    fn linear_divides_every_frequency() {
        let c = HfConfig::from_json_str(r#"{"model_type":"llama","rope_scaling":{"type":"linear","factor":2.0}}"#).unwrap();
        assert_eq!(hf_freq_factors(&c, 8, 10000.0).unwrap(), Some(vec![2.0; 4]));
        let none = HfConfig::from_json_str(r#"{"model_type":"llama"}"#).unwrap();
        assert_eq!(hf_freq_factors(&none, 8, 10000.0).unwrap(), None);
    }
}
