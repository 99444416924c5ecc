//! Strings and buffers across the boundary: UTF-8 in (NUL-terminated), UTF-8 out by the one rule.

use super::result::{CResult, Failure, GW_ERR_BUFFER_TOO_SMALL};
use crate::secret::Secret;
use std::ffi::{c_char, CStr};
use std::path::PathBuf;

/// A required string argument. NULL and invalid UTF-8 are refused, naming the argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid for `'a`.
pub(crate) unsafe fn str_in<'a>(ptr: *const c_char, argument: &str) -> CResult<&'a str> {
    if ptr.is_null() {
        return Err(Failure::null(argument));
    }
    // SAFETY: non-NULL, and the caller promises a NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    std::str::from_utf8(bytes)
        .map_err(|e| Failure::invalid(format!("the argument {argument} is not valid UTF-8 (at byte {}): pass UTF-8 text", e.valid_up_to())))
}

/// An optional string argument: NULL means "not given".
///
/// # Safety
/// As [`str_in`].
pub(crate) unsafe fn opt_str_in<'a>(ptr: *const c_char, argument: &str) -> CResult<Option<&'a str>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded from the caller.
        unsafe { str_in(ptr, argument) }.map(Some)
    }
}

/// A required path argument (UTF-8, like every string; converted to the platform's form).
///
/// # Safety
/// As [`str_in`].
pub(crate) unsafe fn path_in(ptr: *const c_char, argument: &str) -> CResult<PathBuf> {
    // SAFETY: forwarded from the caller.
    let text = unsafe { str_in(ptr, argument) }?;
    if text.is_empty() {
        return Err(Failure::invalid(format!("the argument {argument} is an empty path: give a file or folder")));
    }
    Ok(PathBuf::from(text))
}

/// An optional path argument: NULL means "not given".
///
/// # Safety
/// As [`str_in`].
pub(crate) unsafe fn opt_path_in(ptr: *const c_char, argument: &str) -> CResult<Option<PathBuf>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded from the caller.
        unsafe { path_in(ptr, argument) }.map(Some)
    }
}

/// Bytes given as `(ptr, len)`; `ptr` may be NULL only when `len` is 0.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes that stay valid for `'a`.
pub(crate) unsafe fn bytes_in<'a>(ptr: *const u8, len: usize, argument: &str) -> CResult<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::null(argument));
    }
    // SAFETY: non-NULL, and the caller promises `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A password given as `(ptr, len)` bytes: UTF-8 (the gateway's passwords are text), kept in memory that is
/// wiped when dropped. The caller's copy is theirs to wipe.
///
/// # Safety
/// As [`bytes_in`].
pub(crate) unsafe fn secret_in(ptr: *const u8, len: usize, argument: &str) -> CResult<Secret> {
    // SAFETY: forwarded from the caller.
    let bytes = unsafe { bytes_in(ptr, len, argument) }?;
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Failure::invalid(format!("the argument {argument} is not valid UTF-8: passwords are UTF-8 text")))?;
    Ok(Secret::new(text))
}

/// Writes `text` by the string rule: the text and a NUL into `buf`, its length (without the NUL) into
/// `*out_n`. When `len` cannot hold both, nothing goes into `buf`, `*out_n` gets the length needed and the
/// result is `GW_ERR_BUFFER_TOO_SMALL`; so `buf` NULL with `len` 0 asks for the length. C strings end at the
/// first NUL, so a NUL inside the text (which no name, path or message should contain) becomes U+FFFD.
pub(crate) fn write_str(text: &str, buf: *mut c_char, len: usize, out_n: *mut usize) -> CResult {
    if out_n.is_null() {
        return Err(Failure::null("out_n"));
    }
    let cleaned;
    let text = if text.contains('\0') {
        cleaned = text.replace('\0', "\u{fffd}");
        cleaned.as_str()
    } else {
        text
    };
    if buf.is_null() && len > 0 {
        return Err(Failure::null("buf"));
    }
    let needed = text.len();
    if len <= needed {
        // SAFETY: checked non-NULL; the caller passes a writable size_t.
        unsafe { *out_n = needed };
        return Err(Failure::new(
            GW_ERR_BUFFER_TOO_SMALL,
            format!("the output buffer holds {len} bytes, but {} are needed ({needed} and the NUL)", needed + 1),
        ));
    }
    // SAFETY: `buf` is non-NULL (NULL with a length > 0 was refused, and `len` > `needed` >= 0 here) and the caller promises `len` writable bytes; `needed + 1 <= len`.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), needed);
        *buf.add(needed) = 0;
        *out_n = needed;
    }
    Ok(())
}

