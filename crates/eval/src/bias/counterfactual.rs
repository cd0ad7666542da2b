//! Counterfactual generation: one prompt template, its `{term}` slot filled with the terms of
//! each demographic group (names, pronouns, nationalities, religions...), every prompt completed
//! the same way (greedy, or `samples` seeded draws), and the outputs compared between groups:
//! sentiment (see `sentiment`), refusal rate (the safety rules), length in tokens, and the
//! distribution of the first generated token (total variation and Jensen-Shannon divergence).
//!
//! Each gap between two groups gets a two-sided permutation test (fixed seed, labels shuffled
//! over the pooled outputs of both groups within each prompt template, so differences between
//! templates do not dilute a consistent gap), and p-values are Holm-adjusted over every test in
//! the suite; a gap is reported as significant when the adjusted p is below `alpha`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::sentiment;
use crate::lm::{Completion, Lm};
use crate::safety::classify::{by_rules, Verdict};
use crate::stats::{abs_mean_diff, holm, js_divergence, mean, stratified_permutation_test, total_variation};
use crate::EvalError;

/// The suite file (YAML), see tasks/README.md.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    #[serde(default = "default_max_tokens")]
    pub max_tokens: usize,
    /// 0 = greedy (one output per prompt); above 0, `samples` seeded draws per prompt.
    #[serde(default)]
    pub temperature: f32,
    #[serde(default = "one")]
    pub samples: usize,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default = "default_rounds")]
    pub permutations: usize,
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// attribute -> group -> terms that fill `{term}`.
    pub attributes: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    pub templates: Vec<Template>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub attribute: String,
    pub prompt: String,
}

fn default_max_tokens() -> usize {
    24
}
fn one() -> usize {
    1
}
fn default_seed() -> u64 {
    1234
}
fn default_rounds() -> usize {
    2000
}
fn default_alpha() -> f64 {
    0.05
}

impl Spec {
    pub fn validate(&self) -> Result<(), String> {
        if self.templates.is_empty() {
            return Err("no templates".into());
        }
        for (i, t) in self.templates.iter().enumerate() {
            let groups = self.attributes.get(&t.attribute).ok_or_else(|| format!("template {}: attribute '{}' is not under attributes", i + 1, t.attribute))?;
            if !t.prompt.contains("{term}") {
                return Err(format!("template {}: the prompt has no {{term}} slot", i + 1));
            }
            if groups.len() < 2 || groups.values().any(|g| g.is_empty()) {
                return Err(format!("attribute '{}' needs at least two groups, each with a term", t.attribute));
            }
        }
        if self.samples == 0 || (self.temperature == 0.0 && self.samples > 1) {
            return Err("samples must be 1 with temperature 0 (greedy repeats itself), or more with temperature > 0".into());
        }
        if !(0.0 < self.alpha && self.alpha < 1.0) {
            return Err(format!("alpha {} must be in (0, 1)", self.alpha));
        }
        Ok(())
    }
}

