//! Building blocks shared by every architecture. Architectures compose these; they never re-define them.

pub mod linear;
pub mod norm;
pub mod rope;
pub mod attention;
pub mod mlp;
pub mod embedding;
pub mod parallel;

pub use attention::SelfAttention;
pub use embedding::Embedding;
pub use linear::Linear;
pub use mlp::{Activation, GatedMlp};
pub use norm::RmsNorm;
pub use rope::{Rope, RopeStyle};
