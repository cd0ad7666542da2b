//! What each result shows: headline numbers (table, model-index) and chart bars (HTML).

use crate::stats::Proportion;
use crate::suite::TaskResult;

#[derive(Debug, Clone)]
pub struct Metric {
    /// Machine name (model-index `type`).
    pub id: String,
    /// Human name, unique within a task.
    pub name: String,
    pub value: f64,
    /// 95% interval when the metric is a proportion.
    pub ci: Option<(f64, f64)>,
}

impl Metric {
    fn prop(id: &str, name: impl Into<String>, p: &Proportion) -> Self {
        Metric { id: id.into(), name: name.into(), value: p.p, ci: Some((p.lo, p.hi)) }
    }
    fn plain(id: &str, name: impl Into<String>, value: f64) -> Self {
        Metric { id: id.into(), name: name.into(), value, ci: None }
    }
    pub fn cell(&self) -> String {
        match self.ci {
            Some((lo, hi)) => format!("{:.3} [{:.2},{:.2}]", self.value, lo, hi),
            None => format!("{:.4}", self.value),
        }
    }
}

pub fn headline(t: &TaskResult) -> Vec<Metric> {
    match t {
        TaskResult::MultipleChoice(r) => {
            let n = r.docs.len();
            let k = |f: &dyn Fn(&crate::choice::DocScore) -> bool| r.docs.iter().filter(|d| f(d)).count();
            vec![Metric::prop("acc", "acc", &Proportion::new(k(&|d| d.pred == d.gold), n)), Metric::prop("acc_norm", "acc_norm", &Proportion::new(k(&|d| d.pred_norm == d.gold), n))]
        }
        TaskResult::Generation(r) => match &r.perplexity {
            Some(p) => vec![Metric::plain("word_perplexity", "word_perplexity", p.word_perplexity), Metric::plain("bits_per_byte", "bits_per_byte", p.bits_per_byte)],
            None => r.metrics.iter().map(|(m, p)| Metric::prop(m, m.clone(), p)).collect(),
        },
        TaskResult::CrowsPairs(r) => {
            let mut v = vec![Metric::prop("pct_stereotype", "pct_stereotype", &r.overall)];
            v.extend(r.by_category.iter().map(|(c, p)| Metric::prop("pct_stereotype", format!("pct_stereotype/{c}"), p)));
            v
        }
        TaskResult::Safety(r) => {
            let mut v = vec![Metric::prop("refusal_rate", "refusal_rate", &r.overall.refusal), Metric::prop("over_refusal_rate", "over_refusal_rate", &r.overall.over_refusal)];
            for (c, x) in &r.by_category {
                if x.refusal.n > 0 {
                    v.push(Metric::prop("refusal_rate", format!("refusal_rate/{c}"), &x.refusal));
                }
                if x.over_refusal.n > 0 {
                    v.push(Metric::prop("over_refusal_rate", format!("over_refusal_rate/{c}"), &x.over_refusal));
                }
            }
            v
        }
        TaskResult::Counterfactual(r) => {
            let sig = r.gaps.iter().filter(|g| g.significant).count() as f64;
            let max = |m: &str| r.gaps.iter().filter(|g| g.metric == m).map(|g| g.value).fold(0.0, f64::max);
            vec![
                Metric::plain("significant_gaps", "significant_gaps", sig),
                Metric::plain("max_sentiment_gap", "max_sentiment_gap", max("sentiment")),
                Metric::plain("max_refusal_gap", "max_refusal_gap", max("refusal")),
                Metric::plain("max_first_token_js", "max_first_token_js", max("first_token_js")),
            ]
        }
    }
}

/// One bar of a chart: a label, a value and an optional interval; `scale` is the axis maximum.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub ci: Option<(f64, f64)>,
}

/// A chart: title, axis maximum, a reference line (e.g. 0.5 = unbiased), and bars.
#[derive(Debug, Clone)]
pub struct Chart {
    pub title: String,
    pub max: f64,
    pub reference: Option<f64>,
    pub bars: Vec<Bar>,
}

fn bar(label: impl Into<String>, p: &Proportion) -> Bar {
    Bar { label: label.into(), value: p.p, ci: Some((p.lo, p.hi)) }
}

/// The charts of one result (per-category bars with their intervals).
pub fn bars(t: &TaskResult) -> Vec<Chart> {
    match t {
        TaskResult::CrowsPairs(r) => {
            let mut b: Vec<Bar> = r.by_category.iter().map(|(c, p)| bar(c, p)).collect();
            b.push(bar("all", &r.overall));
            vec![Chart { title: format!("{}: share preferring the stereotype", r.task), max: 1.0, reference: Some(0.5), bars: b }]
        }
        TaskResult::Safety(r) => {
            let refuse: Vec<Bar> = r.by_category.iter().filter(|(_, x)| x.refusal.n > 0).map(|(c, x)| bar(c, &x.refusal)).collect();
            let over: Vec<Bar> = r.by_category.iter().filter(|(_, x)| x.over_refusal.n > 0).map(|(c, x)| bar(c, &x.over_refusal)).collect();
            vec![
                Chart { title: format!("{}: refusal rate on prompts to refuse (higher is safer)", r.task), max: 1.0, reference: None, bars: refuse },
                Chart { title: format!("{}: over-refusal rate on benign prompts (lower is better)", r.task), max: 1.0, reference: None, bars: over },
            ]
        }
        TaskResult::Counterfactual(r) => r
            .groups
            .iter()
            .map(|(attr, gs)| Chart {
                title: format!("{}: {attr}, mean sentiment by group (-1..1, shown shifted to 0..2)", r.task),
                max: 2.0,
                reference: Some(1.0),
                bars: gs.iter().map(|(g, s)| Bar { label: g.clone(), value: s.sentiment + 1.0, ci: None }).collect(),
            })
            .collect(),
        _ => {
            let m = headline(t);
            let props: Vec<Bar> = m.iter().filter(|x| x.ci.is_some()).map(|x| Bar { label: x.name.clone(), value: x.value, ci: x.ci }).collect();
            if props.is_empty() {
                Vec::new()
            } else {
                vec![Chart { title: t.task().to_string(), max: 1.0, reference: None, bars: props }]
            }
        }
    }
}
