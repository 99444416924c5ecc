//! `Simulator`: the in-process gateway simulator, for tests and offline integration work.

use super::convert::{datetime_from_ms, duration_from};
use super::errors::{invalid_argument, to_py_err};
use super::logging;
use crate::sim::{AuditEntry, AuditEvent, ClientFiles, Delays, Fault, SimConfig, SimHandle, Simulator};
use pyo3::prelude::*;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The gateway simulator, running in this process on free loopback ports: the new gateway (TLS 1.2,
/// certificate + user name + password) and the legacy one, with the agency's rules, status files and
/// refusals. On start it mints a test PKI and a VOCES-like client certificate into its folder and writes
/// `client.toml`, a profile for `Client.from_config(sim.config_path)`.
///
/// Without `folder` it runs in a new temporary folder, removed by `close()`. Use it as a context manager:
///
/// ```python
/// with gw.Simulator() as sim, gw.Client.from_config(sim.config_path) as client:
///     client.submit("Manifest.AnkomstdeklarationOpret", "declaration.xml")
/// ```
#[pyclass(module = "skat_gateway._native", name = "Simulator", frozen)]
pub struct PySimulator {
    handle: Mutex<Option<SimHandle>>,
    folder: PathBuf,
    temporary: bool,
    config_path: PathBuf,
    client: ClientFiles,
    host: IpAddr,
    port: u16,
    legacy_port: Option<u16>,
    data_ports: (u16, u16),
    ca_file: PathBuf,
}

impl PySimulator {
    fn with_handle<T>(&self, py: Python<'_>, op: impl FnOnce(&SimHandle) -> crate::Result<T> + Send) -> PyResult<T>
    where
        T: Send,
    {
        let result = py.detach(|| lock(&self.handle).as_ref().map(op));
        logging::flush(py);
        match result {
            None => Err(to_py_err(py, &super::client::closed("simulator"))),
            Some(r) => r.map_err(|e| to_py_err(py, &e)),
        }
    }
}

#[pymethods]
impl PySimulator {
    /// Starts the simulator. `folder` keeps its PKI and files (reused by the next start in the same folder);
    /// without it a temporary folder is used. Ports 0 pick free ones; `legacy_port=None` runs no legacy
    /// gateway. The backend takes `delivered_after`, `accepted_after` and `responded_after` seconds for
    /// status 1, 2 and the response with status 3.
    #[new]
    #[pyo3(signature = (
        folder = None, *, host = "127.0.0.1", port = 0, legacy_port = Some(0), data_ports = (36000, 39999),
        delivered_after = None, accepted_after = None, responded_after = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        folder: Option<PathBuf>,
        host: &str,
        port: u16,
        legacy_port: Option<u16>,
        data_ports: (u16, u16),
        delivered_after: Option<&Bound<'_, PyAny>>,
        accepted_after: Option<&Bound<'_, PyAny>>,
        responded_after: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PySimulator> {
        logging::refresh_level(py);
        let host: IpAddr = host.parse().map_err(|_| invalid_argument(format!("host must be an IP address, e.g. 127.0.0.1, not {host:?}")))?;
        let defaults = Delays::default();
        let delay = |value: Option<&Bound<'_, PyAny>>, what: &str, default: Duration| -> PyResult<Duration> {
            value.filter(|v| !v.is_none()).map(|v| duration_from(v, what)).transpose().map(|d| d.unwrap_or(default))
        };
        let delays = Delays {
            delivered: delay(delivered_after, "delivered_after", defaults.delivered)?,
            accepted: delay(accepted_after, "accepted_after", defaults.accepted)?,
            response: delay(responded_after, "responded_after", defaults.response)?,
        };
        let (folder, temporary) = match folder {
            Some(folder) => (folder, false),
            None => {
                let kwargs = pyo3::types::PyDict::new(py);
                kwargs.set_item("prefix", "skat-gateway-sim-")?;
                let made: PathBuf = py.import("tempfile")?.call_method("mkdtemp", (), Some(&kwargs))?.extract()?;
                (made, true)
            }
        };
        let mut config = SimConfig::new(&folder);
        config.host = host;
        config.port = port;
        config.legacy_port = legacy_port;
        config.data_ports = data_ports.0..=data_ports.1;
        config.delays = delays;
        let started = py.detach(|| {
            let handle = Simulator::start(config)?;
            let config_path = handle.write_client_config()?;
            Ok::<_, crate::Error>((handle, config_path))
        });
        logging::flush(py);
        let (handle, config_path) = match started {
            Ok(started) => started,
            Err(e) => {
                if temporary {
                    let _ = std::fs::remove_dir_all(&folder);
                }
                return Err(to_py_err(py, &e));
            }
        };
        Ok(PySimulator {
            folder: handle.dir().to_path_buf(),
            temporary,
            config_path,
            client: handle.client().clone(),
            host: handle.host(),
            port: handle.port(),
            legacy_port: handle.legacy_port(),
            data_ports: (*handle.data_ports().start(), *handle.data_ports().end()),
            ca_file: handle.ca_file().to_path_buf(),
            handle: Mutex::new(Some(handle)),
        })
    }

    /// `client.toml` in the simulator's folder: a profile (`sim`) for its client certificate, password,
    /// CA, journal and inbox.
    #[getter]
    fn config_path(&self) -> PathBuf {
        self.config_path.clone()
    }

    /// The simulator's folder.
    #[getter]
    fn folder(&self) -> PathBuf {
        self.folder.clone()
    }

    #[getter]
    fn host(&self) -> String {
        self.host.to_string()
    }

    /// The new gateway's control port.
    #[getter]
    fn port(&self) -> u16 {
        self.port
    }

    /// The legacy gateway's control port (None when it does not run).
    #[getter]
    fn legacy_port(&self) -> Option<u16> {
        self.legacy_port
    }

    /// The passive data ports `(first, last)`.
    #[getter]
    fn data_ports(&self) -> (u16, u16) {
        self.data_ports
    }

    /// The CA certificate a client must trust.
    #[getter]
    fn ca_file(&self) -> PathBuf {
        self.ca_file.clone()
    }

    /// The client certificate's gateway user name.
    #[getter]
    fn username(&self) -> &str {
        &self.client.username
    }

    /// The client certificate as PKCS#12; its password is in `certificate_password_file`.
    #[getter]
    fn certificate(&self) -> PathBuf {
        self.client.p12.clone()
    }

    #[getter]
    fn certificate_password_file(&self) -> PathBuf {
        self.client.p12_password_file.clone()
    }

    /// The client certificate and key as PEM files.
    #[getter]
    fn certificate_pem(&self) -> PathBuf {
        self.client.cert_pem.clone()
    }

    #[getter]
    fn key_pem(&self) -> PathBuf {
        self.client.key_pem.clone()
    }

    /// The file holding the certificate's gateway password.
    #[getter]
    fn gateway_password_file(&self) -> PathBuf {
        self.client.gateway_password_file.clone()
    }

    /// The folder behind a user's `out` on the new gateway (default: the client certificate's), for tests
    /// that look behind the server.
    #[pyo3(signature = (username = None))]
    fn out_dir(&self, py: Python<'_>, username: Option<String>) -> PyResult<PathBuf> {
        let username = username.unwrap_or_else(|| self.client.username.clone());
        self.with_handle(py, |h| Ok(h.out_dir(&username)))
    }

    /// The same on the legacy gateway.
    #[pyo3(signature = (username = None))]
    fn legacy_out_dir(&self, py: Python<'_>, username: Option<String>) -> PyResult<PathBuf> {
        let username = username.unwrap_or_else(|| self.client.username.clone());
        self.with_handle(py, |h| Ok(h.legacy_out_dir(&username)))
    }

    /// The simulator's own record, oldest first: every upload it accepted as a new transaction, every file
    /// it published in `out` and every file a client deleted there, each with its content's SHA-256. What a
    /// test compares its journal and inbox with (e.g. that a declaration was received exactly once).
    fn audit(&self, py: Python<'_>) -> PyResult<Vec<PyAuditEntry>> {
        Ok(self.with_handle(py, |h| h.audit())?.into_iter().map(PyAuditEntry).collect())
    }

    /// Backend systems down (no status files are written, as at the agency) or up again.
    fn set_backend_available(&self, py: Python<'_>, available: bool) -> PyResult<()> {
        self.with_handle(py, |h| {
            h.set_backend_available(available);
            Ok(())
        })
    }

    /// Arms a fault for the next `times` connections or transfers (None: until `clear_faults()`):
    /// `"drop_control_after"` (bytes), `"drop_data_after"` (bytes of file content), `"delay_replies"`
    /// (seconds) or `"refuse_passive"` (no value).
    #[pyo3(signature = (fault, value = None, *, times = None))]
    fn inject_fault(&self, py: Python<'_>, fault: &str, value: Option<&Bound<'_, PyAny>>, times: Option<u32>) -> PyResult<()> {
        let bytes = |value: Option<&Bound<'_, PyAny>>| -> PyResult<u64> {
            value
                .ok_or_else(|| invalid_argument(format!("the fault {fault:?} needs a number of bytes")))?
                .extract()
                .map_err(|_| invalid_argument(format!("the fault {fault:?} needs a number of bytes")))
        };
        let fault = match fault {
            "drop_control_after" => Fault::DropControlAfter(bytes(value)?),
            "drop_data_after" => Fault::DropDataAfter(bytes(value)?),
            "delay_replies" => Fault::DelayReplies(duration_from(
                value.ok_or_else(|| invalid_argument("the fault \"delay_replies\" needs a number of seconds"))?,
                "delay_replies",
            )?),
            "refuse_passive" => Fault::RefusePassive,
            other => {
                return Err(invalid_argument(format!(
                    "unknown fault {other:?}: use drop_control_after, drop_data_after, delay_replies or refuse_passive"
                )))
            }
        };
        self.with_handle(py, |h| {
            h.inject(fault, times);
            Ok(())
        })
    }

    /// Disarms every fault.
    fn clear_faults(&self, py: Python<'_>) -> PyResult<()> {
        self.with_handle(py, |h| {
            h.clear_faults();
            Ok(())
        })
    }

    /// Restarts both gateways: open connections are cut and the ports refuse connections for `downtime`
    /// seconds. Returns once they accept again.
    #[pyo3(signature = (downtime = None))]
    fn restart(&self, py: Python<'_>, downtime: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let downtime = downtime.map(|d| duration_from(d, "downtime")).transpose()?.unwrap_or(Duration::from_millis(500));
        self.with_handle(py, |h| h.restart(downtime))
    }

    /// Stops the simulator and, for a temporary folder, removes it. Safe to call twice.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let folder = self.temporary.then(|| self.folder.clone());
        let removed = py.detach(|| {
            if let Some(handle) = lock(&self.handle).take() {
                handle.stop();
                if let Some(folder) = &folder {
                    return std::fs::remove_dir_all(folder).or_else(|e| match e.kind() {
                        std::io::ErrorKind::NotFound => Ok(()),
                        _ => Err(e),
                    });
                }
            }
            Ok(())
        });
        logging::flush(py);
        removed.map_err(|e| {
            to_py_err(
                py,
                &crate::Error::new(crate::ErrorKind::Io, format!("cannot remove the simulator's folder {}: {e}", self.folder.display())),
            )
        })
    }

    /// True once `close()` was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| lock(&self.handle).is_none())
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
                log::warn!("closing the simulator after an error failed too: {e}");
                Ok(())
            }
            (result, _) => result,
        }
    }

    fn __repr__(&self) -> String {
        format!("Simulator(host={:?}, port={}, folder={:?})", self.host.to_string(), self.port, self.folder)
    }
}

