//! dot products
