//! Evaluation: perplexity and multiple-choice tasks (lm-evaluation-harness compatible);
//! bias and safety suites later.

pub mod choice;
pub mod perplexity;
pub mod task;
