//! Evaluation: perplexity now; benchmark tasks, bias and safety suites later.

pub mod perplexity;
