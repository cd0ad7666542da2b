//! config.json -> the `{arch}.*` GGUF keys, with the names, types and per-family choices of
//! llama.cpp's converter (e.g. Falcon's fixed context of 2048, Phi-3's sliding window 0 for none,
//! Mistral written as `llama` without its window).

use serde_json::Value;
use weights::{HfConfig, MetaValue};

use super::ConvertError;

pub type Entries = Vec<(String, MetaValue)>;

struct Keys<'a> {
    arch: &'a str,
    out: Entries,
}

impl Keys<'_> {
    fn put(&mut self, key: &str, v: impl Into<MetaValue>) {
        self.out.push((format!("{}.{key}", self.arch), v.into()));
    }
    /// `general.file_type`, at the place in the key order where llama.cpp writes it.
    fn file_type(&mut self, v: u32) {
        self.out.push(("general.file_type".into(), v.into()));
    }
    fn u32(&mut self, key: &str, v: Option<usize>) {
        if let Some(v) = v {
            self.put(key, v as u32);
        }
    }
    fn f32(&mut self, key: &str, v: Option<f64>) {
        if let Some(v) = v {
            self.put(key, v as f32);
        }
    }
}

fn extra_usize(c: &HfConfig, key: &str) -> Option<usize> {
    c.extra.get(key).and_then(Value::as_u64).map(|v| v as usize)
}

fn extra_f64(c: &HfConfig, key: &str) -> Option<f64> {
    c.extra.get(key).and_then(Value::as_f64)
}

/// The architecture keys for `arch` (llama.cpp's name), `file_type` included.
pub fn arch_metadata(c: &HfConfig, arch: &str, file_type: u32) -> Result<Entries, ConvertError> {
    let mut k = Keys { arch, out: Vec::new() };
    match arch {
        "gemma2" => gemma2(c, &mut k, file_type),
        "phi3" => phi3(c, &mut k, file_type)?,
        "falcon" => falcon(c, &mut k, file_type),
        _ => {
            base(c, &mut k, file_type)?;
            match arch {
                "llama" => {
                    k.u32("vocab_size", c.vocab_size);
                    k.u32("rope.dimension_count", c.head_dim());
                    // Mistral's window: llama.cpp's converter drops it (the file then attends to
                    // everything); we keep it so the file computes what the model computes.
                    let window = c.sliding_window.filter(|&w| w > 0 && c.use_sliding_window.unwrap_or(true));
                    k.u32("attention.sliding_window", window.filter(|&w| Some(w) < c.max_position_embeddings));
                }
                "qwen3moe" => k.u32("expert_feed_forward_length", c.moe_intermediate_size),
                "qwen2moe" => {
                    k.u32("expert_feed_forward_length", c.moe_intermediate_size);
                    k.u32("expert_shared_feed_forward_length", c.shared_expert_intermediate_size);
                }
                "gemma3" => {
                    if let Some(s) = c.final_logit_softcapping.filter(|&s| s != 0.0) {
                        k.put("final_logit_softcapping", s as f32);
                    }
                    if extra_usize(c, "sliding_window_pattern") != Some(1) {
                        k.u32("attention.sliding_window", c.sliding_window);
                    }
                }
                _ => {}
            }
        }
    }
    Ok(k.out)
}

/// What llama.cpp's generic text-model converter writes for every family that does not replace it.
fn base(c: &HfConfig, k: &mut Keys, file_type: u32) -> Result<(), ConvertError> {
    k.u32("block_count", c.num_hidden_layers);
    k.u32("context_length", c.max_position_embeddings);
    k.u32("embedding_length", c.hidden_size);
    k.u32("feed_forward_length", c.intermediate_size);
    k.u32("attention.head_count", c.num_attention_heads);
    k.u32("attention.head_count_kv", c.num_key_value_heads);
    rope_scaling(c, k)?;
    k.f32("rope.freq_base", c.rope_theta);
    k.f32("rope.freq_base_swa", c.rope_local_base_freq);
    k.f32("attention.layer_norm_rms_epsilon", c.rms_norm_eps);
    k.f32("attention.layer_norm_epsilon", c.layer_norm_epsilon.or_else(|| extra_f64(c, "layer_norm_eps")));
    k.u32("expert_count", c.num_local_experts.or(c.num_experts));
    k.u32("expert_used_count", c.num_experts_per_tok);
    if let Some(hd) = c.head_dim {
        k.u32("attention.key_length", Some(hd));
        k.u32("attention.value_length", Some(hd));
    }
    k.file_type(file_type);
    Ok(())
}

