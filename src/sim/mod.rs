//! The gateway simulator (to be written).
