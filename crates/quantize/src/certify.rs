//! What a quantization cost, recorded where users look: GGUF metadata keys (`agora.quality.*`,
//! `agora.lineage.*`) and a model card whose YAML front matter carries a `model-index` entry.

use std::path::Path;

use weights::MetaValue;

use crate::ftype::FileType;
use crate::kld::KldReport;

pub struct Certificate {
    pub base: String,
    pub output: String,
    pub text: String,
    pub ftype: FileType,
    pub report: KldReport,
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
}

impl Certificate {
    pub fn new(base: &Path, output: &Path, text: &Path, ftype: FileType, report: &KldReport) -> Certificate {
        Certificate {
            base: file_name(base),
            output: file_name(output),
            text: file_name(text),
            ftype,
            report: report.clone(),
        }
    }

    pub fn metadata(&self) -> Vec<(String, MetaValue)> {
        let r = &self.report;
        let f = |k: &str, v: f64| (format!("agora.quality.{k}"), MetaValue::F64(v));
        vec![
            f("kld_mean", r.kld_mean),
            f("kld_stderr", r.kld_stderr),
            f("kld_p99", r.kld.p99),
            f("top1_agreement", r.top1_agreement),
            f("ppl_base", r.ppl_base),
            f("ppl", r.ppl_quant),
            f("ppl_delta", r.ppl_delta),
            f("delta_p_rms", r.delta_p_rms),
            ("agora.quality.ctx".into(), MetaValue::U32(r.n_ctx as u32)),
            ("agora.quality.scored_tokens".into(), MetaValue::U64(r.scored_tokens as u64)),
            ("agora.quality.text".into(), MetaValue::String(self.text.clone())),
            ("agora.lineage.base".into(), MetaValue::String(self.base.clone())),
            ("agora.lineage.method".into(), MetaValue::String(format!("agora quantize --type {}", self.ftype.name()))),
        ]
    }

    /// The model card: YAML front matter (`model-index` with the figures) and a short body.
    pub fn card(&self) -> String {
        let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
        let r = &self.report;
        let metric = |name: &str, ty: &str, v: f64| {
            format!("    - name: {}\n      type: {ty}\n      value: {v:.6}\n", q(name))
        };
        let mut s = String::from("---\n");
        s += &format!("base_model: {}\n", q(&self.base));
        s += "tags:\n- gguf\n- quantized\n";
        s += &format!("- {}\n", q(self.ftype.name()));
        s += "model-index:\n";
        s += &format!("- name: {}\n  results:\n  - task:\n      type: text-generation\n", q(&self.output));
        s += &format!("    dataset:\n      name: {}\n      type: text\n    metrics:\n", q(&self.text));
        s += &metric("Mean KL divergence from the base model", "kl_divergence", r.kld_mean);
        s += &metric("Top-1 agreement with the base model", "top1_agreement", r.top1_agreement);
        s += &metric("Perplexity", "perplexity", r.ppl_quant);
        s += &metric("Perplexity of the base model", "perplexity_base", r.ppl_base);
        s += "---\n\n";
        s += &format!("# {}\n\n", self.output);
        s += &format!(
            "`{}` quantized to {} by `agora quantize`. Measured against the base model on `{}` \
             ({} chunks of {} tokens, {} positions scored):\n\n",
            self.base, self.ftype.name(), self.text, r.n_chunks, r.n_ctx, r.scored_tokens
        );
        s += "| figure | value |\n|---|---|\n";
        s += &format!("| mean KL divergence | {:.6} +/- {:.6} |\n", r.kld_mean, r.kld_stderr);
        s += &format!("| 99th percentile KL divergence | {:.6} |\n", r.kld.p99);
        s += &format!("| same top token | {:.2}% |\n", 100.0 * r.top1_agreement);
        s += &format!("| perplexity (base -> quantized) | {:.4} -> {:.4} ({:+.4}) |\n", r.ppl_base, r.ppl_quant, r.ppl_delta);
        s += &format!("| RMS change in next-token probability | {:.3}% |\n", 100.0 * r.delta_p_rms);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kld::{KldReport, TokenScore};

    #[test]
    fn card_front_matter_carries_the_figures() {
        let s = TokenScore { kld: 0.02, base_logp: -1.0, quant_logp: -1.1, same_top: true, delta_p: -0.01 };
        let r = KldReport::from_scores(&[s, s], 64, 1).unwrap();
        let c = Certificate::new(Path::new("/m/base.gguf"), Path::new("/m/q.gguf"), Path::new("wiki.txt"), FileType::Q4KM, &r);
        let card = c.card();
        let front = card.split("---\n").nth(1).unwrap();
        assert!(front.contains("base_model: \"base.gguf\""), "{front}");
        assert!(front.contains("model-index:\n- name: \"q.gguf\""), "{front}");
        assert!(front.contains("type: kl_divergence\n      value: 0.020000"), "{front}");
        assert!(front.contains("type: top1_agreement\n      value: 1.000000"), "{front}");
        let md = c.metadata();
        assert!(md.iter().any(|(k, v)| k == "agora.quality.kld_mean" && *v == MetaValue::F64(r.kld_mean)));
        assert!(md.iter().any(|(k, _)| k == "agora.lineage.base"));
    }
}
