//! The FTPS session (to be written).
