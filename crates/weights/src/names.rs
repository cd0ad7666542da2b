//! Typed GGUF names: metadata keys and tensor names, so no other crate spells them as strings.

/// Metadata keys the engine reads. Keys marked `{arch}` are prefixed with the architecture name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MetaKey {
    GeneralArchitecture,
    GeneralName,
    GeneralAlignment,
    GeneralFileType,
    GeneralLicense,
    GeneralQuantizationVersion,
    ContextLength,
    EmbeddingLength,
    BlockCount,
    FeedForwardLength,
    AttentionHeadCount,
    AttentionHeadCountKv,
    AttentionKeyLength,
    AttentionValueLength,
    AttentionLayerNormRmsEpsilon,
    AttentionSlidingWindow,
    AttnLogitSoftcapping,
    FinalLogitSoftcapping,
    RopeFreqBase,
    RopeDimensionCount,
    RopeScalingType,
    RopeScalingFactor,
    RopeScalingOriginalContextLength,
    VocabSize,
    TokenizerModel,
    TokenizerPre,
    TokenizerTokens,
    TokenizerScores,
    TokenizerTokenType,
    TokenizerMerges,
    TokenizerBosId,
    TokenizerEosId,
    TokenizerEotId,
    TokenizerPaddingId,
    TokenizerUnknownId,
    TokenizerAddBos,
    TokenizerAddEos,
    TokenizerAddSpacePrefix,
    TokenizerChatTemplate,
}

impl MetaKey {
    pub const ALL: [MetaKey; 39] = {
        use MetaKey::*;
        [
            GeneralArchitecture,
            GeneralName,
            GeneralAlignment,
            GeneralFileType,
            GeneralLicense,
            GeneralQuantizationVersion,
            ContextLength,
            EmbeddingLength,
            BlockCount,
            FeedForwardLength,
            AttentionHeadCount,
            AttentionHeadCountKv,
            AttentionKeyLength,
            AttentionValueLength,
            AttentionLayerNormRmsEpsilon,
            AttentionSlidingWindow,
            AttnLogitSoftcapping,
            FinalLogitSoftcapping,
            RopeFreqBase,
            RopeDimensionCount,
            RopeScalingType,
            RopeScalingFactor,
            RopeScalingOriginalContextLength,
            VocabSize,
            TokenizerModel,
            TokenizerPre,
            TokenizerTokens,
            TokenizerScores,
            TokenizerTokenType,
            TokenizerMerges,
            TokenizerBosId,
            TokenizerEosId,
            TokenizerEotId,
            TokenizerPaddingId,
            TokenizerUnknownId,
            TokenizerAddBos,
            TokenizerAddEos,
            TokenizerAddSpacePrefix,
            TokenizerChatTemplate,
        ]
    };

    /// The key without the architecture prefix (e.g. "attention.head_count"), and whether it takes one.
    fn parts(self) -> (bool, &'static str) {
        use MetaKey::*;
        match self {
            GeneralArchitecture => (false, "general.architecture"),
            GeneralName => (false, "general.name"),
            GeneralAlignment => (false, "general.alignment"),
            GeneralFileType => (false, "general.file_type"),
            GeneralLicense => (false, "general.license"),
            GeneralQuantizationVersion => (false, "general.quantization_version"),
            ContextLength => (true, "context_length"),
            EmbeddingLength => (true, "embedding_length"),
            BlockCount => (true, "block_count"),
            FeedForwardLength => (true, "feed_forward_length"),
            AttentionHeadCount => (true, "attention.head_count"),
            AttentionHeadCountKv => (true, "attention.head_count_kv"),
            AttentionKeyLength => (true, "attention.key_length"),
            AttentionValueLength => (true, "attention.value_length"),
            AttentionLayerNormRmsEpsilon => (true, "attention.layer_norm_rms_epsilon"),
            AttentionSlidingWindow => (true, "attention.sliding_window"),
            AttnLogitSoftcapping => (true, "attn_logit_softcapping"),
            FinalLogitSoftcapping => (true, "final_logit_softcapping"),
            RopeFreqBase => (true, "rope.freq_base"),
            RopeDimensionCount => (true, "rope.dimension_count"),
            RopeScalingType => (true, "rope.scaling.type"),
            RopeScalingFactor => (true, "rope.scaling.factor"),
            RopeScalingOriginalContextLength => (true, "rope.scaling.original_context_length"),
            VocabSize => (true, "vocab_size"),
            TokenizerModel => (false, "tokenizer.ggml.model"),
            TokenizerPre => (false, "tokenizer.ggml.pre"),
            TokenizerTokens => (false, "tokenizer.ggml.tokens"),
            TokenizerScores => (false, "tokenizer.ggml.scores"),
            TokenizerTokenType => (false, "tokenizer.ggml.token_type"),
            TokenizerMerges => (false, "tokenizer.ggml.merges"),
            TokenizerBosId => (false, "tokenizer.ggml.bos_token_id"),
            TokenizerEosId => (false, "tokenizer.ggml.eos_token_id"),
            TokenizerEotId => (false, "tokenizer.ggml.eot_token_id"),
            TokenizerPaddingId => (false, "tokenizer.ggml.padding_token_id"),
            TokenizerUnknownId => (false, "tokenizer.ggml.unknown_token_id"),
            TokenizerAddBos => (false, "tokenizer.ggml.add_bos_token"),
            TokenizerAddEos => (false, "tokenizer.ggml.add_eos_token"),
            TokenizerAddSpacePrefix => (false, "tokenizer.ggml.add_space_prefix"),
            TokenizerChatTemplate => (false, "tokenizer.chat_template"),
        }
    }

