//! What the gateway means (to be written).
