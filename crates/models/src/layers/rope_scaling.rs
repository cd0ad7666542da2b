//! RoPE scaling schemes read from a config: per-frequency divisors for `Rope::freq_factors`.
//! Supported: none/"default", "linear" (positions divided by `factor`) and Llama 3's "llama3".
//! Anything else (yarn, dynamic, longrope...) is refused with a clear error rather than
//! silently computing a different function.

use weights::gguf::Metadata;
use weights::hf::HfConfig;

use crate::ModelError;

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
        other => Err(unsupported(other)),
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
        "rope scaling type '{kind}' is not supported (supported: default, linear, llama3); \
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
    fn linear_divides_every_frequency() {
        let c = HfConfig::from_json_str(r#"{"model_type":"llama","rope_scaling":{"type":"linear","factor":2.0}}"#).unwrap();
        assert_eq!(hf_freq_factors(&c, 8, 10000.0).unwrap(), Some(vec![2.0; 4]));
        let none = HfConfig::from_json_str(r#"{"model_type":"llama"}"#).unwrap();
        assert_eq!(hf_freq_factors(&none, 8, 10000.0).unwrap(), None);
    }
}
