//! The HF <-> GGUF tensor name map (it lives only here), and the value changes llama.cpp's converter
//! makes on the way, so an HF tensor served under a GGUF name means what the GGUF tensor means.

/// Model families whose RMSNorm computes x * (1 + w): the GGUF stores w + 1.
pub(crate) fn adds_one_to_norms(model_type: &str) -> bool {
    matches!(model_type, "gemma" | "gemma2" | "gemma3" | "gemma3_text")
}

/// Families whose GGUF q/k rows are permuted from HF's rotate-half RoPE layout to ggml's interleaved one.
pub fn permutes_qk(model_type: &str) -> bool {
    matches!(model_type, "llama" | "mistral" | "mixtral")
}

/// Gemma 2/3 wrap attention and FFN in pre- and post-norms; elsewhere post_attention_layernorm is the FFN norm.
fn has_sandwich_norms(model_type: &str) -> bool {
    matches!(model_type, "gemma2" | "gemma3" | "gemma3_text")
}

/// Strip the wrappers multimodal checkpoints put around the language model.
fn normalize(hf: &str) -> std::borrow::Cow<'_, str> {
    for (prefix, with) in [
        ("model.language_model.", "model."),
        ("language_model.model.", "model."),
        ("language_model.lm_head.", "lm_head."),
    ] {
        if let Some(rest) = hf.strip_prefix(prefix) {
            return format!("{with}{rest}").into();
        }
    }
    hf.into()
}

/// Falcon's own names ("transformer.h.N...."), as llama.cpp maps them.
fn falcon_name(hf: &str) -> Option<String> {
    match hf {
        "transformer.word_embeddings.weight" => return Some("token_embd.weight".into()),
        "lm_head.weight" => return Some("output.weight".into()),
        _ => {}
    }
    if let Some(suffix) = hf.strip_prefix("transformer.ln_f.") {
        return Some(format!("output_norm.{suffix}"));
    }
    let (layer, rest) = hf.strip_prefix("transformer.h.")?.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (module, suffix) = rest.rsplit_once('.')?;
    let base = match module {
        // 7B: one norm feeds both branches; 40B: ln_mlp feeds the MLP, ln_attn the attention.
        "input_layernorm" | "ln_mlp" => "attn_norm",
        "ln_attn" => "attn_norm_2",
        "self_attention.query_key_value" => "attn_qkv",
        "self_attention.dense" => "attn_output",
        "mlp.dense_h_to_4h" => "ffn_up",
        "mlp.dense_4h_to_h" => "ffn_down",
        _ => return None,
    };
    Some(format!("blk.{layer}.{base}.{suffix}"))
}

/// Falcon's fused qkv rows come in KV groups (the group's query heads, then its key head, then its
/// value head); llama.cpp's converter reorders them to all q, all k, all v. Returns the source row
/// of each destination row, or None when the sizes do not fit.
pub(crate) fn falcon_qkv_permutation(n_rows: usize, n_head: usize, n_kv: usize) -> Option<Vec<usize>> {
    if n_head == 0 || n_kv == 0 || n_head % n_kv != 0 || n_rows % (n_head + 2 * n_kv) != 0 {
        return None;
    }
    let hd = n_rows / (n_head + 2 * n_kv);
    let per = n_head / n_kv; // query heads per group
    let group_rows = (per + 2) * hd;
    let mut src = Vec::with_capacity(n_rows);
    for g in 0..n_kv {
        src.extend((0..per * hd).map(|r| g * group_rows + r));
    }
    for which in [per, per + 1] {
        for g in 0..n_kv {
            src.extend((0..hd).map(|r| g * group_rows + which * hd + r));
        }
    }
    Some(src)
}

/// "model.layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight". None for names with no GGUF twin.
pub fn hf_to_gguf_name(hf: &str, model_type: &str) -> Option<String> {
    if model_type == "falcon" {
        return falcon_name(hf);
    }
    let hf = normalize(hf);
    match hf.as_ref() {
        "model.embed_tokens.weight" => return Some("token_embd.weight".into()),
        "model.norm.weight" => return Some("output_norm.weight".into()),
        "lm_head.weight" => return Some("output.weight".into()),
        _ => {}
    }
    let rest = hf.strip_prefix("model.layers.")?;
    let (layer, rest) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (module, suffix) = rest.rsplit_once('.')?;
    if suffix != "weight" && suffix != "bias" {
        return None;
    }
    // Experts stay one tensor each (GGUF stacks them): "blk.N.ffn_gate_exps.E.weight".
    // Mixtral: block_sparse_moe.experts.E.w1/w2/w3; Qwen3-MoE: mlp.experts.E.gate/up/down_proj.
    if let Some(e) = module.strip_prefix("block_sparse_moe.experts.").or_else(|| module.strip_prefix("mlp.experts.")) {
        let (e, w) = e.split_once('.')?;
        let e: usize = e.parse().ok()?;
        let base = match w {
            "w1" | "gate_proj" => "ffn_gate_exps",
            "w2" | "down_proj" => "ffn_down_exps",
            "w3" | "up_proj" => "ffn_up_exps",
            _ => return None,
        };
        return Some(format!("blk.{layer}.{base}.{e}.{suffix}"));
    }
    let base = match module {
        "block_sparse_moe.gate" | "mlp.gate" => "ffn_gate_inp",
        "input_layernorm" => "attn_norm",
        "self_attn.q_proj" => "attn_q",
        "self_attn.k_proj" => "attn_k",
        "self_attn.v_proj" => "attn_v",
        "self_attn.o_proj" => "attn_output",
        "self_attn.qkv_proj" => "attn_qkv",
        "self_attn.q_norm" => "attn_q_norm",
        "self_attn.k_norm" => "attn_k_norm",
        "post_attention_layernorm" if has_sandwich_norms(model_type) => "post_attention_norm",
        "post_attention_layernorm" => "ffn_norm",
        "pre_feedforward_layernorm" => "ffn_norm",
        "post_feedforward_layernorm" => "post_ffw_norm",
        "mlp.gate_proj" => "ffn_gate",
        "mlp.up_proj" => "ffn_up",
        "mlp.down_proj" => "ffn_down",
        "mlp.gate_up_proj" => "ffn_up", // Phi-3: gate rows then up rows, as llama.cpp stores them
        // Qwen2-MoE's shared expert and its sigmoid gate ([1, n_embd]; 1-D in GGUF).
        "mlp.shared_expert.gate_proj" => "ffn_gate_shexp",
        "mlp.shared_expert.up_proj" => "ffn_up_shexp",
        "mlp.shared_expert.down_proj" => "ffn_down_shexp",
        "mlp.shared_expert_gate" => "ffn_gate_inp_shexp",
        _ => return None,
    };
    Some(format!("blk.{layer}.{base}.{suffix}"))
}

