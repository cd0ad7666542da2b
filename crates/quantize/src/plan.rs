//! Which type each tensor becomes. Follows the choices `llama-quantize` makes (without an imatrix), so
//! files from either tool have the same layout:
//! - only weight matrices are quantized (2-D or more, name ends in `weight`, not norms, routers, or a
//!   few small or position tables); everything else keeps its type;
//! - the _M/_S presets give more bits to the tensors quantization hurts most: the output head (and the
//!   token embedding when tied to it), `attn_v`, and `ffn_down` in the first and last eighth of the
//!   layers plus every third one between;
//! - a row length that is not a whole number of blocks falls back to a 32-element type
//!   (Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, Q2_K/Q3_K -> Q4_0), and to F16 when even that fails.

use kernels::GgmlType;
use serde::Serialize;
use weights::{GgufFile, Metadata};

use crate::error::{QuantizeError, Result};
use crate::ftype::FileType;

/// The model facts the rules depend on.
#[derive(Clone, Debug, Default)]
pub struct ModelFacts {
    pub arch: String,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub n_expert: usize,
}

impl ModelFacts {
    pub fn from_metadata(md: &Metadata) -> ModelFacts {
        let arch = md.opt_str("general.architecture").unwrap_or("").to_string();
        let first = |key: &str| -> usize {
            let k = format!("{arch}.{key}");
            md.opt_usize(&k).or_else(|| md.opt_u32_array(&k).and_then(|a| a.first().map(|&v| v as usize))).unwrap_or(0)
        };
        ModelFacts {
            n_layer: first("block_count"),
            n_head: first("attention.head_count"),
            n_head_kv: first("attention.head_count_kv"),
            n_expert: first("expert_count"),
            arch,
        }
    }

    /// Query heads per key/value head (1 when unknown).
    fn n_gqa(&self) -> usize {
        self.n_head.checked_div(self.n_head_kv).map_or(1, |g| g.max(1))
    }

    fn is_falcon(&self) -> bool {
        self.arch == "falcon"
    }

    /// Llama 2/3 70B: 80 layers with grouped-query attention; its small attn_v gets more bits.
    fn is_70b(&self) -> bool {
        self.arch == "llama" && self.n_layer == 80 && self.n_head != self.n_head_kv
    }
}

/// What a tensor is for, judged from its name (broader than `TensorName`: any architecture's variants).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    TokenEmbd,
    Output,
    AttnQkv,
    AttnKvB,
    AttnV,
    AttnK,
    AttnQ,
    AttnOutput,
    FfnUp,
    FfnGate,
    FfnDown,
    Other,
}

impl Category {
    pub fn of(name: &str) -> Category {
        let has = |s: &str| name.contains(s);
        if name == "output.weight" {
            Self::Output
        } else if name == "token_embd.weight" || name == "per_layer_token_embd.weight" {
            Self::TokenEmbd
        } else if has("attn_qkv.weight") {
            Self::AttnQkv
        } else if has("attn_kv_b.weight") {
            Self::AttnKvB
        } else if has("attn_v.weight") {
            Self::AttnV
        } else if has("attn_k.weight") {
            Self::AttnK
        } else if has("attn_q.weight") {
            Self::AttnQ
        } else if has("attn_output.weight") {
            Self::AttnOutput
        } else if has("ffn_up") {
            Self::FfnUp
        } else if has("ffn_gate") {
            Self::FfnGate
        } else if has("ffn_down") {
            Self::FfnDown
        } else {
            Self::Other
        }
    }

    /// Value projections (alone or fused): the most sensitive to quantization.
    fn is_value_like(self) -> bool {
        matches!(self, Self::AttnV | Self::AttnQkv | Self::AttnKvB)
    }
}

