//! Generation tasks in lm-evaluation-harness's `generate_until` form: the prompt (optionally
//! after `num_fewshot` solved examples drawn with a fixed seed from `fewshot_split`) is
//! continued greedily as plain text until one of `until` or `max_gen_toks`, and the output is
//! scored against `doc_to_target` by `exact_match` (lm-eval's `ignore_case`,
//! `ignore_punctuation`), `contains`, or `regex` (`pattern`, with `{{target}}` substituted
//! escaped). Also `loglikelihood_rolling` (perplexity of each document's text). The few-shot
//! draw is our own seeded shuffle, so it is reproducible here but not lm-eval's exact draw;
//! `fewshot_config: {sampler: first_n}` takes the first examples and matches lm-eval.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lm::Lm;
use crate::stats::{Proportion, SplitMix};
use crate::EvalError;

#[derive(Deserialize)]
struct GenYaml {
    task: String,
    output_type: String,
    dataset_kwargs: Kwargs,
    test_split: Option<String>,
    fewshot_split: Option<String>,
    #[serde(default)]
    num_fewshot: usize,
    fewshot_config: Option<FewshotConfig>,
    #[serde(default = "default_seed")]
    fewshot_seed: u64,
    doc_to_text: String,
    doc_to_target: Option<String>,
    #[serde(default = "space")]
    target_delimiter: String,
    #[serde(default = "blank_line")]
    fewshot_delimiter: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    generation_kwargs: GenKwargs,
    #[serde(default)]
    metric_list: Vec<MetricSpec>,
}

#[derive(Deserialize)]
struct Kwargs {
    data_files: HashMap<String, String>,
}

#[derive(Deserialize)]
struct FewshotConfig {
    sampler: Option<String>,
}

#[derive(Deserialize, Default)]
struct GenKwargs {
    #[serde(default)]
    until: Vec<String>,
    max_gen_toks: Option<usize>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct MetricSpec {
    pub metric: String,
    #[serde(default)]
    pub ignore_case: bool,
    #[serde(default)]
    pub ignore_punctuation: bool,
    pub pattern: Option<String>,
}

fn default_seed() -> u64 {
    1234
}
fn space() -> String {
    " ".into()
}
fn blank_line() -> String {
    "\n\n".into()
}

#[derive(Debug, Clone)]
pub struct GenDoc {
    pub prompt: String,
    pub target: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Until { until: Vec<String>, max_tokens: usize },
    Rolling,
}

#[derive(Debug, Clone)]
pub struct GenTask {
    pub name: String,
    pub kind: Kind,
    pub docs: Vec<GenDoc>,
    pub metrics: Vec<MetricSpec>,
}

fn render(env: &minijinja::Environment, name: &str, doc: &Value) -> Result<String, String> {
    env.get_template(name).expect("added").render(doc).map_err(|e| format!("{name}: {e}"))
}

fn load_split(dir: &Path, files: &HashMap<String, String>, split: &str) -> Result<Vec<Value>, EvalError> {
    let file = files.get(split).ok_or_else(|| EvalError::bad(dir, format!("data_files has no '{split}' split")))?;
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| EvalError::bad(&path, e.to_string()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| EvalError::bad(&path, format!("line {}: {e}", i + 1))))
        .collect()
}