/// `rope.scaling.*` for linear and YaRN; Llama 3 scaling becomes the `rope_freqs` tensor instead.
fn rope_scaling(c: &HfConfig, k: &mut Keys) -> Result<(), ConvertError> {
    let Some(rs) = &c.rope_scaling else { return Ok(()) };
    match rs.rope_type.as_deref().unwrap_or("default") {
        "default" | "llama3" => {}
        "linear" if rs.factor.is_some() => {
            k.put("rope.scaling.type", "linear");
            k.f32("rope.scaling.factor", rs.factor);
        }
        "yarn" if rs.factor.is_some() => {
            k.put("rope.scaling.type", "yarn");
            k.f32("rope.scaling.factor", rs.factor);
            k.u32("rope.scaling.original_context_length", rs.original_max_position_embeddings);
            let x = |key: &str| rs.extra.get(key).and_then(Value::as_f64);
            k.f32("rope.scaling.yarn_ext_factor", x("extrapolation_factor"));
            k.f32("rope.scaling.yarn_attn_factor", x("attention_factor").or_else(|| x("attn_factor")));
            k.f32("rope.scaling.yarn_beta_fast", x("beta_fast"));
            k.f32("rope.scaling.yarn_beta_slow", x("beta_slow"));
        }
        other => {
            return Err(ConvertError::Unsupported(format!(
                "RoPE scaling '{other}' is not supported by convert (supported: default, linear, yarn, llama3)"
            )))
        }
    }
    Ok(())
}

fn gemma2(c: &HfConfig, k: &mut Keys, file_type: u32) {
    k.u32("context_length", c.max_position_embeddings);
    k.u32("embedding_length", c.hidden_size);
    k.u32("block_count", c.num_hidden_layers);
    k.u32("feed_forward_length", c.intermediate_size);
    k.u32("attention.head_count", c.num_attention_heads);
    k.u32("attention.head_count_kv", c.kv_heads());
    k.f32("attention.layer_norm_rms_epsilon", c.rms_norm_eps);
    k.u32("attention.key_length", c.head_dim);
    k.u32("attention.value_length", c.head_dim);
    k.file_type(file_type);
    k.f32("attn_logit_softcapping", c.attn_logit_softcapping);
    k.f32("final_logit_softcapping", c.final_logit_softcapping);
    k.u32("attention.sliding_window", c.sliding_window);
}

fn phi3(c: &HfConfig, k: &mut Keys, file_type: u32) -> Result<(), ConvertError> {
    let (n_embd, n_head) = (c.hidden_size.unwrap_or(0), c.num_attention_heads.unwrap_or(1).max(1));
    let rot = (c.partial_rotary_factor.unwrap_or(1.0) * n_embd as f64) as usize / n_head;
    let orig_ctx = c.original_max_position_embeddings.or(c.max_position_embeddings);
    k.u32("context_length", c.max_position_embeddings);
    k.u32("rope.scaling.original_context_length", orig_ctx);
    k.u32("embedding_length", c.hidden_size);
    k.u32("feed_forward_length", c.intermediate_size);
    k.u32("block_count", c.num_hidden_layers);
    k.u32("attention.head_count", c.num_attention_heads);
    k.u32("attention.head_count_kv", c.kv_heads());
    k.f32("attention.layer_norm_rms_epsilon", c.rms_norm_eps);
    k.u32("rope.dimension_count", Some(rot));
    k.f32("rope.freq_base", Some(c.rope_theta.unwrap_or(10_000.0)));
    k.file_type(file_type);
    k.put("attention.sliding_window", c.sliding_window.unwrap_or(0) as u32);
    if let Some(lr) = phi3_long_rope(c)? {
        k.put("rope.scaling.attn_factor", lr.attn_factor);
    }
    Ok(())
}

/// Phi-3 long-context ("longrope"/"su") RoPE: per-frequency factors for long and short contexts
/// (tensors `rope_factors_long/short.weight`) and the attention scale llama.cpp derives from the
/// context extension: sqrt(1 + ln(scale) / ln(original context)).
#[derive(Debug)]
pub struct LongRope {
    pub attn_factor: f32,
    pub long: Vec<f32>,
    pub short: Vec<f32>,
}

