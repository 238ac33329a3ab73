//! # aegis-interpretability
#![warn(missing_docs)]