/// Checks a string out-parameter before a call whose work cannot be repeated (an upload): a buffer that
/// cannot hold `max` bytes and the NUL is refused up front, with `*out_n` = `max`, so nothing is done
/// whose result could not be returned.
pub(crate) fn reserve_str(max: usize, buf: *mut c_char, len: usize, out_n: *mut usize) -> CResult {
    if out_n.is_null() {
        return Err(Failure::null("out_n"));
    }
    if len <= max {
        // SAFETY: checked non-NULL.
        unsafe { *out_n = max };
        return Err(Failure::new(
            GW_ERR_BUFFER_TOO_SMALL,
            format!("the output buffer holds {len} bytes; give at least {} (for the result and the NUL); nothing was done", max + 1),
        ));
    }
    if buf.is_null() {
        return Err(Failure::null("buf"));
    }
    Ok(())
}

/// Writes a value into a required out-parameter.
pub(crate) fn write_out<T>(out: *mut T, value: T, argument: &str) -> CResult {
    if out.is_null() {
        return Err(Failure::null(argument));
    }
    // SAFETY: checked non-NULL; the caller passes a writable `T`.
    unsafe { out.write(value) };
    Ok(())
}

/// Refuses a NULL out-parameter before any work is done (so a call never does its work and then fails
/// only because its result cannot be returned).
pub(crate) fn check_out<T>(out: *mut T, argument: &str) -> CResult {
    if out.is_null() {
        Err(Failure::null(argument))
    } else {
        Ok(())
    }
}

/// Writes into an optional out-parameter (NULL: not wanted).
pub(crate) fn write_opt<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-NULL; the caller passes a writable `T`.
        unsafe { out.write(value) };
    }
}

/// A path as UTF-8 text for C (lossy where the platform path is not UTF-8, which only paths made outside
/// this library can be).
pub(crate) fn path_text(path: &std::path::Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_string_rule() {
        let mut n = 99usize;
        let mut buf = [7 as c_char; 6];
        assert_eq!(write_str("hello", std::ptr::null_mut(), 0, &mut n).unwrap_err().code, GW_ERR_BUFFER_TOO_SMALL);
        assert_eq!(n, 5);
        assert_eq!(write_str("hello", buf.as_mut_ptr(), 5, &mut n).unwrap_err().code, GW_ERR_BUFFER_TOO_SMALL);
        assert_eq!(buf, [7; 6], "nothing written on a too-small buffer");
        write_str("hello", buf.as_mut_ptr(), 6, &mut n).unwrap();
        assert_eq!(n, 5);
        assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap(), "hello");
        write_str("", buf.as_mut_ptr(), 1, &mut n).unwrap();
        assert_eq!((n, buf[0]), (0, 0));
        assert_eq!(write_str("x", buf.as_mut_ptr(), 6, std::ptr::null_mut()).unwrap_err().code, super::super::GW_ERR_NULL_ARGUMENT);
        assert_eq!(write_str("x", std::ptr::null_mut(), 6, &mut n).unwrap_err().code, super::super::GW_ERR_NULL_ARGUMENT);
        write_str("a\0b", buf.as_mut_ptr(), 6, &mut n).unwrap();
        assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap(), "a\u{fffd}b");
    }
}
