//! `gw_result`, the last error of each thread, and the panic boundary around every exported function.

use super::strings::write_str;
use crate::error::{Error, ErrorKind, ServerReply};
use std::cell::RefCell;
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The outcome of a call: `GW_OK` (0) or one of the `GW_ERR_*` codes. The numbers never change: codes
/// 1-99 are the C face's own (misuse of the API, a caught panic), the others belong to the library's error
/// kinds and are grouped by area (1xx local, 2xx certificates, 3xx TLS, 4xx network, 5xx FTP replies, 6xx
/// gateway rules, 7xx journal, 8xx simulator). `gw_result_text` gives a one-line summary of a code;
/// `gw_last_error` the full message of the last failure on the calling thread.
pub type gw_result = u32;

/// Success.
pub const GW_OK: gw_result = 0;
/// A pointer argument that must not be NULL was NULL; nothing was done. `gw_last_error` names the argument.
pub const GW_ERR_NULL_ARGUMENT: gw_result = 1;
/// The output buffer is too small; nothing was written into it, and the `*_n` out-parameter holds the
/// length needed (without the terminating NUL): call again with a buffer of at least that length + 1.
pub const GW_ERR_BUFFER_TOO_SMALL: gw_result = 2;
/// A bug in the library (a Rust panic) was caught at the boundary; the object involved may be unusable
/// (further calls on it give `GW_ERR_INTERNAL`). Please report `gw_last_error`'s text.
pub const GW_ERR_PANIC: gw_result = 3;
/// The handle is not a live handle of the expected type: it was freed already, never came from this
/// library, or is of another type (e.g. a `gw_config *` passed as a `gw_client *`). Nothing was done.
pub const GW_ERR_INVALID_HANDLE: gw_result = 4;

/// The C face's own codes, with their summaries (the core's come from `ErrorKind::ALL`).
const OWN_CODES: &[(gw_result, &str)] = &[
    (GW_OK, "success"),
    (GW_ERR_NULL_ARGUMENT, "a required pointer argument was NULL"),
    (GW_ERR_BUFFER_TOO_SMALL, "the output buffer is too small"),
    (GW_ERR_PANIC, "internal error in skat-gateway (a caught panic; please report it)"),
    (GW_ERR_INVALID_HANDLE, "the handle was freed already, or is not a handle of this type"),
];

/// A failed call, on its way to becoming a `gw_result` and the thread's last error.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: gw_result,
    pub(crate) message: String,
    pub(crate) reply: Option<ServerReply>,
}

impl Failure {
    pub(crate) fn new(code: gw_result, message: impl Into<String>) -> Self {
        Failure { code, message: message.into(), reply: None }
    }

    pub(crate) fn null(argument: &str) -> Self {
        Failure::new(GW_ERR_NULL_ARGUMENT, format!("the argument {argument} is NULL: pass a valid pointer"))
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Failure::new(ErrorKind::InvalidArgument.code(), message)
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure { code: error.kind().code(), message: error.to_string(), reply: error.server_reply().cloned() }
    }
}

pub(crate) type CResult<T = ()> = std::result::Result<T, Failure>;

thread_local! {
    /// The last failure on this thread: `gw_last_error` reads it; only failing calls replace it.
    static LAST_ERROR: RefCell<Option<Failure>> = const { RefCell::new(None) };
}

fn remember(failure: Failure) -> gw_result {
    let code = failure.code;
    // A thread that is exiting has no thread-locals left; the code still tells what happened.
    let _ = LAST_ERROR.try_with(|last| *last.borrow_mut() = Some(failure));
    code
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

/// Runs the body of an exported function: its `Ok` becomes `GW_OK`, its `Err` the code (remembered as the
/// thread's last error), and a panic `GW_ERR_PANIC`: nothing unwinds into C.
pub(crate) fn guard(function: &'static str, body: impl FnOnce() -> CResult) -> gw_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => GW_OK,
        Ok(Err(failure)) => remember(failure),
        Err(payload) => remember(Failure::new(
            GW_ERR_PANIC,
            format!(
                "{function}: internal error in skat-gateway ({}); the object involved may be unusable: free it and \
                 create a new one, and please report this message",
                panic_text(payload.as_ref())
            ),
        )),
    }
}

/// As [`guard`], for the few functions that return nothing (`_free`, `gw_result_text`): a panic is caught
/// and remembered, and the function returns normally.
pub(crate) fn guard_void(function: &'static str, body: impl FnOnce()) {
    let _ = guard(function, || {
        body();
        Ok(())
    });
}

/// The one-line summary of a code; `None` for a number that is no `gw_result`.
pub(crate) fn summary(result: gw_result) -> Option<&'static str> {
    OWN_CODES
        .iter()
        .find(|(code, _)| *code == result)
        .map(|(_, text)| *text)
        .or_else(|| ErrorKind::from_code(result).map(|kind| kind.info().summary))
}