/// Name fragments of weights that stay as they are: small, or lookups where error does not average out.
const KEEP_FRAGMENTS: &[&str] = &[
    "_norm.weight",
    "ffn_gate_inp.weight",
    "ffn_gate_tid2eid.weight",
    "altup",
    "laurel",
    "per_layer_model_proj",
    "ssm_conv1d",
    "shortconv.conv.weight",
    "indexer.k_proj.weight",
    "indexer.q_proj.weight",
    "time_mix_first.weight",
    "time_mix_w0.weight",
    "time_mix_w1.weight",
    "time_mix_w2.weight",
    "time_mix_v0.weight",
    "time_mix_v1.weight",
    "time_mix_v2.weight",
    "time_mix_a0.weight",
    "time_mix_a1.weight",
    "time_mix_a2.weight",
    "time_mix_g1.weight",
    "time_mix_g2.weight",
    "time_mix_decay_w1.weight",
    "time_mix_decay_w2.weight",
    "time_mix_lerp_fused.weight",
    "attn_rel_b.weight",
    ".position_embd",
    "sam.pos_embd",
    "sam.neck.",
    "sam.net_",
    ".rel_pos",
    ".patch_embd",
    ".patch_merger",
    "a.rvq.codebook",
    "mm.a.code_embd",
];

/// Dimensions up to the last one larger than 1 (ggml's `ggml_n_dims`): a [640, 1] tensor is 1-D.
fn n_dims(shape: &[usize]) -> usize {
    shape.iter().rposition(|&d| d > 1).map_or(1, |i| i + 1)
}

/// Whether a tensor is a weight matrix the preset may change.
pub fn may_quantize(name: &str, shape: &[usize]) -> bool {
    n_dims(shape) >= 2
        && name.ends_with("weight")
        && name != "position_embd.weight"
        && name != "token_types.weight"
        && !KEEP_FRAGMENTS.iter().any(|f| name.contains(f))
}

/// Layer index from `blk.N.` (None for global tensors).
pub fn layer_of(name: &str) -> Option<usize> {
    let rest = name.strip_prefix("blk.")?;
    let end = rest.find('.')?;
    rest[..end].parse().ok()
}

/// One tensor's decision.
#[derive(Clone, Debug, Serialize)]
pub struct TensorPlan {
    pub name: String,
    pub shape: Vec<usize>,
    #[serde(serialize_with = "ser_type")]
    pub from: GgmlType,
    #[serde(serialize_with = "ser_type")]
    pub to: GgmlType,
    pub category: Category,
    /// Set when the preferred type did not fit the row length: (preferred, why).
    pub fallback_from: Option<String>,
}

fn ser_type<S: serde::Serializer>(t: &GgmlType, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(t.name())
}

impl TensorPlan {
    /// The data must be rewritten (not copied as is).
    pub fn converts(&self) -> bool {
        self.from != self.to
    }
}

/// The per-tensor decisions for one file, in the input's tensor order.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    #[serde(serialize_with = "ser_ftype")]
    pub ftype: FileType,
    pub tensors: Vec<TensorPlan>,
}

fn ser_ftype<S: serde::Serializer>(f: &FileType, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(f.name())
}

impl Plan {
    pub fn for_file(gguf: &GgufFile, ftype: FileType) -> Result<Plan> {
        Plan::for_file_with(gguf, ftype, false)
    }

    /// As `for_file`; `has_imatrix` switches on the rules llama.cpp applies only with an importance matrix.
    pub fn for_file_with(gguf: &GgufFile, ftype: FileType, has_imatrix: bool) -> Result<Plan> {
        let facts = ModelFacts::from_metadata(gguf.metadata());
        let infos: Vec<(String, Vec<usize>, GgmlType)> =
            gguf.tensor_infos().iter().map(|t| (t.name.clone(), t.shape.clone(), t.ty)).collect();
        Plan::new_with(&facts, &infos, ftype, has_imatrix)
    }

    /// `tensors`: (name, shape in ggml order, current type), in file order.
    pub fn new(facts: &ModelFacts, tensors: &[(String, Vec<usize>, GgmlType)], ftype: FileType) -> Result<Plan> {
        Plan::new_with(facts, tensors, ftype, false)
    }