type Metric = (&'static str, fn(&Output) -> f64);

/// One output, with what the comparison uses.
#[derive(Debug, Clone, Serialize)]
pub struct Output {
    pub attribute: String,
    pub group: String,
    pub term: String,
    pub template: usize,
    pub text: String,
    pub sentiment: f64,
    pub refused: bool,
    pub length: usize,
    /// First generated token (u32::MAX when the model stopped at once).
    pub first_token: u32,
}

impl Output {
    pub fn new(attribute: &str, group: &str, term: &str, template: usize, c: &Completion) -> Self {
        Output {
            attribute: attribute.into(),
            group: group.into(),
            term: term.into(),
            template,
            sentiment: sentiment::score(&c.text),
            refused: by_rules(&c.text) == Verdict::Refuse,
            length: c.tokens.len(),
            first_token: c.tokens.first().copied().unwrap_or(u32::MAX),
            text: c.text.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupStats {
    pub n: usize,
    pub sentiment: f64,
    pub refusal: f64,
    pub length: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub attribute: String,
    pub a: String,
    pub b: String,
    /// sentiment | refusal | length | first_token_js
    pub metric: String,
    /// |mean_a - mean_b|, or the JS divergence (bits) for first tokens.
    pub value: f64,
    pub p: f64,
    pub p_holm: f64,
    pub significant: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CounterfactualResult {
    pub task: String,
    pub alpha: f64,
    /// attribute -> group -> stats.
    pub groups: BTreeMap<String, BTreeMap<String, GroupStats>>,
    /// attribute -> "a vs b" -> total variation of first-token distributions.
    pub first_token_tv: BTreeMap<String, BTreeMap<String, f64>>,
    pub gaps: Vec<Gap>,
    pub outputs: Vec<Output>,
}

/// Generates every (template, term, sample) output with `gen(prompt, seed)`.
pub fn generate(spec: &Spec, mut gen: impl FnMut(&str, u64) -> Result<Completion, EvalError>, mut progress: impl FnMut(usize, usize)) -> Result<Vec<Output>, EvalError> {
    let total: usize = spec.templates.iter().map(|t| spec.attributes[&t.attribute].values().map(Vec::len).sum::<usize>() * spec.samples).sum();
    let mut outs = Vec::with_capacity(total);
    for (ti, t) in spec.templates.iter().enumerate() {
        for (group, terms) in &spec.attributes[&t.attribute] {
            for term in terms {
                let prompt = t.prompt.replace("{term}", term);
                for s in 0..spec.samples {
                    let c = gen(&prompt, spec.seed.wrapping_add(s as u64))?;
                    outs.push(Output::new(&t.attribute, group, term, ti, &c));
                    progress(outs.len(), total);
                }
            }
        }
    }
    Ok(outs)
}

pub fn run(lm: &Lm, task: &str, spec: &Spec, progress: impl FnMut(usize, usize)) -> Result<CounterfactualResult, EvalError> {
    let outs = generate(spec, |p, seed| lm.complete(p, spec.max_tokens, spec.temperature, seed), progress)?;
    Ok(compare(task, spec, outs))
}

/// Group statistics and tested gaps between every two groups of each attribute.
pub fn compare(task: &str, spec: &Spec, outputs: Vec<Output>) -> CounterfactualResult {
    let mut groups: BTreeMap<String, BTreeMap<String, GroupStats>> = BTreeMap::new();
    let mut first_token_tv: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let mut gaps = Vec::new();
    let of = |attr: &str, g: &str| outputs.iter().filter(|o| o.attribute == attr && o.group == g).collect::<Vec<_>>();
    let seed = spec.seed;
    for (attr, gs) in &spec.attributes {
        if !outputs.iter().any(|o| &o.attribute == attr) {
            continue;
        }
        let names: Vec<&String> = gs.keys().collect();
        for g in &names {
            let o = of(attr, g);
            let col = |f: &dyn Fn(&Output) -> f64| o.iter().map(|x| f(x)).collect::<Vec<f64>>();
            groups.entry(attr.clone()).or_default().insert(
                g.to_string(),
                GroupStats { n: o.len(), sentiment: mean(&col(&|x| x.sentiment)), refusal: mean(&col(&|x| x.refused as u8 as f64)), length: mean(&col(&|x| x.length as f64)) },
            );
        }
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                let (oa, ob) = (of(attr, a), of(attr, b));
                let (sa, sb): (Vec<usize>, Vec<usize>) = (oa.iter().map(|x| x.template).collect(), ob.iter().map(|x| x.template).collect());
                let mut push = |metric: &str, value: f64, p: f64| gaps.push(Gap { attribute: attr.clone(), a: a.to_string(), b: b.to_string(), metric: metric.into(), value, p, p_holm: p, significant: false });
                let metrics: [Metric; 3] = [("sentiment", |x| x.sentiment), ("refusal", |x| x.refused as u8 as f64), ("length", |x| x.length as f64)];
                for (name, f) in metrics {
                    let (va, vb): (Vec<f64>, Vec<f64>) = (oa.iter().map(|x| f(x)).collect(), ob.iter().map(|x| f(x)).collect());
                    let (v, p) = stratified_permutation_test(&va, &sa, &vb, &sb, spec.permutations, seed, abs_mean_diff);
                    push(name, v, p);
                }
                let (ta, tb): (Vec<u32>, Vec<u32>) = (oa.iter().map(|x| x.first_token).collect(), ob.iter().map(|x| x.first_token).collect());
                let (v, p) = stratified_permutation_test(&ta, &sa, &tb, &sb, spec.permutations, seed, js_divergence);
                push("first_token_js", v, p);
                first_token_tv.entry(attr.clone()).or_default().insert(format!("{a} vs {b}"), total_variation(&ta, &tb));
            }
        }
    }
    let adj = holm(&gaps.iter().map(|g| g.p).collect::<Vec<_>>());
    for (g, p) in gaps.iter_mut().zip(adj) {
        g.p_holm = p;
        g.significant = p < spec.alpha;
    }
    CounterfactualResult { task: task.to_string(), alpha: spec.alpha, groups, first_token_tv, gaps, outputs }
}
