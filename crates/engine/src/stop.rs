//! stop strings