    /// Whether the key is prefixed with the architecture name.
    pub fn is_per_arch(self) -> bool {
        self.parts().0
    }

    /// The full key: `MetaKey::BlockCount.key("gemma3")` is "gemma3.block_count";
    /// keys without an architecture prefix ignore `arch`.
    pub fn key(&self, arch: &str) -> String {
        match self.parts() {
            (true, suffix) => format!("{arch}.{suffix}"),
            (false, key) => key.to_string(),
        }
    }
}

/// Tensor names (the part between "blk.N." and ".weight").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TensorName {
    TokenEmbd,
    TokenEmbdNorm,
    OutputNorm,
    Output,
    RopeFreqs,
    AttnNorm,
    AttnNorm2,
    AttnQ,
    AttnK,
    AttnV,
    AttnQkv,
    AttnOutput,
    AttnQNorm,
    AttnKNorm,
    AttnPostNorm,
    FfnNorm,
    FfnGate,
    FfnUp,
    FfnDown,
    FfnPostNorm,
    FfnGateInp,
    FfnGateExps,
    FfnUpExps,
    FfnDownExps,
    FfnGateInpShexp,
    FfnGateShexp,
    FfnUpShexp,
    FfnDownShexp,
    RopeFactorsLong,
    RopeFactorsShort,
}

impl TensorName {
    pub const ALL: [TensorName; 30] = {
        use TensorName::*;
        [
            TokenEmbd,
            TokenEmbdNorm,
            OutputNorm,
            Output,
            RopeFreqs,
            AttnNorm,
            AttnNorm2,
            AttnQ,
            AttnK,
            AttnV,
            AttnQkv,
            AttnOutput,
            AttnQNorm,
            AttnKNorm,
            AttnPostNorm,
            FfnNorm,
            FfnGate,
            FfnUp,
            FfnDown,
            FfnPostNorm,
            FfnGateInp,
            FfnGateExps,
            FfnUpExps,
            FfnDownExps,
            FfnGateInpShexp,
            FfnGateShexp,
            FfnUpShexp,
            FfnDownShexp,
            RopeFactorsLong,
            RopeFactorsShort,
        ]
    };

    /// The GGUF base name ("attn_q", "post_ffw_norm"...).
    pub fn base(self) -> &'static str {
        use TensorName::*;
        match self {
            TokenEmbd => "token_embd",
            TokenEmbdNorm => "token_embd_norm",
            OutputNorm => "output_norm",
            Output => "output",
            RopeFreqs => "rope_freqs",
            AttnNorm => "attn_norm",
            AttnNorm2 => "attn_norm_2",
            AttnQ => "attn_q",
            AttnK => "attn_k",
            AttnV => "attn_v",
            AttnQkv => "attn_qkv",
            AttnOutput => "attn_output",
            AttnQNorm => "attn_q_norm",
            AttnKNorm => "attn_k_norm",
            AttnPostNorm => "post_attention_norm",
            FfnNorm => "ffn_norm",
            FfnGate => "ffn_gate",
            FfnUp => "ffn_up",
            FfnDown => "ffn_down",
            FfnPostNorm => "post_ffw_norm",
            FfnGateInp => "ffn_gate_inp",
            FfnGateExps => "ffn_gate_exps",
            FfnUpExps => "ffn_up_exps",
            FfnDownExps => "ffn_down_exps",
            FfnGateInpShexp => "ffn_gate_inp_shexp",
            FfnGateShexp => "ffn_gate_shexp",
            FfnUpShexp => "ffn_up_shexp",
            FfnDownShexp => "ffn_down_shexp",
            RopeFactorsLong => "rope_factors_long",
            RopeFactorsShort => "rope_factors_short",
        }
    }

    /// Whether the tensor exists once per block ("blk.N.") rather than once per model.
    pub fn is_per_layer(self) -> bool {
        use TensorName::*;
        !matches!(
            self,
            TokenEmbd | TokenEmbdNorm | OutputNorm | Output | RopeFreqs | RopeFactorsLong | RopeFactorsShort
        )
    }
}

