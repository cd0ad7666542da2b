//! Building blocks shared by every architecture. Architectures compose these; they never re-define them.

pub mod linear;
pub mod norm;
pub mod rope;
pub mod rope_scaling;
pub mod attention;
pub mod attend;
pub mod mlp;
pub mod moe;
pub mod embedding;
pub mod parallel;

pub use attend::AttnShape;
pub use attention::{softcap, SelfAttention};
pub use embedding::Embedding;
pub use linear::{vector, Linear};
pub use mlp::{Activation, GatedMlp, Mlp};
pub use moe::{Ffn, MoeMlp, SharedExpert};
pub use norm::{LayerNorm, Norm, RmsNorm};
pub use rope::{Rope, RopeStyle};
