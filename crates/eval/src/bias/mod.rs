//! Bias suites: paired sentences scored by likelihood (CrowS-Pairs format) and counterfactual
//! generations with demographic terms swapped.

pub mod counterfactual;
pub mod pairs;
pub mod sentiment;
