//! `gw_identity`: the OCES certificate with its key, and what the gateway reads from it.

use super::handle::{self, Handle};
use super::result::{guard, guard_void, gw_result, CResult};
use super::strings::{bytes_in, check_out, opt_str_in, path_in, path_text, reserve_str, write_out, write_str};
use crate::identity::{CertificateKind, Identity, Validity};
use crate::secret::Secret;
use std::ffi::c_char;

/// A client certificate with its private key (in memory that is wiped when freed) and chain.
/// Ownership: from `gw_identity_from_*`; free with `gw_identity_free`. Immutable, so thread-safe: any number
/// of threads may use one identity at once.
pub struct gw_identity {
    _opaque: [u8; 0],
}

impl Handle for gw_identity {
    type Object = Identity;
    const NAME: &'static str = "gw_identity";
}

/// The kind of certificate, as far as the gateway cares (`gw_identity_kind`).
pub type gw_certificate_kind = u32;
/// OCES II company certificate (VOCES): user name `CVR_<cvr>_UID_<id>`.
pub const GW_CERTIFICATE_COMPANY: gw_certificate_kind = 1;
/// OCES II employee certificate (MOCES): `CVR_<cvr>_RID_<id>`.
pub const GW_CERTIFICATE_EMPLOYEE: gw_certificate_kind = 2;
/// OCES II function certificate (FOCES): `CVR_<cvr>_FID_<id>`.
pub const GW_CERTIFICATE_FUNCTION: gw_certificate_kind = 3;
/// OCES3 organisation certificate: `CVR_<cvr>_UI_<uuid>` (inferred).
pub const GW_CERTIFICATE_OCES3_ORGANISATION: gw_certificate_kind = 4;
/// OCES3 employee certificate: `CVR_<cvr>_UI_<uuid>` (inferred).
pub const GW_CERTIFICATE_OCES3_EMPLOYEE: gw_certificate_kind = 5;
/// Anything else: no gateway user name follows from it (give one explicitly).
pub const GW_CERTIFICATE_OTHER: gw_certificate_kind = 99;

/// Where a certificate stands in time (`gw_identity_validity`).
pub type gw_validity = u32;
/// Valid now.
pub const GW_VALIDITY_VALID: gw_validity = 0;
/// Expired.
pub const GW_VALIDITY_EXPIRED: gw_validity = 1;
/// Not valid yet.
pub const GW_VALIDITY_NOT_YET_VALID: gw_validity = 2;

fn kind_code(kind: CertificateKind) -> gw_certificate_kind {
    match kind {
        CertificateKind::Company => GW_CERTIFICATE_COMPANY,
        CertificateKind::Employee => GW_CERTIFICATE_EMPLOYEE,
        CertificateKind::Function => GW_CERTIFICATE_FUNCTION,
        CertificateKind::Oces3Organisation => GW_CERTIFICATE_OCES3_ORGANISATION,
        CertificateKind::Oces3Employee => GW_CERTIFICATE_OCES3_EMPLOYEE,
        _ => GW_CERTIFICATE_OTHER,
    }
}

fn identity(handle: *const gw_identity) -> CResult<std::sync::Arc<Identity>> {
    handle::get(handle, "identity")
}

/// Reads a certificate file, PKCS#12 (.p12/.pfx) or PEM, detected from the content. `password` (UTF-8) opens
/// a PKCS#12 file; NULL means none (files exported with an empty password open without one). A PEM file must
/// hold the private key too (else use `gw_identity_from_pem_files`). On success `*out` gets a new identity
/// (free it with `gw_identity_free`); on failure `*out` is untouched.
/// Errors: `GW_ERR_CERTIFICATE_FILE_UNREADABLE`, `GW_ERR_CERTIFICATE_FORMAT`, `GW_ERR_CERTIFICATE_PASSWORD`,
/// `GW_ERR_PRIVATE_KEY_MISSING`, `GW_ERR_PRIVATE_KEY_MISMATCH`, `GW_ERR_NULL_ARGUMENT`, `GW_ERR_INVALID_ARGUMENT`.
/// An expired certificate loads (check it with `gw_identity_validity`). Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_from_file(path: *const c_char, password: *const c_char, out: *mut *mut gw_identity) -> gw_result {
    guard("gw_identity_from_file", || {
        // SAFETY: C strings from the caller, checked for NULL and UTF-8.
        let path = unsafe { path_in(path, "path") }?;
        let password = unsafe { opt_str_in(password, "password") }?.map(Secret::new);
        check_out(out, "out")?;
        handle::give(out, Identity::from_file(path, password.as_ref())?)
    })
}

