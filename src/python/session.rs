//! `Session`: the low-level FTPS session (ls, put, get, rm, ...) for tools and diagnostics.
//!
//! Unlike a submission, a raw transfer may be cut off: Ctrl-C or an exception from the progress callback
//! stops it at the next block (a download leaves no file behind; an upload leaves an incomplete remote file,
//! as any FTP client would, and says so).

use super::client::{closed, gateway_choice, PyConfig, Reentry};
use super::convert::{optional_duration, optional_secret};
use super::errors::to_py_err;
use super::hooks::Hooks;
use super::identity::PyIdentity;
use super::logging;
use super::records::PyRemoteEntry;
use crate::durable::PartialFile;
use crate::endpoint::{Endpoint, Generation};
use crate::error::{Error, ErrorKind};
use crate::ftp::{Durability, Login, Session, SessionConfig, Timeouts, TransferType};
use crate::tls::TlsOptions;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn transfer_type(ascii: bool) -> TransferType {
    if ascii {
        TransferType::Ascii
    } else {
        TransferType::Binary
    }
}

fn stopped() -> io::Error {
    io::Error::other("stopped by the caller (Ctrl-C or an exception in the progress callback)")
}

/// A reader that reports progress after each block and stops when the hooks say so.
struct WatchedReader<'a, R> {
    inner: R,
    hooks: &'a Hooks,
    done: u64,
    total: Option<u64>,
}

impl<R: Read> Read for WatchedReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if !self.hooks.transfer_may_continue(self.done, self.total) {
            return Err(stopped());
        }
        Ok(n)
    }
}

/// A writer that reports progress after each block and stops when the hooks say so.
struct WatchedWriter<'a, W> {
    inner: W,
    hooks: &'a Hooks,
    done: u64,
}

