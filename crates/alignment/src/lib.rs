//! # aegis-alignment
#![warn(missing_docs)]
