//! 2×2 / stride-2 max-pooling (no padding, floor mode) with a one-byte window index.

pub(crate) mod backward;
pub(crate) mod max_pool_2x2;
pub(crate) mod op;