impl<W: Write> Write for WatchedWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.done += n as u64;
        if !self.hooks.transfer_may_continue(self.done, None) {
            return Err(stopped());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One logged-in FTPS session (explicit TLS 1.2, client certificate, data connections resuming the control
/// connection's TLS session). For the submission workflow use `Client`; this is for looking around, tools
/// and diagnostics. A context manager; `close()` sends QUIT.
#[pyclass(module = "skat_gateway._native", name = "Session", frozen)]
pub struct PySession {
    inner: Mutex<Option<Session>>,
    hooks: Hooks,
    username: String,
    endpoint: Endpoint,
}

impl PySession {
    fn open(py: Python<'_>, config: SessionConfig) -> PyResult<PySession> {
        logging::refresh_level(py);
        let result = py.detach(|| Session::connect(&config));
        logging::flush(py);
        let session = result.map_err(|e| to_py_err(py, &e))?;
        Ok(PySession {
            username: session.username().to_string(),
            endpoint: session.endpoint().clone(),
            inner: Mutex::new(Some(session)),
            hooks: Hooks::default(),
        })
    }

    fn run<T: Send>(
        &self,
        py: Python<'_>,
        progress: Option<Py<PyAny>>,
        op: impl FnOnce(&mut Session, &Hooks) -> crate::Result<T> + Send,
    ) -> PyResult<T> {
        logging::refresh_level(py);
        let _busy = Reentry::enter(self as *const Self as usize, "session")?;
        self.hooks.set_progress(progress);
        let result = py.detach(|| lock(&self.inner).as_mut().map(|s| op(s, &self.hooks)));
        self.hooks.set_progress(None);
        logging::flush(py);
        if let Some(error) = self.hooks.take_error() {
            return Err(error);
        }
        match result {
            None => Err(to_py_err(py, &closed("session"))),
            Some(Ok(value)) => Ok(value),
            Some(Err(e)) => Err(to_py_err(py, &e)),
        }
    }
}

#[pymethods]
impl PySession {
    /// Connects and logs in. `password` is the gateway password (the new gateway); without it
    /// (`legacy=True`) the certificate alone logs in. The user name is derived from the certificate unless
    /// given. `ca_file` adds trust anchors (a test server's CA); `data_ports` is the passive range to expect.
    #[staticmethod]
    #[pyo3(signature = (
        host, port = 6381, *, identity, password = None, username = None, ca_file = None, system_roots = true,
        legacy = false, data_ports = None, connect_timeout = None, io_timeout = None, allow_tls13 = false
    ))]
    #[allow(clippy::too_many_arguments)]
    fn connect(
        py: Python<'_>,
        host: String,
        port: u16,
        identity: PyRef<'_, PyIdentity>,
        password: Option<&Bound<'_, PyAny>>,
        username: Option<String>,
        ca_file: Option<PathBuf>,
        system_roots: bool,
        legacy: bool,
        data_ports: Option<(u16, u16)>,
        connect_timeout: Option<&Bound<'_, PyAny>>,
        io_timeout: Option<&Bound<'_, PyAny>>,
        allow_tls13: bool,
    ) -> PyResult<PySession> {
        let mut endpoint = Endpoint::custom(host, port).with_generation(if legacy { Generation::Legacy } else { Generation::New });
        if let Some((first, last)) = data_ports {
            endpoint = endpoint.with_data_ports(first..=last);
        }
        let login = match optional_secret(password, "password")? {
            Some(password) => Login::Password { username, password },
            None if legacy => Login::CertificateOnly { username },
            None => {
                return Err(to_py_err(
                    py,
                    &Error::new(
                        ErrorKind::InvalidArgument,
                        "the new gateway needs the gateway password: give password=..., or legacy=True for a \
                         certificate-only login",
                    ),
                ))
            }
        };
        let defaults = Timeouts::default();
        let timeouts = Timeouts {
            connect: optional_duration(connect_timeout, "connect_timeout")?.unwrap_or(defaults.connect),
            io: optional_duration(io_timeout, "io_timeout")?.unwrap_or(defaults.io),
        };
        let tls = TlsOptions { system_roots, ca_file, allow_tls13, ..TlsOptions::default() };
        let config = SessionConfig::new(endpoint, identity.0.clone(), login).with_tls(tls).with_timeouts(timeouts);
        PySession::open(py, config)
    }

    /// A session to one of a profile's gateways (`"new"` or `"legacy"`; default: the profile's).
    #[staticmethod]
    #[pyo3(signature = (config, gateway = None))]
    fn from_config(py: Python<'_>, config: PyRef<'_, PyConfig>, gateway: Option<&str>) -> PyResult<PySession> {
        let config = config.0.clone();
        let gateway = gateway_choice(gateway, config.default_gateway)?;
        let session_config = py
            .detach(|| config.load_identity().and_then(|identity| config.session_config(gateway, Arc::new(identity))))
            .map_err(|e| to_py_err(py, &e))?;
        PySession::open(py, session_config)
    }

    /// The user name it logged in with.
    #[getter]
    fn username(&self) -> &str {
        &self.username
    }

    #[getter]
    fn host(&self) -> &str {
        self.endpoint.host()
    }

    #[getter]
    fn port(&self) -> u16 {
        self.endpoint.port()
    }

    /// Lists a folder (default: the current one).
    #[pyo3(signature = (path = None))]
    fn list(&self, py: Python<'_>, path: Option<String>) -> PyResult<Vec<PyRemoteEntry>> {
        let entries = self.run(py, None, |s, _| s.list(path.as_deref()))?;
        Ok(entries.into_iter().map(PyRemoteEntry).collect())
    }

    /// Uploads the local file `local` to `remote` (a path on the server, e.g. `Service/name.xml`). Returns the
    /// bytes sent. `progress(sent, total)` is called after each block.
    #[pyo3(signature = (local, remote, *, ascii = false, progress = None))]
    fn put(&self, py: Python<'_>, local: PathBuf, remote: String, ascii: bool, progress: Option<Py<PyAny>>) -> PyResult<u64> {
        self.run(py, progress, |s, hooks| {
            let unreadable = |e: io::Error| Error::new(ErrorKind::Io, format!("cannot open {} for upload: {e}", local.display())).with_source(e);
            let file = std::fs::File::open(&local).map_err(unreadable)?;
            let metadata = file.metadata().map_err(unreadable)?;
            // Before the server creates the remote file: on the gateway a name is used up by any upload.
            if !metadata.is_file() {
                return Err(Error::new(ErrorKind::InvalidArgument, format!("{} is not a regular file: give the file to upload", local.display())));
            }
            let mut reader = WatchedReader { inner: file, hooks, done: 0, total: Some(metadata.len()) };
            s.put(&mut reader, &remote, transfer_type(ascii), None)
        })
    }

    /// Uploads bytes to `remote`. Returns the bytes sent.
    #[pyo3(signature = (data, remote, *, ascii = false))]
    fn put_bytes(&self, py: Python<'_>, data: Vec<u8>, remote: String, ascii: bool) -> PyResult<u64> {
        self.run(py, None, |s, hooks| {
            let total = Some(data.len() as u64);
            let mut reader = WatchedReader { inner: data.as_slice(), hooks, done: 0, total };
            s.put(&mut reader, &remote, transfer_type(ascii), None)
        })
    }

    /// Downloads `remote` to the local file `local`: it appears complete or not at all (an existing file is
    /// replaced once the server confirms the transfer). With `sync=True` it is on disk when this returns (do
    /// that before deleting the remote copy). Returns the bytes written. `progress(received, None)` after
    /// each block.
    #[pyo3(signature = (remote, local, *, ascii = false, sync = false, progress = None))]
    fn get(&self, py: Python<'_>, remote: String, local: PathBuf, ascii: bool, sync: bool, progress: Option<Py<PyAny>>) -> PyResult<u64> {
        self.run(py, progress, |s, hooks| {
            let mut partial = PartialFile::beside(&local)?;
            let buffered = io::BufWriter::with_capacity(64 * 1024, &mut partial);
            let mut writer = WatchedWriter { inner: buffered, hooks, done: 0 };
            let received = s.get(&remote, &mut writer, transfer_type(ascii), None)?;
            drop(writer);
            // Dropped without `persist` on any error above: no partial file is left under either name.
            partial.persist(&local, if sync { Durability::Synced } else { Durability::Atomic })?;
            Ok(received)
        })
    }

    /// Downloads `remote` into memory.
    #[pyo3(signature = (remote, *, ascii = false))]
    fn get_bytes<'py>(&self, py: Python<'py>, remote: String, ascii: bool) -> PyResult<Bound<'py, PyBytes>> {
        let data = self.run(py, None, |s, hooks| {
            let mut writer = WatchedWriter { inner: Vec::new(), hooks, done: 0 };
            s.get(&remote, &mut writer, transfer_type(ascii), None)?;
            Ok(writer.inner)
        })?;
        Ok(PyBytes::new(py, &data))
    }

    /// Deletes a remote file.
    fn delete(&self, py: Python<'_>, remote: String) -> PyResult<()> {
        self.run(py, None, |s, _| s.delete(&remote))
    }

    /// Renames (moves) a remote file.
    fn rename(&self, py: Python<'_>, source: String, target: String) -> PyResult<()> {
        self.run(py, None, |s, _| s.rename(&source, &target))
    }

    /// The size of a remote file in bytes.
    fn size(&self, py: Python<'_>, remote: String) -> PyResult<u64> {
        self.run(py, None, |s, _| s.size(&remote))
    }

    /// Changes the current remote folder.
    fn cwd(&self, py: Python<'_>, path: String) -> PyResult<()> {
        self.run(py, None, |s, _| s.cwd(&path))
    }

    /// The current remote folder.
    fn pwd(&self, py: Python<'_>) -> PyResult<String> {
        self.run(py, None, |s, _| s.pwd())
    }

    /// Keeps the session alive (NOOP).
    fn noop(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, None, |s, _| s.noop())
    }

    /// Ends the session (QUIT). Safe to call twice.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let _busy = Reentry::enter(self as *const Self as usize, "session")?;
        let result = py.detach(|| lock(&self.inner).take().map(Session::quit));
        logging::flush(py);
        match result {
            Some(Err(e)) => Err(to_py_err(py, &e)),
            _ => Ok(()),
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Closes; while an exception is on its way out, a failure to close is only logged, not raised over it.
    #[pyo3(signature = (exc_type, exc, traceback))]
    fn __exit__(&self, py: Python<'_>, exc_type: Option<&Bound<'_, PyAny>>, exc: Option<&Bound<'_, PyAny>>, traceback: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let _ = (exc, traceback);
        match (self.close(py), exc_type) {
            (Err(e), Some(_)) => {
                log::warn!("closing the session after an error failed too: {e}");
                Ok(())
            }
            (result, _) => result,
        }
    }

    fn __repr__(&self) -> String {
        format!("Session(username={:?}, endpoint={:?})", self.username, self.endpoint.to_string())
    }
}

impl Drop for PySession {
    fn drop(&mut self) {
        if let Some(session) = self.inner.get_mut().ok().and_then(Option::take) {
            let _ = Python::try_attach(|py| py.detach(|| drop(session)));
        }
    }
}
