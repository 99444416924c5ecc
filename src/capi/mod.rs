//! The C face: `libgateway` (`.so`, `.a`, `.dll`) and `include/gateway.h`, which cbindgen generates from
//! this module (see `cbindgen.toml`; `tests/c_header.rs` fails when the committed header is not current).
//!
//! Glue only, after rustls-ffi: every function turns C arguments into Rust values, calls the core and turns
//! the outcome back into a `gw_result` and out-parameters. Nothing here decides anything the Rust API, the
//! Python face or the CLI would decide differently; whatever a face needs beyond that belongs in the core.
//!
//! The rules every function follows (the header's opening comment says them to C programmers):
//! - Handles are opaque tokens, not addresses (`handle.rs`): every call looks its handle up, so a handle that
//!   was freed, freed twice, or is of another type gives `GW_ERR_INVALID_HANDLE` instead of undefined
//!   behaviour; `gw_x_free(NULL)` and a second `gw_x_free` are no-ops.
//! - `gw_result` codes are stable numbers: the C face's own (1-99) in `result.rs`, one per core
//!   [`ErrorKind`](crate::ErrorKind) in `result_codes.rs`, which is generated from [`crate::ErrorKind::ALL`].
//! - Out-parameters are written only on success; strings out follow the one rule (`strings.rs`).
//! - Every body runs inside a panic boundary (`result::guard`): a panic becomes `GW_ERR_PANIC`, never an
//!   unwind into C or an abort.
//! - Every pointer is checked for NULL; strings in must be UTF-8, strings out are UTF-8.

#![allow(non_camel_case_types)]
// Every exported function checks its pointers itself and documents what it needs from the caller in the
// header; the pointer arguments come from C, so clippy's advice to mark them `unsafe fn` would change nothing
// for callers and only hide the checks.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

// In the order the header shows them (cbindgen keeps the source order).
mod result;
mod result_codes;
mod version;

mod identity;

mod config;

mod client;

mod items;

mod session;

mod logging;

mod simulator;

mod handle;
mod strings;

pub use result::*;
pub use result_codes::*;
pub use version::*;

pub use client::*;
pub use config::*;
pub use identity::*;
pub use items::*;
pub use logging::*;
pub use session::*;
pub use simulator::*;