/// Writes a one-line English summary of `result` (e.g. "login refused") into `buf`, following the string
/// rule; an unknown number gives "unknown gw_result N". Never changes the thread's last error.
/// Thread-safe. With `out_n` NULL nothing is written; with `buf` NULL only `*out_n` is.
#[no_mangle]
pub extern "C" fn gw_result_text(result: gw_result, buf: *mut c_char, len: usize, out_n: *mut usize) {
    // Not through `guard`: asking for a text must not replace the last error it may be explaining.
    let _ = catch_unwind(|| {
        let text = summary(result).map(str::to_string).unwrap_or_else(|| format!("unknown gw_result {result}"));
        let _ = write_str(&text, buf, len, out_n);
    });
}

/// The detailed message of the last call that failed on this thread: what happened, the file or server
/// reply involved, and what to do (never a password or key). Written into `buf` following the string rule;
/// the text is empty when no call has failed on this thread yet. Succeeding calls do not clear it, and
/// `gw_last_error*` / `gw_result_text` never change it, so a too-small buffer can simply be retried.
/// Returns `GW_OK`, `GW_ERR_NULL_ARGUMENT` (`out_n` NULL, or `buf` NULL with `len` > 0) or
/// `GW_ERR_BUFFER_TOO_SMALL`. Per thread: a failure on another thread is never seen here.
#[no_mangle]
pub extern "C" fn gw_last_error(buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    catch_unwind(|| {
        let text = LAST_ERROR.try_with(|last| last.borrow().as_ref().map(|f| f.message.clone())).ok().flatten();
        match write_str(text.as_deref().unwrap_or(""), buf, len, out_n) {
            Ok(()) => GW_OK,
            Err(failure) => failure.code,
        }
    })
    .unwrap_or(GW_ERR_PANIC)
}

/// The code of the last call that failed on this thread (`GW_OK` when none has). Per thread, like
/// `gw_last_error`.
#[no_mangle]
pub extern "C" fn gw_last_error_code() -> gw_result {
    catch_unwind(|| LAST_ERROR.try_with(|last| last.borrow().as_ref().map_or(GW_OK, |f| f.code)).unwrap_or(GW_OK))
        .unwrap_or(GW_ERR_PANIC)
}

/// The server's reply kept with the last failure on this thread, when the failure came from one (e.g. 530
/// and its text for a refused login): `*out_code` gets the reply code and `buf` its text, following the
/// string rule. Without a server reply, `*out_code` is 0 and the text empty. `out_code` may be NULL.
#[no_mangle]
pub extern "C" fn gw_last_error_server_reply(
    out_code: *mut u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> gw_result {
    catch_unwind(|| {
        let reply = LAST_ERROR.try_with(|last| last.borrow().as_ref().and_then(|f| f.reply.clone())).ok().flatten();
        let (code, text) = reply.map_or((0, String::new()), |r| (r.code, r.text.trim_end().to_string()));
        match write_str(&text, buf, len, out_n) {
            Ok(()) => {
                if !out_code.is_null() {
                    // SAFETY: the caller passes a valid pointer or NULL (checked).
                    unsafe { *out_code = code };
                }
                GW_OK
            }
            Err(failure) => failure.code,
        }
    })
    .unwrap_or(GW_ERR_PANIC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_own_codes_stay_below_the_core_codes() {
        let mut seen = HashSet::new();
        for (code, _) in OWN_CODES {
            assert!(*code < 100 && seen.insert(*code));
        }
        for row in ErrorKind::ALL {
            assert!(row.code >= 100 && seen.insert(row.code), "{} collides", row.code);
        }
    }

    #[test]
    fn a_panic_becomes_gw_err_panic_with_a_message() {
        let code = guard("gw_test", || panic!("boom"));
        assert_eq!(code, GW_ERR_PANIC);
        assert_eq!(gw_last_error_code(), GW_ERR_PANIC);
        let mut buf = vec![0 as c_char; 512];
        let mut n = 0usize;
        assert_eq!(gw_last_error(buf.as_mut_ptr(), buf.len(), &mut n), GW_OK);
        let text = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap().to_string();
        assert!(text.starts_with("gw_test: internal error") && text.contains("boom"), "{text}");
        assert_eq!(n, text.len());
        // A panic in a void function is caught too.
        guard_void("gw_test_void", || panic!("again"));
        assert_eq!(gw_last_error_code(), GW_ERR_PANIC);
    }

    #[test]
    fn a_success_keeps_the_last_error_and_other_threads_do_not_see_it() {
        assert_eq!(guard("gw_test", || Err(Failure::invalid("first"))), ErrorKind::InvalidArgument.code());
        assert_eq!(guard("gw_test", || Ok(())), GW_OK);
        assert_eq!(gw_last_error_code(), ErrorKind::InvalidArgument.code());
        std::thread::spawn(|| assert_eq!(gw_last_error_code(), GW_OK)).join().unwrap();
    }
}
