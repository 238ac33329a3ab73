//! # aegis-uncertainty
#![warn(missing_docs)]
