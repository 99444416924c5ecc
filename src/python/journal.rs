//! `Journal`: the SQLite record of names, submissions and downloads, for queries without a connection.

use super::client::{closed, Reentry};
use super::errors::{invalid_argument, to_py_err};
use super::logging;
use super::records::{PyDownload, PySubmission};
use crate::journal::Journal;
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The journal file: every name used, every submission and its state, every file fetched from `out`.
/// Any number of processes and threads may open the same file at once.
#[pyclass(module = "skat_gateway._native", name = "Journal", frozen)]
pub struct PyJournal {
    inner: Mutex<Option<Arc<Journal>>>,
    path: PathBuf,
    read_only: bool,
}

impl PyJournal {
    fn run<T: Send>(&self, py: Python<'_>, op: impl FnOnce(&Journal) -> crate::Result<T> + Send) -> PyResult<T> {
        logging::refresh_level(py);
        let _busy = Reentry::enter(self as *const Self as usize, "journal")?;
        let journal = lock(&self.inner).clone().ok_or_else(|| to_py_err(py, &closed("journal")))?;
        let result = py.detach(|| op(&journal));
        logging::flush(py);
        result.map_err(|e| to_py_err(py, &e))
    }
}

#[pymethods]
impl PyJournal {
    /// Opens (creating if needed) the journal at `path`. With `read_only=True` an existing journal is only
    /// read: nothing is ever written, so a user who may only read the file (monitoring) can use it, and a
    /// wrong file is never changed; `close_submission` then raises `InvalidArgumentError`.
    #[new]
    #[pyo3(signature = (path, *, read_only = false))]
    fn new(py: Python<'_>, path: PathBuf, read_only: bool) -> PyResult<PyJournal> {
        let journal = py
            .detach(|| if read_only { Journal::open_read_only(&path) } else { Journal::open(&path) })
            .map_err(|e| to_py_err(py, &e))?;
        Ok(PyJournal { path: journal.path().to_path_buf(), inner: Mutex::new(Some(Arc::new(journal))), read_only })
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// True when opened with `read_only=True`.
    #[getter]
    fn read_only(&self) -> bool {
        self.read_only
    }

    /// The schema version of the file.
    #[getter]
    fn schema_version(&self, py: Python<'_>) -> PyResult<i32> {
        self.run(py, |j| j.schema_version())
    }

    /// Every submission (of one certificate's user name, if `owner` is given), oldest first.
    #[pyo3(signature = (owner = None))]
    fn submissions(&self, py: Python<'_>, owner: Option<String>) -> PyResult<Vec<PySubmission>> {
        Ok(self.run(py, |j| j.submissions(owner.as_deref()))?.into_iter().map(PySubmission).collect())
    }

    /// The submission `name`. Without `owner`, the name must belong to one certificate in this journal.
    /// Raises `UnknownSubmissionError` when there is none.
    #[pyo3(signature = (name, owner = None))]
    fn submission(&self, py: Python<'_>, name: String, owner: Option<String>) -> PyResult<PySubmission> {
        if let Some(owner) = owner {
            return self.run(py, |j| j.submission(&owner, &name)).map(PySubmission);
        }
        let mut found = self.run(py, |j| j.submissions_named(&name))?;
        match found.len() {
            0 => Err(to_py_err(
                py,
                &crate::Error::new(
                    crate::ErrorKind::UnknownSubmission,
                    format!("the journal {} has no submission named {name}; Journal.submissions() lists them", self.path.display()),
                ),
            )),
            1 => Ok(PySubmission(found.remove(0))),
            n => Err(invalid_argument(format!(
                "{n} certificates in {} used the name {name}: give owner= (one of {})",
                self.path.display(),
                found.iter().map(|s| s.owner.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// Every file fetched from `out`, oldest first.
    #[pyo3(signature = (owner = None))]
    fn downloads(&self, py: Python<'_>, owner: Option<String>) -> PyResult<Vec<PyDownload>> {
        Ok(self.run(py, |j| j.downloads(owner.as_deref()))?.into_iter().map(PyDownload).collect())
    }

    /// Status files whose name the journal did not know when they arrived: `(status file, transaction id)`.
    #[pyo3(signature = (owner = None))]
    fn unknown_receipts(&self, py: Python<'_>, owner: Option<String>) -> PyResult<Vec<(String, String)>> {
        self.run(py, |j| j.unknown_receipts(owner.as_deref()))
    }

    /// True when `owner` has used `name` before (the gateway accepts a name once).
    fn name_used(&self, py: Python<'_>, owner: String, name: String) -> PyResult<bool> {
        self.run(py, |j| j.name_used(&owner, &name))
    }

    /// `owner`'s uploads that were interrupted and that no live process holds (see `Client.stale_uploads`).
    fn stale_uploads(&self, py: Python<'_>, owner: String) -> PyResult<Vec<PySubmission>> {
        Ok(self.run(py, |j| j.stale_uploads(&owner))?.into_iter().map(PySubmission).collect())
    }

    /// Closes `owner`'s submission `name`: one waiting for a status that will not come, an interrupted upload
    /// to abandon (its spool copy is removed), or a Failed one to acknowledge (see `Client.close_submission`).
    #[pyo3(signature = (owner, name, reason = None))]
    fn close_submission(&self, py: Python<'_>, owner: String, name: String, reason: Option<String>) -> PyResult<PySubmission> {
        self.run(py, |j| j.close(&owner, &name, reason.as_deref())).map(PySubmission)
    }

    /// Closes the file (safe to call twice).
    fn close(&self, py: Python<'_>) {
        let journal = lock(&self.inner).take();
        py.detach(|| drop(journal));
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (exc_type, exc, traceback))]
    fn __exit__(&self, py: Python<'_>, exc_type: Option<&Bound<'_, PyAny>>, exc: Option<&Bound<'_, PyAny>>, traceback: Option<&Bound<'_, PyAny>>) {
        let _ = (exc_type, exc, traceback);
        self.close(py);
    }

    fn __repr__(&self) -> String {
        format!("Journal({:?})", self.path)
    }
}
