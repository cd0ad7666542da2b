//! Which tensors a converted Hugging Face model holds, in which type and shape. Names, value changes
//! (Gemma norms +1, Llama q/k permutation, Falcon qkv order) come from `weights::hf`; here only what
//! the file layout adds: per-expert tensors stacked into one `[cols, rows, n_expert]` tensor, Llama 3's
//! `rope_freqs`, and the type rules of llama.cpp's converter (1-D tensors, norms, biases and MoE
//! routers stay F32; Q8_0 falls back to F16 for rows that are not whole blocks).

use std::collections::BTreeMap;

use kernels::GgmlType;
use weights::{HfModel, Tensor};

use super::ConvertError;

/// Where an output tensor's values come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// One tensor of the folder (by GGUF name).
    One(String),
    /// Experts 0..n, concatenated along the outermost dimension.
    Stack(Vec<String>),
    /// Values computed here (F32).
    Values(Vec<f32>),
}

#[derive(Clone, Debug)]
pub struct OutTensor {
    pub name: String,
    pub shape: Vec<usize>, // ggml order
    pub ty: GgmlType,
    pub source: Source,
}

/// HF tensors with no place in a text-model GGUF (vision towers, cached RoPE tables).
fn ignorable(hf_name: &str) -> bool {
    hf_name.contains("rotary_emb.inv_freq")
        || ["vision_tower.", "multi_modal_projector.", "model.vision_tower.", "model.multi_modal_projector.", "vision_model.", "visual."]
            .iter()
            .any(|p| hf_name.starts_with(p))
}

/// "blk.3.ffn_up_exps.7.weight" -> ("blk.3.ffn_up_exps.weight", 7).
fn expert_part(name: &str) -> Option<(String, usize)> {
    let (head, rest) = name.split_once("_exps.")?;
    let (e, suffix) = rest.split_once('.')?;
    Some((format!("{head}_exps.{suffix}"), e.parse().ok()?))
}

/// The type llama.cpp's converter gives a tensor when the file type's main type is `main`.
pub fn pick_type(name: &str, shape: &[usize], main: GgmlType) -> GgmlType {
    let keep_f32 = shape.len() <= 1 || name.ends_with("_norm.weight") || name.contains("ffn_gate_inp") || !name.ends_with(".weight");
    if keep_f32 {
        GgmlType::F32
    } else if main.block_size() > 1 && !shape[0].is_multiple_of(main.block_size()) {
        GgmlType::F16
    } else {
        main
    }
}

/// (layer or -1, name): embeddings first, then blocks in numeric order, then the output.
fn order_key(name: &str) -> (i64, i64, String) {
    let layer = name.strip_prefix("blk.").and_then(|r| r.split('.').next()).and_then(|l| l.parse::<i64>().ok());
    let group = match (layer, name.starts_with("output")) {
        (Some(_), _) => 1,
        (None, true) => 2,
        (None, false) => 0,
    };
    (group, layer.unwrap_or(-1), name.to_string())
}

/// `extra`: tensors computed from the config (`rope_freqs`, Phi-3's `rope_factors_*`), F32.
pub fn plan(hf: &HfModel, main: GgmlType, extra: Vec<(String, Vec<f32>)>) -> Result<Vec<OutTensor>, ConvertError> {
    let mut out = Vec::new();
    let mut stacks: BTreeMap<String, BTreeMap<usize, String>> = BTreeMap::new();
    for name in hf.tensor_names() {
        let hf_name = hf.hf_name(name).unwrap_or(name);
        if hf_name == name && !is_gguf_name(name) {
            if ignorable(hf_name) {
                continue;
            }
            return Err(ConvertError::UnmappedTensor(hf_name.to_string()));
        }
        if let Some((stacked, e)) = expert_part(name) {
            stacks.entry(stacked).or_default().insert(e, name.to_string());
            continue;
        }
        let t = hf.tensor(name)?;
        out.push(OutTensor { ty: pick_type(name, &t.shape, main), name: name.to_string(), shape: t.shape.clone(), source: Source::One(name.to_string()) });
    }
    for (stacked, experts) in stacks {
        let names: Vec<String> = experts.values().cloned().collect();
        if experts.keys().copied().ne(0..names.len()) {
            return Err(ConvertError::Invalid(format!("the experts of {stacked} are not numbered 0..{}", names.len())));
        }
        let first = hf.tensor(&names[0])?;
        for n in &names[1..] {
            let t = hf.tensor(n)?;
            if t.shape != first.shape {
                return Err(ConvertError::Invalid(format!("expert tensor {n} has shape {:?} but expert 0 has {:?}", t.shape, first.shape)));
            }
        }
        let mut shape = first.shape.clone();
        shape.push(names.len());
        out.push(OutTensor { ty: pick_type(&stacked, &shape, main), name: stacked, shape, source: Source::Stack(names) });
    }
    for (name, f) in extra {
        out.push(OutTensor { name, shape: vec![f.len()], ty: GgmlType::F32, source: Source::Values(f) });
    }
    out.sort_by_key(|t| order_key(&t.name));
    Ok(out)
}

/// Names the map produced (it returns HF names unchanged when it knows no GGUF twin).
fn is_gguf_name(name: &str) -> bool {
    name.starts_with("blk.") || name.starts_with("rope_") || matches!(name, "token_embd.weight" | "output.weight" | "output_norm.weight" | "output_norm.bias")
}

/// The source tensors of one output tensor, in order (one, or every expert).
pub fn sources(hf: &HfModel, t: &OutTensor) -> Result<Vec<Tensor>, ConvertError> {
    Ok(match &t.source {
        Source::One(n) => vec![hf.tensor(n)?],
        Source::Stack(names) => names.iter().map(|n| hf.tensor(n)).collect::<Result<_, _>>()?,
        Source::Values(v) => {
            let bytes = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            vec![Tensor::from_owned(t.name.clone(), GgmlType::F32, t.shape.clone(), bytes)]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_follow_the_converter_rules() {
        let q = GgmlType::Q8_0;
        assert_eq!(pick_type("blk.0.attn_norm.weight", &[64], q), GgmlType::F32);
        assert_eq!(pick_type("blk.0.attn_q.bias", &[64], q), GgmlType::F32);
        assert_eq!(pick_type("blk.0.attn_q_norm.weight", &[32], GgmlType::BF16), GgmlType::F32);
        assert_eq!(pick_type("blk.0.ffn_gate_inp.weight", &[64, 4], GgmlType::BF16), GgmlType::F32);
        assert_eq!(pick_type("blk.0.ffn_up.weight", &[64, 128], q), q);
        assert_eq!(pick_type("blk.0.ffn_down.weight", &[48, 64], q), GgmlType::F16);
        assert_eq!(pick_type("blk.0.ffn_down_exps.weight", &[64, 64, 4], GgmlType::BF16), GgmlType::BF16);
        assert_eq!(expert_part("blk.1.ffn_gate_exps.3.weight"), Some(("blk.1.ffn_gate_exps.weight".into(), 3)));
        assert_eq!(expert_part("blk.1.ffn_gate.weight"), None);
    }
}
