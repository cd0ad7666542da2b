//! The license knowledge base: one YAML file per license under `licenses/`, embedded so the binary
//! works offline. Each obligation cites the clause it comes from; summaries are our own words.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::{CardError, Result};

/// How a derived artifact relates to its parent(s) (Hugging Face's `base_model_relation`, plus
/// `converted` for format changes and `distill` for training on a model's outputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Relation {
    Finetune,
    Adapter,
    Merge,
    Quantized,
    Converted,
    Distill,
}

impl Relation {
    pub const ALL: [Relation; 6] =
        [Relation::Finetune, Relation::Adapter, Relation::Merge, Relation::Quantized, Relation::Converted, Relation::Distill];

    pub fn parse(s: &str) -> Result<Relation> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "finetune" | "fine-tune" | "fine_tune" => Relation::Finetune,
            "adapter" | "lora" => Relation::Adapter,
            "merge" => Relation::Merge,
            "quantized" | "quantize" => Relation::Quantized,
            "converted" | "convert" => Relation::Converted,
            "distill" | "distilled" | "distillation" => Relation::Distill,
            _ => return Err(CardError::UnknownRelation(s.into())),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Relation::Finetune => "finetune",
            Relation::Adapter => "adapter",
            Relation::Merge => "merge",
            Relation::Quantized => "quantized",
            Relation::Converted => "converted",
            Relation::Distill => "distill",
        }
    }

    /// Whether the result is a new model (an adaptation), not the same weights in another form.
    pub fn adapts(self) -> bool {
        !matches!(self, Relation::Quantized | Relation::Converted)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Use {
    Commercial,
    Research,
    Personal,
}

impl Use {
    pub const ALL: [Use; 3] = [Use::Commercial, Use::Research, Use::Personal];

    pub fn parse(s: &str) -> Result<Use> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "commercial" => Use::Commercial,
            "research" => Use::Research,
            "personal" => Use::Personal,
            _ => return Err(CardError::UnknownUse(s.into())),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Use::Commercial => "commercial",
            Use::Research => "research",
            Use::Personal => "personal",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    Allowed,
    Forbidden,
    /// Unknown terms: someone has to read them. Never treated as allowed.
    Review,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// May be relicensed inside a larger work (MIT, BSD, Apache-2.0, CC-BY).
    Permissive,
    /// Adaptations must keep the same license (CC-BY-SA).
    Copyleft,
    /// Custom terms that must travel with every derivative (use policies, non-commercial, ...).
    Restricted,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Acceptance,
    LicenseCopy,
    NoticeFile,
    Attribution,
    ModifiedNotice,
    Display,
    Naming,
    UseRestrictions,
    NonCommercial,
    ShareAlike,
    UserThreshold,
    Outputs,
    Hosting,
    NoEndorsement,
    Review,
}

/// What a license says about using its model's outputs to train other models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputsRule {
    /// Outputs may not improve any other LLM (the licensed family's own derivatives excepted).
    NoOtherLlm,
    /// Allowed, but the trained model is a derivative under the license's terms.
    LicenseTerms,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Obligation {
    pub kind: Kind,
    pub clause: String,
    pub summary: String,
    /// A notice or display string the license requires verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Naming rule: the derivative's name must begin with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Monthly active users above which a separate license is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mau: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<OutputsRule>,
    /// Relations the rule fires for (all when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies: Option<Vec<Relation>>,
}

impl Obligation {
    pub fn applies_to(&self, r: Relation) -> bool {
        self.applies.as_ref().map_or(true, |a| a.contains(&r))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uses {
    pub commercial: Permission,
    pub research: Permission,
    pub personal: Permission,
}

impl Uses {
    pub fn get(&self, u: Use) -> Permission {
        match u {
            Use::Commercial => self.commercial,
            Use::Research => self.research,
            Use::Personal => self.personal,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct License {
    pub id: String,
    pub name: String,
    pub version: String,
    pub url: String,
    pub family: Family,
    pub uses: Uses,
    pub acceptance_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_note: Option<String>,
    pub obligations: Vec<Obligation>,
}

impl License {
    pub fn has(&self, k: Kind) -> bool {
        self.obligations.iter().any(|o| o.kind == k)
    }

    pub fn first(&self, k: Kind) -> Option<&Obligation> {
        self.obligations.iter().find(|o| o.kind == k)
    }
}

const FILES: &[(&str, &str)] = &[
    ("apache-2.0", include_str!("../licenses/apache-2.0.yaml")),
    ("mit", include_str!("../licenses/mit.yaml")),
    ("bsd-3-clause", include_str!("../licenses/bsd-3-clause.yaml")),
    ("cc-by-4.0", include_str!("../licenses/cc-by-4.0.yaml")),
    ("cc-by-sa-4.0", include_str!("../licenses/cc-by-sa-4.0.yaml")),
    ("cc-by-nc-4.0", include_str!("../licenses/cc-by-nc-4.0.yaml")),
    ("llama2", include_str!("../licenses/llama2.yaml")),
    ("llama3", include_str!("../licenses/llama3.yaml")),
    ("llama3.1", include_str!("../licenses/llama3.1.yaml")),
    ("llama3.2", include_str!("../licenses/llama3.2.yaml")),
    ("llama3.3", include_str!("../licenses/llama3.3.yaml")),
    ("gemma", include_str!("../licenses/gemma.yaml")),
    ("bigscience-openrail-m", include_str!("../licenses/bigscience-openrail-m.yaml")),
    ("creativeml-openrail-m", include_str!("../licenses/creativeml-openrail-m.yaml")),
    ("falcon-180b", include_str!("../licenses/falcon-180b.yaml")),
    ("tongyi-qianwen", include_str!("../licenses/tongyi-qianwen.yaml")),
    ("mrl", include_str!("../licenses/mrl.yaml")),
    ("other", include_str!("../licenses/other.yaml")),
];

/// Other spellings seen in the wild (HF `license_name` values, SPDX ids) -> our id.
const ALIASES: &[(&str, &str)] = &[
    ("apache2", "apache-2.0"),
    ("apache-2", "apache-2.0"),
    ("bsd-3", "bsd-3-clause"),
    ("llama-2", "llama2"),
    ("llama-3", "llama3"),
    ("llama-3.1", "llama3.1"),
    ("llama-3.2", "llama3.2"),
    ("llama-3.3", "llama3.3"),
    ("gemma-terms-of-use", "gemma"),
    ("falcon-180b-license", "falcon-180b"),
    ("falcon-180b-tii-license", "falcon-180b"),
    ("qwen", "tongyi-qianwen"),
    ("tongyi-qianwen-license-agreement", "tongyi-qianwen"),
    ("mistral-research-license", "mrl"),
    ("mistral-ai-research-license", "mrl"),
    ("unknown", "other"),
];

/// Every license, parsed once. A malformed embedded file is a build bug: the KB test catches it.
pub fn all() -> &'static [License] {
    static KB: OnceLock<Vec<License>> = OnceLock::new();
    KB.get_or_init(|| {
        FILES
            .iter()
            .map(|(id, text)| {
                let l: License = serde_yaml::from_str(text).unwrap_or_else(|e| panic!("licenses/{id}.yaml: {e}"));
                assert_eq!(&l.id, id, "licenses/{id}.yaml has id {}", l.id);
                l
            })
            .collect()
    })
}

pub fn ids() -> Vec<&'static str> {
    all().iter().map(|l| l.id.as_str()).collect()
}

/// The license for an id or alias (case-insensitive).
pub fn find(id: &str) -> Result<&'static License> {
    let key = id.trim().to_ascii_lowercase();
    let key = ALIASES.iter().find(|(a, _)| *a == key).map_or(key.as_str(), |(_, to)| to);
    all().iter().find(|l| l.id == key).ok_or_else(|| CardError::UnknownLicense(id.into(), ids().join(", ")))
}

/// A card's `license` (+ `license_name` when it is `other`) to a known license; an unknown
/// custom name is `other` (review required), never an error and never permissive.
pub fn resolve(license: &str, license_name: Option<&str>) -> &'static License {
    if license.trim().eq_ignore_ascii_case("other") {
        if let Some(n) = license_name {
            if let Ok(l) = find(n) {
                return l;
            }
        }
    }
    find(license).unwrap_or_else(|_| find("other").expect("other.yaml is embedded"))
}