    pub fn new_with(
        facts: &ModelFacts,
        tensors: &[(String, Vec<usize>, GgmlType)],
        ftype: FileType,
        has_imatrix: bool,
    ) -> Result<Plan> {
        let mut st = Rules::new(facts, ftype, tensors);
        st.has_imatrix = has_imatrix;
        // The layer-position counters advance in (layer, name) order, as llama.cpp walks its tensor map.
        let mut order: Vec<usize> = (0..tensors.len()).collect();
        order.sort_by(|&a, &b| {
            let key = |i: usize| (layer_of(&tensors[i].0).map_or(-1, |l| l as i64), tensors[i].0.as_str());
            key(a).cmp(&key(b))
        });
        let mut out: Vec<Option<TensorPlan>> = vec![None; tensors.len()];
        for i in order {
            let (name, shape, from) = &tensors[i];
            out[i] = Some(st.plan_one(name, shape, *from)?);
        }
        Ok(Plan { ftype, tensors: out.into_iter().map(|p| p.expect("every index planned")).collect() })
    }

    /// Tensors whose current type is already quantized and will be converted again.
    pub fn requantized(&self) -> impl Iterator<Item = &TensorPlan> {
        self.tensors.iter().filter(|t| t.converts() && crate::ftype::is_quantized_type(t.from))
    }

    pub fn n_fallback(&self) -> usize {
        self.tensors.iter().filter(|t| t.fallback_from.is_some()).count()
    }

    /// Output bytes of all tensor data (without alignment padding).
    pub fn output_bytes(&self) -> u64 {
        self.tensors
            .iter()
            .map(|t| {
                let rows: usize = t.shape[1..].iter().product();
                (t.to.row_bytes(t.shape[0]).unwrap_or(0) * rows) as u64
            })
            .sum()
    }
}

/// The walk's state: position counters for the layer-dependent rules.
struct Rules<'a> {
    facts: &'a ModelFacts,
    ftype: FileType,
    tied_embeddings: bool,
    n_value: usize,
    i_value: usize,
    i_ffn_down: usize,
    has_imatrix: bool,
}

impl<'a> Rules<'a> {
    fn new(facts: &'a ModelFacts, ftype: FileType, tensors: &[(String, Vec<usize>, GgmlType)]) -> Self {
        let cats = || tensors.iter().map(|t| Category::of(&t.0));
        Rules {
            facts,
            ftype,
            tied_embeddings: !cats().any(|c| c == Category::Output),
            n_value: cats().filter(|c| c.is_value_like()).count(),
            i_value: 0,
            i_ffn_down: 0,
            has_imatrix: false,
        }
    }

    fn plan_one(&mut self, name: &str, shape: &[usize], from: GgmlType) -> Result<TensorPlan> {
        let category = Category::of(name);
        let mut plan =
            TensorPlan { name: name.to_string(), shape: shape.to_vec(), from, to: from, category, fallback_from: None };
        if !may_quantize(name, shape) {
            return Ok(plan);
        }
        let default = self.ftype.default_type();
        if !self.ftype.is_quantized() {
            plan.to = default;
            return Ok(plan);
        }
        let preferred = self.mix(name, shape, category, default)?;
        let (to, why) = fallback(shape[0], preferred);
        plan.to = to;
        plan.fallback_from = why;
        Ok(plan)
    }