pub fn phi3_long_rope(c: &HfConfig) -> Result<Option<LongRope>, ConvertError> {
    let Some(rs) = &c.rope_scaling else { return Ok(None) };
    let kind = rs.rope_type.as_deref().unwrap_or("default").to_ascii_lowercase();
    if kind == "default" {
        return Ok(None);
    }
    if kind != "longrope" && kind != "su" {
        return Err(ConvertError::Unsupported(format!("Phi-3 with '{kind}' RoPE scaling (supported: longrope)")));
    }
    let list = |typed: &Option<Vec<f64>>, key: &str| -> Result<Vec<f32>, ConvertError> {
        if let Some(v) = typed {
            return Ok(v.iter().map(|&f| f as f32).collect());
        }
        let v = rs.extra.get(key).and_then(Value::as_array).ok_or_else(|| ConvertError::Invalid(format!("longrope scaling without '{key}' in config.json")))?;
        v.iter().map(|x| x.as_f64().map(|f| f as f32).ok_or_else(|| ConvertError::Invalid(format!("'{key}' holds a non-number")))).collect()
    };
    let (long, short) = (list(&rs.long_factor, "long_factor")?, list(&rs.short_factor, "short_factor")?);
    let (n_embd, n_head) = (c.hidden_size.unwrap_or(0), c.num_attention_heads.unwrap_or(1).max(1));
    let rot = (c.partial_rotary_factor.unwrap_or(1.0) * n_embd as f64) as usize / n_head;
    if long.len() != short.len() || 2 * long.len() != rot {
        return Err(ConvertError::Invalid(format!(
            "longrope factors must have {} values each (half the rotary dimension); long_factor has {}, short_factor {}",
            rot / 2,
            long.len(),
            short.len()
        )));
    }
    let max_pos = c.max_position_embeddings.unwrap_or(0) as f64;
    let orig = rs.original_max_position_embeddings.or(c.original_max_position_embeddings).unwrap_or(0) as f64;
    let scale = if orig > 0.0 { max_pos / orig } else { 1.0 };
    // An explicit attention factor wins, as in transformers; else its formula.
    let attn_factor = match rs.attention_factor {
        Some(f) => f,
        None if scale > 1.0 => (1.0 + scale.ln() / orig.ln()).sqrt(),
        None => 1.0,
    };
    Ok(Some(LongRope { attn_factor: attn_factor as f32, long, short }))
}

fn falcon(c: &HfConfig, k: &mut Keys, file_type: u32) {
    let (n_head, n_kv) = weights::hf::falcon_heads(c);
    let n_embd = c.hidden_size.unwrap_or(0);
    // llama.cpp writes a fixed 2048: Falcon configs carry no trained context length.
    k.put("context_length", 2048u32);
    k.put("tensor_data_layout", "jploski");
    k.u32("embedding_length", Some(n_embd));
    k.u32("feed_forward_length", Some(c.ffn_hidden_size.unwrap_or(4 * n_embd)));
    k.u32("block_count", c.num_hidden_layers);
    k.u32("attention.head_count", Some(n_head));
    k.u32("attention.head_count_kv", Some(n_kv));
    k.f32("attention.layer_norm_epsilon", Some(c.layer_norm_epsilon.unwrap_or(1e-5)));
    k.file_type(file_type);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phi3_long_rope_factors_and_attention_scale() {
        let long: Vec<f64> = (0..8).map(|i| 1.0 + i as f64).collect();
        let cfg = serde_json::json!({"model_type": "phi3", "hidden_size": 64, "num_attention_heads": 4,
            "max_position_embeddings": 131072, "original_max_position_embeddings": 4096,
            "rope_scaling": {"type": "longrope", "long_factor": long, "short_factor": vec![1.0; 8]}});
        let c = HfConfig::from_json_str(&cfg.to_string()).unwrap();
        let lr = phi3_long_rope(&c).unwrap().unwrap();
        assert_eq!(lr.long[7], 8.0);
        // scale 32: sqrt(1 + ln 32 / ln 4096) = sqrt(1 + 5/12)
        assert!((lr.attn_factor - (17.0f32 / 12.0).sqrt()).abs() < 1e-6, "{}", lr.attn_factor);
        let keys = arch_metadata(&c, "phi3", 1).unwrap();
        assert!(keys.iter().any(|(k, v)| k == "phi3.rope.scaling.attn_factor" && *v == MetaValue::F32(lr.attn_factor)));
        let mut bad = cfg.clone();
        bad["rope_scaling"]["short_factor"] = serde_json::json!([1.0, 2.0]);
        let e = phi3_long_rope(&HfConfig::from_json_str(&bad.to_string()).unwrap()).unwrap_err().to_string();
        assert!(e.contains("8 values"), "{e}");
    }
}
