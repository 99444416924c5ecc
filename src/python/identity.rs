//! `Identity` (the OCES certificate) and `Secret` (a password that never shows itself).

use super::convert::{certificate_kind, datetime_from_offset, optional_secret, secret_from};
use super::errors::to_py_err;
use crate::identity::{Identity, Validity};
use crate::secret::Secret;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;
use std::sync::Arc;

/// A password or other secret. `repr()` and `str()` show `***`; `reveal()` gives the text.
#[pyclass(module = "skat_gateway._native", name = "Secret", frozen)]
pub struct PySecret(pub Secret);

#[pymethods]
impl PySecret {
    #[new]
    fn new(text: String) -> Self {
        PySecret(Secret::new(text))
    }
    /// The secret text. Keep the call sites few.
    fn reveal(&self) -> String {
        self.0.expose().to_string()
    }
    /// Writes the secret to `path` with mode 0600 (a password file for a profile's `password_file`); an
    /// existing file is replaced only with `overwrite=True`.
    #[pyo3(signature = (path, *, overwrite = false))]
    fn save(&self, py: Python<'_>, path: PathBuf, overwrite: bool) -> PyResult<()> {
        let secret = self.0.clone();
        py.detach(|| crate::gateway::migration::save_password(&path, &secret, overwrite)).map_err(|e| to_py_err(py, &e))
    }
    fn __repr__(&self) -> &'static str {
        "Secret('***')"
    }
    fn __str__(&self) -> &'static str {
        "***"
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.downcast::<PySecret>().is_ok_and(|o| o.get().0 == self.0)
    }
    fn __hash__(&self) -> u64 {
        // Equal secrets are equal objects; the hash must not tell anything about the text.
        0
    }
    fn __len__(&self) -> usize {
        self.0.expose().chars().count()
    }
    fn __reduce__(&self) -> PyResult<()> {
        Err(super::errors::invalid_argument("a Secret cannot be pickled: pass the password some other way"))
    }
}

/// A client certificate with its private key and chain, and what the gateway reads from it.
///
/// Load it with `Identity.from_file(path, password)` (PKCS#12 or PEM, detected from the content). An
/// expired certificate loads (so its details can be shown); connecting with it raises `CertificateError`.
#[pyclass(module = "skat_gateway._native", name = "Identity", frozen)]
pub struct PyIdentity(pub Arc<Identity>);

#[pymethods]
impl PyIdentity {
    /// Reads a certificate file: PKCS#12 (.p12/.pfx, needs `password` unless it has none) or PEM with the key.
    #[staticmethod]
    #[pyo3(signature = (path, password = None))]
    fn from_file(py: Python<'_>, path: PathBuf, password: Option<&Bound<'_, PyAny>>) -> PyResult<PyIdentity> {
        let password = optional_secret(password, "password")?;
        py.detach(|| Identity::from_file(&path, password.as_ref()))
            .map(|i| PyIdentity(Arc::new(i)))
            .map_err(|e| to_py_err(py, &e))
    }

    /// Reads PKCS#12 bytes.
    #[staticmethod]
    fn from_pkcs12(py: Python<'_>, data: &[u8], password: &Bound<'_, PyAny>) -> PyResult<PyIdentity> {
        let password = secret_from(password, "password")?;
        let data = data.to_vec();
        py.detach(|| Identity::from_pkcs12(&data, &password)).map(|i| PyIdentity(Arc::new(i))).map_err(|e| to_py_err(py, &e))
    }

    /// Reads PEM bytes: the certificate (and any intermediates) and the private key, in `cert` or in `key`.
    #[staticmethod]
    #[pyo3(signature = (cert, key = None))]
    fn from_pem(py: Python<'_>, cert: &[u8], key: Option<&[u8]>) -> PyResult<PyIdentity> {
        Identity::from_pem(cert, key).map(|i| PyIdentity(Arc::new(i))).map_err(|e| to_py_err(py, &e))
    }

    /// Reads PEM files: the certificate file and, if the key is not in it, the key file.
    #[staticmethod]
    #[pyo3(signature = (cert, key = None))]
    fn from_pem_files(py: Python<'_>, cert: PathBuf, key: Option<PathBuf>) -> PyResult<PyIdentity> {
        py.detach(|| Identity::from_pem_files(&cert, key.as_deref())).map(|i| PyIdentity(Arc::new(i))).map_err(|e| to_py_err(py, &e))
    }