impl GenTask {
    pub fn load(dir: &Path) -> Result<GenTask, EvalError> {
        let yaml = dir.join("task.yaml");
        let text = std::fs::read_to_string(&yaml).map_err(|e| EvalError::bad(&yaml, e.to_string()))?;
        let t: GenYaml = serde_yaml::from_str(&text).map_err(|e| EvalError::bad(&yaml, e.to_string()))?;
        let bad = |r: String| EvalError::bad(&yaml, r);
        let kind = match t.output_type.as_str() {
            "generate_until" => Kind::Until { until: t.generation_kwargs.until.clone(), max_tokens: t.generation_kwargs.max_gen_toks.unwrap_or(256) },
            "loglikelihood_rolling" => Kind::Rolling,
            o => return Err(bad(format!("output_type '{o}' is not a generation task"))),
        };
        let mut env = minijinja::Environment::new();
        env.add_template_owned("text", t.doc_to_text.clone()).map_err(|e| bad(format!("doc_to_text: {e}")))?;
        let target_src = t.doc_to_target.clone().unwrap_or_default();
        // lm-eval: a bare field name or a Jinja template.
        let target_tmpl = if target_src.contains("{{") || target_src.is_empty() { target_src.clone() } else { format!("{{{{ {target_src} }}}}") };
        env.add_template_owned("target", target_tmpl).map_err(|e| bad(format!("doc_to_target: {e}")))?;
        let split = t.test_split.clone().unwrap_or_else(|| "test".into());
        let files = &t.dataset_kwargs.data_files;
        let test = load_split(dir, files, &split)?;
        let pool = match (&t.fewshot_split, t.num_fewshot) {
            (_, 0) => Vec::new(),
            (Some(s), _) => load_split(dir, files, s)?,
            (None, _) => return Err(bad("num_fewshot > 0 needs a fewshot_split".into())),
        };
        let same_split = t.fewshot_split.as_deref() == Some(split.as_str());
        if t.num_fewshot > pool.len().saturating_sub(same_split as usize) {
            return Err(bad(format!("num_fewshot {} but the few-shot split has {} examples", t.num_fewshot, pool.len())));
        }
        let first_n = t.fewshot_config.as_ref().and_then(|c| c.sampler.as_deref()) == Some("first_n");
        let shot = |d: &Value| -> Result<String, String> { Ok(format!("{}{}{}", render(&env, "text", d)?, t.target_delimiter, render(&env, "target", d)?)) };
        let mut rng = SplitMix::new(t.fewshot_seed);
        let mut docs = Vec::new();
        for (i, d) in test.iter().enumerate() {
            let at = |r: String| EvalError::bad(dir, format!("{split} example {}: {r}", i + 1));
            let mut order: Vec<usize> = (0..pool.len()).filter(|&j| !(same_split && j == i)).collect();
            if !first_n {
                for k in (1..order.len()).rev() {
                    order.swap(k, rng.below(k + 1));
                }
            }
            let mut prompt = t.description.clone();
            for &j in order.iter().take(t.num_fewshot) {
                prompt += &shot(&pool[j]).map_err(at)?;
                prompt += &t.fewshot_delimiter;
            }
            prompt += &render(&env, "text", d).map_err(at)?;
            docs.push(GenDoc { prompt, target: render(&env, "target", d).map_err(at)? });
        }
        if docs.is_empty() {
            return Err(bad("no examples".into()));
        }
        let metrics = if t.metric_list.is_empty() && kind != Kind::Rolling {
            vec![MetricSpec { metric: "exact_match".into(), ignore_case: false, ignore_punctuation: false, pattern: None }]
        } else {
            t.metric_list
        };
        for m in &metrics {
            match m.metric.as_str() {
                "exact_match" | "contains" => {}
                "regex" => {
                    let p = m.pattern.as_deref().ok_or_else(|| bad("metric regex needs a pattern".into()))?;
                    regex::Regex::new(&p.replace("{{target}}", "x")).map_err(|e| bad(format!("pattern: {e}")))?;
                }
                "word_perplexity" | "byte_perplexity" | "bits_per_byte" if kind == Kind::Rolling => {}
                o => return Err(bad(format!("metric '{o}' is not supported; use exact_match, contains, regex (or perplexity metrics for loglikelihood_rolling)"))),
            }
        }
        Ok(GenTask { name: t.task, kind, docs, metrics })
    }
}

fn strip_punct(s: &str) -> String {
    s.chars().filter(|c| !c.is_ascii_punctuation()).collect()
}