impl Drop for PySimulator {
    fn drop(&mut self) {
        // Stopping waits for the simulator's threads, which may need the GIL to log: not with it held.
        if let Some(handle) = self.handle.get_mut().ok().and_then(Option::take) {
            let folder = self.temporary.then(|| self.folder.clone());
            let stop = move || {
                handle.stop();
                if let Some(folder) = folder {
                    let _ = std::fs::remove_dir_all(folder);
                }
            };
            let _ = Python::try_attach(|py| py.detach(stop));
        }
    }
}

/// One line of the simulator's audit record (`Simulator.audit()`).
#[pyclass(module = "skat_gateway._native", name = "AuditEntry", frozen)]
pub struct PyAuditEntry(AuditEntry);

#[pymethods]
impl PyAuditEntry {
    /// When it happened (an aware UTC datetime).
    #[getter]
    fn at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime_from_ms(py, self.0.at_ms)
    }
    /// `"received"` (an upload accepted as a new transaction; not one refused as a reused name),
    /// `"published"` (a status or response file put in `out`) or `"deleted"` (a client deleted a file in `out`).
    #[getter]
    fn event(&self) -> &'static str {
        match self.0.event {
            AuditEvent::Received => "received",
            AuditEvent::Published => "published",
            AuditEvent::Deleted => "deleted",
        }
    }
    /// `"new"` or `"legacy"`.
    #[getter]
    fn gateway(&self) -> &str {
        &self.0.gateway
    }
    #[getter]
    fn username(&self) -> &str {
        &self.0.username
    }
    /// The file's name (for `"received"`: the transaction's filename).
    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }
    /// SHA-256 of the file's content, in hex.
    #[getter]
    fn sha256(&self) -> &str {
        &self.0.sha256
    }
    fn __repr__(&self) -> String {
        format!("AuditEntry({}, {:?}, gateway={:?})", self.event(), self.0.name, self.0.gateway)
    }
}
