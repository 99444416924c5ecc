//! The library's version: macros in the header (checked against Cargo.toml by `tests/c_header.rs`; the
//! string `GW_VERSION` is written by cbindgen.toml, as cbindgen writes no string constants) and
//! `gw_version()` at run time, so a program can tell the header it was compiled with from the library it
//! loaded.

use std::ffi::c_char;

/// The major version of the header (the crate's `MAJOR`). The shared library's SONAME carries it
/// (`libgateway.so.0`): a program runs against any library of the same major version.
pub const GW_VERSION_MAJOR: u32 = 0;
/// The minor version of the header.
pub const GW_VERSION_MINOR: u32 = 1;
/// The patch version of the header.
pub const GW_VERSION_PATCH: u32 = 0;

/// `"MAJOR.MINOR.PATCH"` of the loaded library (the crate's version). Static storage: never free it.
/// Thread-safe; never fails.
#[no_mangle]
pub extern "C" fn gw_version() -> *const c_char {
    std::panic::catch_unwind(|| VERSION.as_ptr()).unwrap_or(c"unknown".as_ptr())
}

/// The crate's version (Cargo.toml), NUL-terminated for C.
const VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
    Ok(version) => version,
    Err(_) => c"unknown",
};