/// Reads PEM files: the certificate (and any intermediates) from `cert_path`, the private key (PKCS#8,
/// PKCS#1 RSA or SEC1 EC) from `key_path`, or from `cert_path` too when `key_path` is NULL.
/// Ownership and errors as `gw_identity_from_file`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_from_pem_files(
    cert_path: *const c_char,
    key_path: *const c_char,
    out: *mut *mut gw_identity,
) -> gw_result {
    guard("gw_identity_from_pem_files", || {
        // SAFETY: C strings from the caller, checked for NULL and UTF-8.
        let cert = unsafe { path_in(cert_path, "cert_path") }?;
        let key = unsafe { super::strings::opt_path_in(key_path, "key_path") }?;
        check_out(out, "out")?;
        handle::give(out, Identity::from_pem_files(cert, key.as_deref())?)
    })
}

/// Reads PKCS#12 bytes held in memory (`data`, `len` bytes), opened with `password` (UTF-8; NULL means the
/// empty password). The caller keeps and may wipe its buffers. Ownership and errors as
/// `gw_identity_from_file`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_from_pkcs12(
    data: *const u8,
    len: usize,
    password: *const c_char,
    out: *mut *mut gw_identity,
) -> gw_result {
    guard("gw_identity_from_pkcs12", || {
        // SAFETY: (pointer, length) and C string from the caller, checked for NULL.
        let bytes = unsafe { bytes_in(data, len, "data") }?;
        let password = Secret::new(unsafe { opt_str_in(password, "password") }?.unwrap_or(""));
        check_out(out, "out")?;
        handle::give(out, Identity::from_pkcs12(bytes, &password)?)
    })
}

/// Reads PEM held in memory: the certificate(s) in `cert` (`cert_len` bytes) and the private key in `key`
/// (`key_len` bytes), or in `cert` too when `key` is NULL. Ownership and errors as `gw_identity_from_file`.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_from_pem(
    cert: *const u8,
    cert_len: usize,
    key: *const u8,
    key_len: usize,
    out: *mut *mut gw_identity,
) -> gw_result {
    guard("gw_identity_from_pem", || {
        // SAFETY: (pointer, length) pairs from the caller, checked for NULL.
        let cert = unsafe { bytes_in(cert, cert_len, "cert") }?;
        let key = if key.is_null() { None } else { Some(unsafe { bytes_in(key, key_len, "key") }?) };
        check_out(out, "out")?;
        handle::give(out, Identity::from_pem(cert, key)?)
    })
}

/// The gateway user name derived from the certificate (`CVR_<cvr>_UID_<uid>`, `..._RID_...`,
/// `..._FID_...`, `..._UI_<uuid>`), by the string rule. `GW_ERR_NOT_A_GATEWAY_CERTIFICATE` when none follows
/// from it (give the user name explicitly with `gw_config_builder_set_username`). Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_username(identity: *const gw_identity, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_identity_username", || {
        let identity = self::identity(identity)?;
        write_str(&identity.username()?, buf, len, out_n)
    })
}

/// The kind of certificate (`GW_CERTIFICATE_*`) into `*out`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_kind(identity: *const gw_identity, out: *mut gw_certificate_kind) -> gw_result {
    guard("gw_identity_kind", || {
        let identity = self::identity(identity)?;
        write_out(out, kind_code(identity.kind()), "out")
    })
}

/// A short stable name of the kind for logs and files: `VOCES`, `MOCES`, `FOCES`, `OCES3-organisation`,
/// `OCES3-employee` or `other`, by the string rule. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_kind_name(identity: *const gw_identity, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_identity_kind_name", || write_str(self::identity(identity)?.kind().code(), buf, len, out_n))
}

/// The CVR number (8 digits) the subject names, by the string rule; empty when it names none.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_cvr(identity: *const gw_identity, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_identity_cvr", || write_str(self::identity(identity)?.info().cvr.as_deref().unwrap_or(""), buf, len, out_n))
}

/// The certificate's own id: the UID, RID or FID of OCES II, the UUID of OCES3; empty when it has none.
/// By the string rule. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_id(identity: *const gw_identity, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_identity_id", || write_str(self::identity(identity)?.info().id.as_deref().unwrap_or(""), buf, len, out_n))
}

/// The subject distinguished name (e.g. `C=DK, O=..., CN=... + serialNumber=CVR:...`), by the string rule.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_subject(identity: *const gw_identity, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_identity_subject", || write_str(&self::identity(identity)?.info().subject, buf, len, out_n))
}

/// The issuer distinguished name, by the string rule. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_issuer(identity: *const gw_identity, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_identity_issuer", || write_str(&self::identity(identity)?.info().issuer, buf, len, out_n))
}

