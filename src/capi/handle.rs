//! Handles: what a `gw_identity *`, `gw_client *`, ... really is.
//!
//! A handle is a token, not the address of the object: the objects live in one registry, keyed by a
//! number that is never reused, and every call looks its handle up. That is what makes misuse harmless
//! where C normally gives undefined behaviour:
//! - a second `gw_x_free` of the same handle, or any call after the free, finds nothing: `_free` does nothing
//!   and other calls return `GW_ERR_INVALID_HANDLE`;
//! - a handle of another type (a `gw_config *` cast to `gw_client *`) is refused the same way;
//! - freeing a client while another thread is inside a call on it is safe: the call holds its own reference
//!   (`Arc`), and the object goes when the last one does.
//!
//! What it cannot catch: a garbage pointer that happens to equal a live token of the right type. The cost
//! is one short lock and a map look-up per call, nothing next to a network round trip.

use super::result::{CResult, Failure, GW_ERR_INVALID_HANDLE};
use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// A C handle type (an opaque struct the header declares) and the Rust object behind it.
pub(crate) trait Handle {
    type Object: Send + Sync + 'static;
    /// The C type's name, for messages.
    const NAME: &'static str;
}

type Registry = Mutex<HashMap<usize, Arc<dyn Any + Send + Sync>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(HashMap::new()))
}

fn lock() -> std::sync::MutexGuard<'static, HashMap<usize, Arc<dyn Any + Send + Sync>>> {
    // The map is only ever inserted into and removed from; a panic elsewhere cannot leave it half-changed.
    registry().lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Tokens count up in steps of 16 from a value no allocator hands out on the platforms served, so they look
/// like aligned pointers to debuggers and to .NET's SafeHandle, and can never be NULL.
const FIRST_TOKEN: usize = 0x1000_0000;
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Registers an object and returns its new handle.
pub(crate) fn new_handle<H: Handle>(object: H::Object) -> *mut H {
    let token = FIRST_TOKEN + NEXT.fetch_add(1, Ordering::Relaxed) * 16;
    lock().insert(token, Arc::new(object));
    std::ptr::without_provenance_mut(token)
}

/// Registers an object and writes its handle into `out` (which the caller checked with `check_out`).
pub(crate) fn give<H: Handle>(out: *mut *mut H, object: H::Object) -> CResult {
    super::strings::write_out(out, new_handle::<H>(object), "out")
}

/// The object behind a handle: NULL, a freed handle and a handle of another type are refused.
pub(crate) fn get<H: Handle>(handle: *const H, argument: &str) -> CResult<Arc<H::Object>> {
    if handle.is_null() {
        return Err(Failure::null(argument));
    }
    let found = lock().get(&handle.addr()).cloned();
    found.and_then(|object| object.downcast::<H::Object>().ok()).ok_or_else(|| {
        Failure::new(
            GW_ERR_INVALID_HANDLE,
            format!(
                "the argument {argument} is not a live {}: it was freed already, or is a handle of another type",
                H::NAME
            ),
        )
    })
}

/// Frees a handle: NULL, an unknown handle (freed already) and a handle of another type are ignored. The
/// object itself goes when the last call using it returns.
pub(crate) fn free<H: Handle>(handle: *mut H) {
    if handle.is_null() {
        return;
    }
    let removed = {
        let mut map = lock();
        match map.get(&handle.addr()) {
            Some(object) if object.is::<H::Object>() => map.remove(&handle.addr()),
            _ => None,
        }
    };
    // Dropped outside the lock: closing a client logs out of the gateway, which takes a round trip.
    drop(removed);
}

/// How many handles are live (for tests that check every handle was freed).
pub(crate) fn live() -> usize {
    lock().len()
}

/// The number of handles not yet freed, of every type. A test can check that it is back to its starting
/// value when a program has freed everything; the objects behind handles that are never freed stay
/// reachable from this registry, so memory checkers report them as "still reachable", not as leaks.
#[no_mangle]
pub extern "C" fn gw_handles_live() -> usize {
    std::panic::catch_unwind(live).unwrap_or(0)
}