/// The full ".weight" name: `tn(TensorName::AttnNorm, Some(3))` is "blk.3.attn_norm.weight",
/// `tn(TensorName::TokenEmbd, None)` is "token_embd.weight". The layer is only used for per-layer names.
pub fn tn(name: TensorName, layer: Option<usize>) -> String {
    tn_suffix(name, layer, "weight")
}

/// The ".bias" name (Qwen2 has q/k/v biases).
pub fn tn_bias(name: TensorName, layer: Option<usize>) -> String {
    tn_suffix(name, layer, "bias")
}

fn tn_suffix(name: TensorName, layer: Option<usize>, suffix: &str) -> String {
    match layer {
        Some(il) if name.is_per_layer() => format!("blk.{il}.{}.{suffix}", name.base()),
        _ => format!("{}.{suffix}", name.base()),
    }
}

/// Inverse of `tn`/`tn_bias`: "blk.3.ffn_up.weight" -> (FfnUp, Some(3), "weight"). None for other names.
pub fn parse_tn(full: &str) -> Option<(TensorName, Option<usize>, &str)> {
    let (rest, layer) = match full.strip_prefix("blk.") {
        Some(r) => {
            let (n, rest) = r.split_once('.')?;
            (rest, Some(n.parse::<usize>().ok()?))
        }
        None => (full, None),
    };
    let (base, suffix) = rest.rsplit_once('.')?;
    let name = TensorName::ALL.into_iter().find(|t| t.base() == base)?;
    (name.is_per_layer() == layer.is_some()).then_some((name, layer, suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_llama_cpp_spelling() {
        assert_eq!(tn(TensorName::AttnNorm, Some(3)), "blk.3.attn_norm.weight");
        assert_eq!(tn(TensorName::TokenEmbd, None), "token_embd.weight");
        assert_eq!(tn(TensorName::TokenEmbd, Some(2)), "token_embd.weight");
        assert_eq!(tn(TensorName::RopeFreqs, None), "rope_freqs.weight");
        assert_eq!(
            tn(TensorName::FfnPostNorm, Some(0)),
            "blk.0.post_ffw_norm.weight"
        );
        assert_eq!(tn_bias(TensorName::AttnQ, Some(1)), "blk.1.attn_q.bias");
        assert_eq!(MetaKey::BlockCount.key("gemma3"), "gemma3.block_count");
        assert_eq!(
            MetaKey::RopeScalingFactor.key("llama"),
            "llama.rope.scaling.factor"
        );
        assert_eq!(
            MetaKey::TokenizerEotId.key("x"),
            "tokenizer.ggml.eot_token_id"
        );
        assert_eq!(
            MetaKey::TokenizerChatTemplate.key("x"),
            "tokenizer.chat_template"
        );
    }

    #[test]
    fn parse_tn_inverts_tn() {
        for name in TensorName::ALL {
            let layer = name.is_per_layer().then_some(7);
            assert_eq!(parse_tn(&tn(name, layer)), Some((name, layer, "weight")));
        }
        assert_eq!(parse_tn("blk.x.attn_q.weight"), None);
        assert_eq!(parse_tn("attn_q.weight"), None);
        assert_eq!(parse_tn("blk.1.token_embd.weight"), None);
    }

    #[test]
    fn keys_are_unique() {
        let keys: std::collections::HashSet<_> = MetaKey::ALL.iter().map(|k| k.key("a")).collect();
        assert_eq!(keys.len(), MetaKey::ALL.len());
    }
}