/// The serial number in upper-case hex (as `openssl x509 -serial` prints it), by the string rule.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_serial(identity: *const gw_identity, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_identity_serial", || write_str(&self::identity(identity)?.info().serial, buf, len, out_n))
}

/// The SHA-256 fingerprint of the certificate as `AB:CD:...` (95 characters), the way openssl and
/// certificate viewers show it, by the string rule. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_fingerprint(identity: *const gw_identity, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_identity_fingerprint", || write_str(&self::identity(identity)?.info().sha256_colon_hex(), buf, len, out_n))
}

/// The start of the validity period, in seconds since 1970-01-01 UTC, into `*out`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_not_before(identity: *const gw_identity, out: *mut i64) -> gw_result {
    guard("gw_identity_not_before", || write_out(out, self::identity(identity)?.info().not_before.unix_timestamp(), "out"))
}

/// The end of the validity period, in seconds since 1970-01-01 UTC, into `*out`. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_not_after(identity: *const gw_identity, out: *mut i64) -> gw_result {
    guard("gw_identity_not_after", || write_out(out, self::identity(identity)?.info().not_after.unix_timestamp(), "out"))
}

/// Where the certificate stands now (`GW_VALIDITY_*`) into `*out`; `*days_left` (may be NULL) gets the whole
/// days until it expires (negative once expired). Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_validity(identity: *const gw_identity, out: *mut gw_validity, days_left: *mut i64) -> gw_result {
    guard("gw_identity_validity", || {
        let identity = self::identity(identity)?;
        let info = identity.info();
        let validity = match info.validity() {
            Validity::Valid => GW_VALIDITY_VALID,
            Validity::Expired => GW_VALIDITY_EXPIRED,
            Validity::NotYetValid => GW_VALIDITY_NOT_YET_VALID,
        };
        write_out(out, validity, "out")?;
        super::strings::write_opt(days_left, info.days_until_expiry());
        Ok(())
    })
}

/// `GW_OK` when the certificate is valid now, else `GW_ERR_CERTIFICATE_EXPIRED` or
/// `GW_ERR_CERTIFICATE_NOT_YET_VALID` with a message (`gw_last_error`) that says the date and what to do.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_check_valid(identity: *const gw_identity) -> gw_result {
    guard("gw_identity_check_valid", || Ok(self::identity(identity)?.ensure_currently_valid()?))
}

/// The public certificate (leaf only, never the key) in PEM, byte for byte what
/// `openssl pkcs12 -nokeys -clcerts | openssl x509` writes, by the string rule. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_public_pem(identity: *const gw_identity, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_identity_public_pem", || write_str(&self::identity(identity)?.public_pem(), buf, len, out_n))
}

/// Writes the public certificate (as `gw_identity_public_pem`) as `<dir>/<username>.pem`, the file the
/// agency asks for at registration, and writes that path into `path_buf` by the string rule. `username`
/// NULL: the one derived from the certificate. An existing file is replaced only when `overwrite` is true
/// (else `GW_ERR_IO`, and the file is left as it is). A `path_buf` too small for the path is refused
/// before anything is written (`GW_ERR_BUFFER_TOO_SMALL`, `*path_n` = the path's length).
/// Errors: `GW_ERR_IO` (no such folder, not writable, file exists), `GW_ERR_NOT_A_GATEWAY_CERTIFICATE`,
/// `GW_ERR_INVALID_ARGUMENT` (a user name that cannot be a file name). Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_export_public_pem(
    identity: *const gw_identity,
    dir: *const c_char,
    username: *const c_char,
    overwrite: bool,
    path_buf: *mut c_char,
    path_len: usize,
    path_n: *mut usize,
) -> gw_result {
    guard("gw_identity_export_public_pem", || {
        let identity = self::identity(identity)?;
        // SAFETY: C strings from the caller, checked for NULL and UTF-8.
        let dir = unsafe { path_in(dir, "dir") }?;
        let username = unsafe { opt_str_in(username, "username") }?;
        let target = path_text(&identity.export_path(&dir, username)?);
        reserve_str(target.len(), path_buf, path_len, path_n)?;
        let written = match username {
            Some(name) => identity.export_public_pem_as(&dir, name, overwrite)?,
            None => identity.export_public_pem(&dir, overwrite)?,
        };
        write_str(&path_text(&written), path_buf, path_len, path_n)
    })
}

/// Frees an identity (and wipes its key). NULL, and a handle freed before, are ignored. Clients and
/// sessions made with it are not affected. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_identity_free(identity: *mut gw_identity) {
    guard_void("gw_identity_free", || handle::free(identity));
}