/// The inverse row permutation llama.cpp's converter applies to Llama q/k projections: within each head of
/// `head_dim` rows, new row 2*i + j takes old row j*head_dim/2 + i (j in 0..2). Returns the source row of
/// each destination row, or None when the row count does not split into `n_heads` even-sized heads.
pub fn qk_permutation(n_rows: usize, n_heads: usize) -> Option<Vec<usize>> {
    if n_heads == 0 || n_rows % n_heads != 0 || (n_rows / n_heads) % 2 != 0 {
        return None;
    }
    let hd = n_rows / n_heads;
    let half = hd / 2;
    let mut src = Vec::with_capacity(n_rows);
    for h in 0..n_heads {
        for i in 0..half {
            for j in 0..2 {
                src.push(h * hd + j * half + i);
            }
        }
    }
    Some(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama_and_gemma3_names() {
        let m = |n, t| hf_to_gguf_name(n, t);
        assert_eq!(
            m("model.layers.3.self_attn.q_proj.weight", "llama").as_deref(),
            Some("blk.3.attn_q.weight")
        );
        assert_eq!(
            m("model.layers.0.self_attn.k_proj.bias", "qwen2").as_deref(),
            Some("blk.0.attn_k.bias")
        );
        assert_eq!(
            m("model.layers.1.post_attention_layernorm.weight", "llama").as_deref(),
            Some("blk.1.ffn_norm.weight")
        );
        assert_eq!(
            m(
                "model.layers.1.post_attention_layernorm.weight",
                "gemma3_text"
            )
            .as_deref(),
            Some("blk.1.post_attention_norm.weight")
        );
        assert_eq!(
            m("model.layers.1.pre_feedforward_layernorm.weight", "gemma3").as_deref(),
            Some("blk.1.ffn_norm.weight")
        );
        assert_eq!(
            m("model.layers.1.post_feedforward_layernorm.weight", "gemma3").as_deref(),
            Some("blk.1.post_ffw_norm.weight")
        );
        assert_eq!(
            m("model.layers.2.mlp.down_proj.weight", "mistral").as_deref(),
            Some("blk.2.ffn_down.weight")
        );
        assert_eq!(
            m("model.embed_tokens.weight", "llama").as_deref(),
            Some("token_embd.weight")
        );
        assert_eq!(
            m("model.language_model.norm.weight", "gemma3").as_deref(),
            Some("output_norm.weight")
        );
        assert_eq!(
            m("lm_head.weight", "qwen2").as_deref(),
            Some("output.weight")
        );
        assert_eq!(
            m("model.layers.2.self_attn.rotary_emb.inv_freq", "llama"),
            None
        );
        assert_eq!(m("vision_tower.blocks.0.weight", "gemma3"), None);
        assert_eq!(m("model.layers.1.mlp.shared_expert.up_proj.weight", "qwen2_moe").as_deref(), Some("blk.1.ffn_up_shexp.weight"));
        assert_eq!(m("model.layers.0.mlp.shared_expert_gate.weight", "qwen2_moe").as_deref(), Some("blk.0.ffn_gate_inp_shexp.weight"));
        assert_eq!(m("model.layers.0.mlp.experts.3.down_proj.weight", "qwen2_moe").as_deref(), Some("blk.0.ffn_down_exps.3.weight"));
    }

    #[test]
    fn falcon_names_and_qkv_groups() {
        let m = |n| hf_to_gguf_name(n, "falcon");
        assert_eq!(m("transformer.h.1.ln_attn.bias").as_deref(), Some("blk.1.attn_norm_2.bias"));
        assert_eq!(m("transformer.h.0.self_attention.query_key_value.weight").as_deref(), Some("blk.0.attn_qkv.weight"));
        assert_eq!(m("transformer.ln_f.weight").as_deref(), Some("output_norm.weight"));
        // 4 query heads in 2 groups, head size 1: rows [q0 q1 k0 v0 | q2 q3 k1 v1] -> [q0..q3 k0 k1 v0 v1].
        assert_eq!(falcon_qkv_permutation(8, 4, 2).unwrap(), vec![0, 1, 4, 5, 2, 6, 3, 7]);
        assert_eq!(falcon_qkv_permutation(7, 4, 2), None);
    }

    #[test]
    fn qk_permutation_interleaves_halves_per_head() {
        // 2 heads of 4 rows: head rows [a0 a1 b0 b1] (first half, second half) become [a0 b0 a1 b1].
        assert_eq!(qk_permutation(8, 2).unwrap(), vec![0, 2, 1, 3, 4, 6, 5, 7]);
        assert_eq!(qk_permutation(6, 2), None);
    }
}
