//! Continuous batching at the scalar kernel level, where one row and many rows take the same
//! arithmetic: batched logits must equal each sequence run alone to float rounding.

mod common;

#[test]
fn batched_sequences_equal_separate_runs_on_scalar_kernels() {
    // Read once per process by kernels::cpu::active(); this binary holds only this test.
    std::env::set_var("AGORA_CPU", "scalar");
    common::batch::batch_vs_alone(1e-3, 1e-5);
}