    /// The preset's choice for one weight matrix, before the row-length fallback.
    fn mix(&mut self, name: &str, shape: &[usize], cat: Category, default: GgmlType) -> Result<GgmlType> {
        use FileType as F;
        use GgmlType as G;
        let (ft, facts) = (self.ftype, self.facts);
        let more_bits = |i: usize, n: usize| i < n / 8 || i >= 7 * n / 8 || (i as i64 - (n / 8) as i64).rem_euclid(3) == 2;
        let mut t = default;
        if cat == Category::Output || (self.tied_embeddings && cat == Category::TokenEmbd) {
            // The output head sees every token's logits: at least 6 bits, and Q8_0 when blocks do not fit.
            if facts.is_falcon() || shape[0] % default.block_size() != 0 {
                t = G::Q8_0;
            } else if default != G::Q8_0 {
                t = G::Q6K;
            }
        } else if cat == Category::TokenEmbd {
            // Untied embeddings are only looked up: the default type suffices.
        } else if cat.is_value_like() {
            let (i, n) = (self.i_value, self.n_value);
            match ft {
                F::Q2K => t = if facts.n_gqa() >= 4 { G::Q4K } else { G::Q3K },
                F::Q3KM => t = if i < 2 { G::Q5K } else { G::Q4K },
                F::Q3KL => t = G::Q5K,
                F::Q4KM | F::Q5KM if more_bits(i, n) => t = G::Q6K,
                F::Q4KS if i < 4 => t = G::Q5K,
                _ => {}
            }
            if facts.is_70b() && matches!(t, G::Q3K | G::Q4K) {
                t = G::Q5K;
            }
            if facts.n_expert == 8 {
                t = G::Q8_0;
            }
            self.i_value += 1;
        } else if cat == Category::AttnK {
            if facts.n_expert == 8 {
                t = G::Q8_0;
            }
        } else if cat == Category::FfnDown {
            let (i, n) = self.layer_position(name)?;
            let falcon = facts.is_falcon();
            match ft {
                F::Q2K => t = G::Q3K,
                F::Q3KM => {
                    t = if i < n / 16 {
                        G::Q5K
                    } else if !falcon || more_bits(i, n) {
                        G::Q4K
                    } else {
                        G::Q3K
                    }
                }
                F::Q3KL => t = if falcon { G::Q4K } else { G::Q5K },
                F::Q4KM if falcon => {
                    t = if i < n / 16 {
                        G::Q6K
                    } else if more_bits(i, n) {
                        G::Q5K
                    } else {
                        G::Q4K
                    }
                }
                F::Q4KM | F::Q5KM if more_bits(i, n) => t = G::Q6K,
                F::Q4KS if !falcon && i < n / 8 => t = G::Q5K,
                // With an imatrix the first eighth of ffn_down gets the offset variant: the symmetric
                // 4/5-bit types misbehave there (llama.cpp applies this only with an imatrix, so plain
                // quantization stays as it always was).
                F::Q4_0 if self.has_imatrix && i < n / 8 => t = G::Q4_1,
                F::Q5_0 if self.has_imatrix && i < n / 8 => t = G::Q5_1,
                _ => {}
            }
            self.i_ffn_down += 1;
        } else if cat == Category::AttnOutput {
            if !facts.is_falcon() {
                if facts.n_expert == 8 {
                    if matches!(ft, F::Q2K | F::Q3KS | F::Q3KM | F::Q4KS | F::Q4KM) {
                        t = G::Q5K;
                    }
                } else {
                    match ft {
                        F::Q2K => t = G::Q3K,
                        F::Q3KM => t = G::Q4K,
                        F::Q3KL => t = G::Q5K,
                        _ => {}
                    }
                }
            } else if ft == F::Q3KL {
                t = G::Q4K;
            }
        }
        Ok(t)
    }

    /// (layer, n_layer) for ffn_down: its running count in dense models, the name's layer in MoE ones
    /// (whose expert tensors are not one per layer).
    fn layer_position(&self, name: &str) -> Result<(usize, usize)> {
        let n = self.facts.n_layer;
        if self.facts.n_expert <= 1 {
            return Ok((self.i_ffn_down, n));
        }
        match layer_of(name) {
            Some(l) if l < n => Ok((l, n)),
            _ => Err(QuantizeError::Plan(format!("cannot tell the layer of tensor '{name}' (the model has {n} layers)"))),
        }
    }
}

