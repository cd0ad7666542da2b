//! One file per stage.

mod dist;
mod greedy;
mod min_p;
mod penalties;
mod temperature;
mod top_k;
mod top_p;

pub use dist::Dist;
pub use greedy::Greedy;
pub use min_p::MinP;
pub use penalties::Penalties;
pub use temperature::Temperature;
pub use top_k::TopK;
pub use top_p::TopP;
