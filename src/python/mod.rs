//! The Python face, `skat_gateway._native`: pyo3 glue over the core, nothing more.
//!
//! What every method here does: convert the arguments to owned Rust values, release the GIL (`py.detach`)
//! around the core's network and disk work, turn the core's errors into the exceptions of
//! `skat_gateway.exceptions` (from the one table in `src/error.rs`), and deliver the core's log records to
//! Python's `logging`. The Python package `python/skat_gateway/` re-exports these classes with the enums,
//! the exceptions and the type stubs.

mod client;
mod convert;
mod errors;
mod hooks;
mod identity;
mod journal;
mod logging;
mod records;
mod session;
mod sim;

use pyo3::prelude::*;
use std::path::PathBuf;

/// Every service in skat-gateway's catalogue of the agency's ICS and Manifest services (plus the heartbeat).
#[pyfunction]
fn catalogue() -> Vec<records::PyService> {
    crate::gateway::Service::catalogue().into_iter().map(records::PyService::from).collect()
}

/// Checks a filename for a submission against the gateway's rules; raises `InvalidFilenameError` saying
/// which rule it breaks.
#[pyfunction]
fn validate_filename(py: Python<'_>, name: &str) -> PyResult<()> {
    crate::gateway::names::validate(name).map_err(|e| errors::to_py_err(py, &e))
}

/// A new unique filename: `<prefix or the file's stem>-<UTC time to the ms>-<random>.<the file's extension>`.
#[pyfunction]
#[pyo3(signature = (prefix = None, file = None))]
fn unique_filename(prefix: Option<&str>, file: Option<PathBuf>) -> String {
    crate::gateway::names::generate(prefix, file.as_deref())
}

#[pymodule]
#[pyo3(name = "_native")]
fn native_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("HEARTBEAT_SERVICE", crate::gateway::HEARTBEAT_SERVICE)?;
    m.add_class::<identity::PyIdentity>()?;
    m.add_class::<identity::PySecret>()?;
    m.add_class::<client::PyConfig>()?;
    m.add_class::<client::PyClient>()?;
    m.add_class::<journal::PyJournal>()?;
    m.add_class::<session::PySession>()?;
    m.add_class::<sim::PySimulator>()?;
    m.add_class::<records::PyService>()?;
    m.add_class::<records::PySubmission>()?;
    m.add_class::<records::PySubmitResult>()?;
    m.add_class::<records::PyStatusFile>()?;
    m.add_class::<records::PyReceipt>()?;
    m.add_class::<records::PyReceiptError>()?;
    m.add_class::<records::PyPollReport>()?;
    m.add_class::<records::PyFetchedFile>()?;
    m.add_class::<records::PyInvalidFile>()?;
    m.add_class::<records::PySkippedFile>()?;
    m.add_class::<records::PyReceiptFile>()?;
    m.add_class::<records::PyResponseFile>()?;
    m.add_class::<sim::PyAuditEntry>()?;
    m.add_class::<records::PyPing>()?;
    m.add_class::<records::PyDownload>()?;
    m.add_class::<records::PyRemoteEntry>()?;
    m.add_class::<records::PyEvent>()?;
    m.add_function(wrap_pyfunction!(catalogue, m)?)?;
    m.add_function(wrap_pyfunction!(validate_filename, m)?)?;
    m.add_function(wrap_pyfunction!(unique_filename, m)?)?;
    m.add_function(wrap_pyfunction!(errors::error_table, m)?)?;
    logging::install(m.py())?;
    Ok(())
}