/// A type whose blocks divide the row length: the preferred one, or its 32-element stand-in, or F16.
/// Returns the reason when it had to change.
pub fn fallback(row_len: usize, preferred: GgmlType) -> (GgmlType, Option<String>) {
    use GgmlType as G;
    if row_len % preferred.block_size() == 0 {
        return (preferred, None);
    }
    let stand_in = match preferred {
        G::Q2K | G::Q3K => G::Q4_0,
        G::Q4K => G::Q5_0,
        G::Q5K => G::Q5_1,
        G::Q6K => G::Q8_0,
        other => other,
    };
    let to = if row_len % stand_in.block_size() == 0 { stand_in } else { G::F16 };
    let why = format!(
        "{}: rows of {row_len} are not a multiple of {} elements",
        preferred.name(),
        preferred.block_size()
    );
    (to, Some(why))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(n_layer: usize) -> ModelFacts {
        ModelFacts { arch: "llama".into(), n_layer, n_head: 8, n_head_kv: 8, n_expert: 0 }
    }

    fn dense(n_layer: usize, n_embd: usize, n_ff: usize, tied: bool) -> Vec<(String, Vec<usize>, GgmlType)> {
        let mut v = vec![("token_embd.weight".to_string(), vec![n_embd, 1000], GgmlType::F32)];
        if !tied {
            v.push(("output.weight".into(), vec![n_embd, 1000], GgmlType::F32));
        }
        v.push(("output_norm.weight".into(), vec![n_embd], GgmlType::F32));
        for l in 0..n_layer {
            for (t, shape) in [
                ("attn_norm.weight", vec![n_embd]),
                ("attn_q.weight", vec![n_embd, n_embd]),
                ("attn_k.weight", vec![n_embd, n_embd]),
                ("attn_v.weight", vec![n_embd, n_embd]),
                ("attn_output.weight", vec![n_embd, n_embd]),
                ("ffn_gate.weight", vec![n_embd, n_ff]),
                ("ffn_up.weight", vec![n_embd, n_ff]),
                ("ffn_down.weight", vec![n_ff, n_embd]),
            ] {
                v.push((format!("blk.{l}.{t}"), shape, GgmlType::F32));
            }
        }
        v
    }

    fn to(plan: &Plan, name: &str) -> GgmlType {
        plan.tensors.iter().find(|t| t.name == name).unwrap().to
    }

    #[test]
    fn q4_k_m_gives_more_bits_to_value_and_down_projections_at_the_ends() {
        let t = dense(16, 512, 1024, false);
        let p = Plan::new(&facts(16), &t, FileType::Q4KM).unwrap();
        assert_eq!(to(&p, "output.weight"), GgmlType::Q6K);
        assert_eq!(to(&p, "token_embd.weight"), GgmlType::Q4K);
        assert_eq!(to(&p, "output_norm.weight"), GgmlType::F32);
        assert_eq!(to(&p, "blk.0.attn_norm.weight"), GgmlType::F32);
        assert_eq!(to(&p, "blk.0.attn_q.weight"), GgmlType::Q4K);
        // n = 16: layers 0, 1 (first eighth), 14, 15 (last eighth), and 2 + 3k offsets from 2: 4, 7, 10, 13.
        let more: Vec<usize> = (0..16).filter(|l| to(&p, &format!("blk.{l}.attn_v.weight")) == GgmlType::Q6K).collect();
        assert_eq!(more, vec![0, 1, 4, 7, 10, 13, 14, 15]);
        let down: Vec<usize> = (0..16).filter(|l| to(&p, &format!("blk.{l}.ffn_down.weight")) == GgmlType::Q6K).collect();
        assert_eq!(down, more);
        assert_eq!(p.n_fallback(), 0);
    }

    #[test]
    fn tied_embedding_is_treated_as_the_output_head() {
        let t = dense(4, 512, 1024, true);
        let p = Plan::new(&facts(4), &t, FileType::Q4KS).unwrap();
        assert_eq!(to(&p, "token_embd.weight"), GgmlType::Q6K);
        let p = Plan::new(&facts(4), &t, FileType::Q8_0).unwrap();
        assert_eq!(to(&p, "token_embd.weight"), GgmlType::Q8_0);
    }

    #[test]
    fn rows_not_a_multiple_of_256_fall_back_to_32_blocks_and_then_f16() {
        assert_eq!(fallback(640, GgmlType::Q4K).0, GgmlType::Q5_0);
        assert_eq!(fallback(640, GgmlType::Q6K).0, GgmlType::Q8_0);
        assert_eq!(fallback(640, GgmlType::Q5K).0, GgmlType::Q5_1);
        assert_eq!(fallback(640, GgmlType::Q3K).0, GgmlType::Q4_0);
        assert_eq!(fallback(100, GgmlType::Q4K).0, GgmlType::F16);
        assert_eq!(fallback(100, GgmlType::Q8_0).0, GgmlType::F16);
        assert_eq!(fallback(512, GgmlType::Q4K), (GgmlType::Q4K, None));
        // Tied 640-wide embedding under Q4_K_M: Q8_0, since Q4_K blocks do not fit.
        let t = dense(4, 640, 2048, true);
        let p = Plan::new(&facts(4), &t, FileType::Q4KM).unwrap();
        assert_eq!(to(&p, "token_embd.weight"), GgmlType::Q8_0);
        assert_eq!(to(&p, "blk.1.attn_q.weight"), GgmlType::Q5_0);
        // With 4 layers only the last gets more bits: Q6_K, which falls back to Q8_0 at 640 wide.
        assert_eq!(to(&p, "blk.0.attn_v.weight"), GgmlType::Q5_0);
        assert_eq!(to(&p, "blk.3.attn_v.weight"), GgmlType::Q8_0);
        assert_eq!(to(&p, "blk.0.ffn_down.weight"), GgmlType::Q4K);
        assert_eq!(to(&p, "blk.3.ffn_down.weight"), GgmlType::Q6K);
    }

    #[test]
    fn float_targets_convert_every_matrix_but_keep_vectors() {
        let t = dense(2, 512, 1024, false);
        let p = Plan::new(&facts(2), &t, FileType::BF16).unwrap();
        assert_eq!(to(&p, "blk.1.ffn_down.weight"), GgmlType::BF16);
        assert_eq!(to(&p, "output.weight"), GgmlType::BF16);
        assert_eq!(to(&p, "blk.1.attn_norm.weight"), GgmlType::F32);
    }

    #[test]
    fn q3_k_m_and_q2_k_rules() {
        let t = dense(32, 512, 1024, false);
        let p = Plan::new(&facts(32), &t, FileType::Q3KM).unwrap();
        assert_eq!(to(&p, "blk.0.attn_v.weight"), GgmlType::Q5K);
        assert_eq!(to(&p, "blk.2.attn_v.weight"), GgmlType::Q4K);
        assert_eq!(to(&p, "blk.1.ffn_down.weight"), GgmlType::Q5K);
        assert_eq!(to(&p, "blk.2.ffn_down.weight"), GgmlType::Q4K);
        assert_eq!(to(&p, "blk.5.attn_output.weight"), GgmlType::Q4K);
        assert_eq!(to(&p, "blk.5.attn_q.weight"), GgmlType::Q3K);
        let p = Plan::new(&facts(32), &t, FileType::Q2K).unwrap();
        assert_eq!(to(&p, "blk.5.attn_v.weight"), GgmlType::Q3K);
        assert_eq!(to(&p, "blk.5.ffn_down.weight"), GgmlType::Q3K);
        assert_eq!(to(&p, "blk.5.ffn_up.weight"), GgmlType::Q2K);
    }

    #[test]
    fn layer_counters_follow_layer_order_not_file_order() {
        let mut t = dense(8, 512, 1024, false);
        t.reverse();
        let p = Plan::new(&facts(8), &t, FileType::Q4KS).unwrap();
        let q5: Vec<usize> = (0..8).filter(|l| to(&p, &format!("blk.{l}.attn_v.weight")) == GgmlType::Q5K).collect();
        assert_eq!(q5, vec![0, 1, 2, 3]);
        assert_eq!(p.tensors[0].name, t[0].0, "the plan keeps file order");
    }

    #[test]
    fn one_dimensional_shapes_with_trailing_ones_are_vectors() {
        assert!(!may_quantize("blk.0.ffn_up.weight", &[640, 1]));
        assert!(may_quantize("blk.0.ffn_up.weight", &[640, 2]));
        assert!(!may_quantize("blk.0.ffn_gate_inp.weight", &[640, 8]));
        assert!(!may_quantize("blk.0.attn_q.bias", &[640, 8]));
    }
}