    /// The gateway user name, e.g. `CVR_30808460_UID_25351738`. Raises `CertificateError` for a certificate
    /// the gateway does not accept (then give the user name explicitly in the profile).
    #[getter]
    fn username(&self, py: Python<'_>) -> PyResult<String> {
        self.0.username().map_err(|e| to_py_err(py, &e))
    }

    /// The kind of certificate (a `CertificateKind`: VOCES, MOCES, FOCES, OCES3, other).
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        certificate_kind(py, self.0.kind())
    }

    /// The company's CVR number (8 digits), when the subject names one.
    #[getter]
    fn cvr(&self) -> Option<&str> {
        self.0.info().cvr.as_deref()
    }

    /// The certificate's UID, RID or FID (OCES II) or UUID (OCES3).
    #[getter]
    fn id(&self) -> Option<&str> {
        self.0.info().id.as_deref()
    }

    #[getter]
    fn subject(&self) -> &str {
        &self.0.info().subject
    }

    #[getter]
    fn issuer(&self) -> &str {
        &self.0.info().issuer
    }

    /// The serial number in upper-case hex.
    #[getter]
    fn serial(&self) -> &str {
        &self.0.info().serial
    }

    /// Valid from (aware UTC datetime).
    #[getter]
    fn not_before<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime_from_offset(py, self.0.info().not_before)
    }

    /// Valid until (aware UTC datetime).
    #[getter]
    fn not_after<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime_from_offset(py, self.0.info().not_after)
    }

    /// SHA-256 of the certificate as `AB:CD:...`.
    #[getter]
    fn fingerprint(&self) -> String {
        self.0.info().sha256_colon_hex()
    }

    /// SHA-256 of the certificate in lower-case hex.
    #[getter]
    fn sha256(&self) -> &str {
        &self.0.info().sha256
    }

    #[getter]
    fn is_expired(&self) -> bool {
        self.0.info().is_expired()
    }

    #[getter]
    fn is_not_yet_valid(&self) -> bool {
        self.0.info().is_not_yet_valid()
    }

    /// Whole days until it expires (negative once expired).
    #[getter]
    fn days_until_expiry(&self) -> i64 {
        self.0.info().days_until_expiry()
    }

    /// The number of certificates in the chain (leaf first).
    #[getter]
    fn chain_length(&self) -> usize {
        self.0.certificate_chain().len()
    }

    /// The public certificate (leaf only) in PEM: what the agency needs at registration.
    #[getter]
    fn public_pem(&self) -> String {
        self.0.public_pem()
    }

    /// The leaf certificate in DER.
    #[getter]
    fn certificate_der<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.0.certificate_chain()[0].as_ref())
    }

    /// Raises `CertificateError` unless the certificate is valid now, saying when it expired or becomes valid.
    fn ensure_currently_valid(&self, py: Python<'_>) -> PyResult<()> {
        match self.0.info().validity() {
            Validity::Valid => Ok(()),
            _ => self.0.ensure_currently_valid().map_err(|e| to_py_err(py, &e)),
        }
    }

    /// Writes the public certificate as `<folder>/<username>.pem` (never the key) and returns its path. An
    /// existing file is replaced only with `overwrite=True`; `username` names the file when the certificate's
    /// own user name does not apply.
    #[pyo3(signature = (folder, *, username = None, overwrite = false))]
    fn export_public_pem(&self, py: Python<'_>, folder: PathBuf, username: Option<String>, overwrite: bool) -> PyResult<PathBuf> {
        let identity = self.0.clone();
        py.detach(|| match &username {
            Some(name) => identity.export_public_pem_as(&folder, name, overwrite),
            None => identity.export_public_pem(&folder, overwrite),
        })
        .map_err(|e| to_py_err(py, &e))
    }

    fn __repr__(&self) -> String {
        let info = self.0.info();
        let name = match info.username() {
            Some(name) => format!("{name:?}"),
            None => format!("subject={:?}", info.subject),
        };
        format!("Identity({name}, kind={}, not_after={})", info.kind.code(), info.not_after.date())
    }
}
