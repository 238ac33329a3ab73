//! # aegis-oversight
#![warn(missing_docs)]