/// Does `output` score 1 on `m` against `target`?
pub fn hit(m: &MetricSpec, output: &str, target: &str) -> bool {
    let norm = |s: &str| {
        let s = if m.ignore_case { s.to_lowercase() } else { s.to_string() };
        let s = if m.ignore_punctuation { strip_punct(&s) } else { s };
        s.trim().to_string()
    };
    let (o, t) = (norm(output), norm(target));
    match m.metric.as_str() {
        "exact_match" => o == t,
        "contains" => o.contains(&t),
        "regex" => {
            let p = m.pattern.as_deref().unwrap_or("").replace("{{target}}", &regex::escape(&t));
            regex::RegexBuilder::new(&p).case_insensitive(m.ignore_case).build().is_ok_and(|r| r.is_match(&o))
        }
        _ => false,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GenSample {
    pub prompt: String,
    pub target: String,
    pub output: String,
    /// Log-likelihood of the text (rolling tasks).
    pub loglik: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GenResult {
    pub task: String,
    /// metric -> share of examples that hit (exact 95% interval); rolling tasks: perplexities.
    pub metrics: Vec<(String, Proportion)>,
    pub perplexity: Option<Rolling>,
    pub samples: Vec<GenSample>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rolling {
    pub word_perplexity: f64,
    pub byte_perplexity: f64,
    pub bits_per_byte: f64,
}

pub fn run(lm: &Lm, t: &GenTask, mut progress: impl FnMut(usize)) -> Result<GenResult, EvalError> {
    let mut samples = Vec::new();
    for (i, d) in t.docs.iter().enumerate() {
        let s = match &t.kind {
            Kind::Until { until, max_tokens } => GenSample { prompt: d.prompt.clone(), target: d.target.clone(), output: lm.continue_text(&d.prompt, *max_tokens, until)?.text, loglik: None },
            Kind::Rolling => GenSample { prompt: d.prompt.clone(), target: String::new(), output: String::new(), loglik: Some(lm.sentence_loglik(&d.prompt)?) },
        };
        samples.push(s);
        progress(i + 1);
    }
    Ok(summarize(t, samples))
}

pub fn summarize(t: &GenTask, samples: Vec<GenSample>) -> GenResult {
    if t.kind == Kind::Rolling {
        let ll: f64 = samples.iter().filter_map(|s| s.loglik).sum();
        let words: usize = samples.iter().map(|s| s.prompt.split_whitespace().count()).sum();
        let bytes: usize = samples.iter().map(|s| s.prompt.len()).sum();
        let r = Rolling { word_perplexity: (-ll / words.max(1) as f64).exp(), byte_perplexity: (-ll / bytes.max(1) as f64).exp(), bits_per_byte: -ll / (bytes.max(1) as f64 * std::f64::consts::LN_2) };
        return GenResult { task: t.name.clone(), metrics: Vec::new(), perplexity: Some(r), samples };
    }
    let metrics = t.metrics.iter().map(|m| (m.metric.clone(), Proportion::new(samples.iter().filter(|s| hit(m, &s.output, &s.target)).count(), samples.len()))).collect();
    GenResult { task: t.name.clone(), metrics, perplexity: None, samples }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(metric: &str, pattern: Option<&str>) -> MetricSpec {
        MetricSpec { metric: metric.into(), ignore_case: true, ignore_punctuation: true, pattern: pattern.map(str::to_string) }
    }

    #[test]
    fn scoring() {
        assert!(hit(&m("exact_match", None), " Paris. ", "paris"));
        assert!(!hit(&m("exact_match", None), "Paris, France", "Paris"));
        assert!(hit(&m("contains", None), "It is Paris, France", "Paris"));
        assert!(hit(&m("regex", Some(r"\b{{target}}\b")), "answer: 42 apples", "42"));
        assert!(!hit(&m("regex", Some(r"\b{{target}}\b")), "answer: 420", "42"));
    }
}
