//! `Config` and `Client`: the submission workflow. Arguments are converted to owned Rust values first; the
//! core then runs with the GIL released (`py.detach`), and its errors become the package's exceptions.

use super::convert::{optional_duration, optional_secret, timedelta_from};
use super::errors::{invalid_argument, to_py_err};
use super::hooks::Hooks;
use super::records::{PyPing, PyPollReport, PyService, PySubmission, PySubmitResult};
use super::{identity::PySecret, logging};
use crate::error::{Error, ErrorKind};
use crate::gateway::client::{PollOptions, SubmitOptions};
use crate::gateway::config::environment_address;
use crate::gateway::{Client, Config, GatewayChoice, MAX_SESSIONS};
use crate::journal::ReceiptOutcome;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn gateway_choice(name: Option<&str>, default: GatewayChoice) -> PyResult<GatewayChoice> {
    match name {
        None => Ok(default),
        Some("new") => Ok(GatewayChoice::New),
        Some("legacy") => Ok(GatewayChoice::Legacy),
        Some(other) => Err(invalid_argument(format!("gateway must be \"new\" or \"legacy\", not {other:?}"))),
    }
}

/// The settings a client runs with: a profile of a config file (with the environment applied) or settings
/// given here. Secrets given to it never show in its `repr()`.
#[pyclass(module = "skat_gateway._native", name = "Config", frozen)]
#[derive(Clone)]
pub struct PyConfig(pub Config);

#[pymethods]
impl PyConfig {
    /// Settings given directly. `journal` is required: every run of the same integration must use the same
    /// journal (it is what makes each file arrive once). Durations are seconds, `timedelta`s or text such as
    /// `"6h"`. `routes` maps services (or `prefix*` patterns) to `"new"` or `"legacy"`.
    #[new]
    #[pyo3(signature = (
        *, certificate, journal, certificate_password = None, key = None, password = None, username = None,
        environment = "tfe", host = None, port = None, legacy_host = None, legacy_port = None, ca_file = None,
        system_roots = true, inbox = None, deadline = None, connect_timeout = None, io_timeout = None,
        default_gateway = "new", routes = None, upload_attempts = None, sessions = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        certificate: PathBuf,
        journal: PathBuf,
        certificate_password: Option<&Bound<'_, PyAny>>,
        key: Option<PathBuf>,
        password: Option<&Bound<'_, PyAny>>,
        username: Option<String>,
        environment: &str,
        host: Option<String>,
        port: Option<u16>,
        legacy_host: Option<String>,
        legacy_port: Option<u16>,
        ca_file: Option<PathBuf>,
        system_roots: bool,
        inbox: Option<PathBuf>,
        deadline: Option<&Bound<'_, PyAny>>,
        connect_timeout: Option<&Bound<'_, PyAny>>,
        io_timeout: Option<&Bound<'_, PyAny>>,
        default_gateway: &str,
        routes: Option<&Bound<'_, PyDict>>,
        upload_attempts: Option<u32>,
        sessions: Option<u32>,
    ) -> PyResult<PyConfig> {
        let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
        let journal = absolute(journal);
        let base = journal.parent().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
        let mut config = Config::defaults(&base);
        config.profile = "python".into();
        config.journal = journal;
        for gateway in [GatewayChoice::New, GatewayChoice::Legacy] {
            *config.address_mut(gateway) = environment_address(environment, gateway).ok_or_else(|| {
                invalid_argument(format!("environment must be \"tfe\" or \"production\", not {environment:?}"))
            })?;
        }
        for (gateway, host, port) in [(GatewayChoice::New, host, port), (GatewayChoice::Legacy, legacy_host, legacy_port)] {
            let address = config.address_mut(gateway);
            if let Some(host) = host {
                // Another server: its passive ports are its own business, not the agency's published range.
                address.host = host;
                address.data_ports = None;
            }
            if let Some(port) = port {
                address.port = port;
            }
        }
        config.certificate = Some(absolute(certificate));
        config.key = key.map(absolute);
        config.certificate_password = optional_secret(certificate_password, "certificate_password")?;
        config.password = optional_secret(password, "password")?;
        config.username = username;
        config.ca_file = ca_file.map(absolute);
        config.system_roots = system_roots;
        if let Some(inbox) = inbox {
            config.inbox = absolute(inbox);
        }
        if let Some(d) = duration_setting(deadline, "deadline")? {
            config.deadline = d;
        }
        if let Some(d) = duration_setting(connect_timeout, "connect_timeout")? {
            config.connect_timeout = d;
        }
        if let Some(d) = duration_setting(io_timeout, "io_timeout")? {
            config.io_timeout = d;
        }
        config.default_gateway = gateway_choice(Some(default_gateway), GatewayChoice::New)?;
        if let Some(routes) = routes {
            for (service, gateway) in routes.iter() {
                let service: String = service.extract()?;
                let gateway: String = gateway.extract()?;
                let gateway = gateway_choice(Some(&gateway), GatewayChoice::New)?;
                config.add_route(&service, gateway).map_err(|e| to_py_err(py, &e))?;
            }
        }
        if let Some(attempts) = upload_attempts {
            config.upload_attempts = attempts.max(1);
        }
        if let Some(sessions) = sessions {
            if !(1..=MAX_SESSIONS).contains(&sessions) {
                return Err(invalid_argument(format!("sessions must be 1 to {MAX_SESSIONS}, not {sessions}")));
            }
            config.sessions = sessions;
        }
        Ok(PyConfig(config))
    }

    /// A profile of a config file (default: its default profile), with the `SKAT_GATEWAY_*` environment
    /// variables on top; `password`/`certificate_password` replace the profile's (e.g. from a vault).
    #[staticmethod]
    #[pyo3(signature = (path = None, profile = None, *, password = None, certificate_password = None))]
    fn load(
        py: Python<'_>,
        path: Option<PathBuf>,
        profile: Option<String>,
        password: Option<&Bound<'_, PyAny>>,
        certificate_password: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyConfig> {
        let password = optional_secret(password, "password")?;
        let certificate_password = optional_secret(certificate_password, "certificate_password")?;
        let mut config = py.detach(|| Config::load(path.as_deref(), profile.as_deref())).map_err(|e| to_py_err(py, &e))?;
        if password.is_some() {
            config.password = password;
            config.password_file = None;
            // Given here, not by the environment variable it replaces.
            config.password_source = None;
        }
        if certificate_password.is_some() {
            config.certificate_password = certificate_password;
            config.certificate_password_file = None;
        }
        Ok(PyConfig(config))
    }

    #[getter]
    fn profile(&self) -> &str {
        &self.0.profile
    }
    /// The config file it came from.
    #[getter]
    fn source(&self) -> Option<PathBuf> {
        self.0.source.clone()
    }
    #[getter]
    fn certificate(&self) -> Option<PathBuf> {
        self.0.certificate.clone()
    }
    #[getter]
    fn key(&self) -> Option<PathBuf> {
        self.0.key.clone()
    }
    /// The user name given explicitly (None: derived from the certificate).
    #[getter]
    fn username(&self) -> Option<&str> {
        self.0.username.as_deref()
    }
    #[getter]
    fn journal(&self) -> PathBuf {
        self.0.journal.clone()
    }
    #[getter]
    fn inbox(&self) -> PathBuf {
        self.0.inbox.clone()
    }
    #[getter]
    fn host(&self) -> &str {
        &self.0.new_gateway.host
    }
    #[getter]
    fn port(&self) -> u16 {
        self.0.new_gateway.port
    }
    #[getter]
    fn legacy_host(&self) -> &str {
        &self.0.legacy_gateway.host
    }
    #[getter]
    fn legacy_port(&self) -> u16 {
        self.0.legacy_gateway.port
    }
    #[getter]
    fn ca_file(&self) -> Option<PathBuf> {
        self.0.ca_file.clone()
    }
    #[getter]
    fn system_roots(&self) -> bool {
        self.0.system_roots
    }
    /// No status 2 by then after the upload: Overdue (a `timedelta`).
    #[getter]
    fn deadline<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        timedelta_from(py, self.0.deadline)
    }
    #[getter]
    fn connect_timeout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        timedelta_from(py, self.0.connect_timeout)
    }
    #[getter]
    fn io_timeout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        timedelta_from(py, self.0.io_timeout)
    }
    /// `"new"` or `"legacy"`.
    #[getter]
    fn default_gateway(&self) -> &str {
        self.0.default_gateway.as_str()
    }
    /// Service (or `prefix*`) -> `"new"`/`"legacy"`.
    #[getter]
    fn routes(&self) -> Vec<(String, &'static str)> {
        self.0.routes.iter().map(|(s, g)| (s.clone(), g.as_str())).collect()
    }
    #[getter]
    fn upload_attempts(&self) -> u32 {
        self.0.upload_attempts
    }
    /// How many sessions `Client.submit_files` and `Client.poll` use at once (1 to 8, default 4; one more
    /// for each 4 files only).
    #[getter]
    fn sessions(&self) -> u32 {
        self.0.sessions
    }
    /// The gateway a service is routed to: `"new"` or `"legacy"`.
    fn route(&self, service: &str) -> &'static str {
        self.0.route(service).as_str()
    }
    /// Whether a gateway password is set (given or as a file); the password itself is never shown.
    #[getter]
    fn has_password(&self) -> bool {
        self.0.password.is_some() || self.0.password_file.is_some()
    }
    /// Where the gateway password comes from, in words (e.g. "the file /etc/skat/password", or the
    /// environment variable), as a refused login names it; None without one. Never the password itself.
    #[getter]
    fn password_origin(&self) -> Option<String> {
        self.0.password_origin()
    }
    fn __repr__(&self) -> String {
        let c = &self.0;
        format!(
            "Config(profile={:?}, host={:?}, port={}, certificate={:?}, journal={:?})",
            c.profile, c.new_gateway.host, c.new_gateway.port, c.certificate, c.journal
        )
    }
}

fn duration_setting(value: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<Duration>> {
    match value {
        Some(v) if v.is_instance_of::<pyo3::types::PyString>() => {
            let text: String = v.extract()?;
            crate::gateway::config::parse_duration(&text).map(Some).map_err(|why| invalid_argument(format!("{what}: {why}")))
        }
        other => optional_duration(other, what),
    }
}

thread_local! {
    /// The objects (by address) this thread is inside a call of: a callback calling back into the object it
    /// came from would wait for itself.
    static ACTIVE: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Marks one object busy in this thread for the duration of a call.
pub struct Reentry(usize);

impl Reentry {
    pub fn enter(object: usize, what: &str) -> PyResult<Reentry> {
        ACTIVE.with(|active| {
            let mut active = active.borrow_mut();
            if active.contains(&object) {
                return Err(invalid_argument(format!(
                    "the {what} is busy in this thread: do not call it from its own callback (from another thread, \
                     a call waits for the one under way)"
                )));
            }
            active.push(object);
            Ok(Reentry(object))
        })
    }
}

impl Drop for Reentry {
    fn drop(&mut self) {
        ACTIVE.with(|active| active.borrow_mut().retain(|o| *o != self.0));
    }
}

pub fn closed(what: &str) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("the {what} is closed; make a new one"))
}

/// The gateway client: submit files exactly once, collect every receipt, ping, fetch the migration password.
///
/// Use it as a context manager (`with gw.Client.from_config(path) as client:`) or call `close()`. Its
/// methods release the GIL while they work, so other threads run meanwhile; calls on one client from
/// several threads take turns (use one client per thread for parallel transfers).
#[pyclass(module = "skat_gateway._native", name = "Client", frozen)]
pub struct PyClient {
    inner: Mutex<Option<Client>>,
    hooks: Arc<Hooks>,
    username: String,
    config: Config,
}

impl PyClient {
    fn open(py: Python<'_>, config: Config, connect: bool) -> PyResult<PyClient> {
        logging::refresh_level(py);
        let for_client = config.clone();
        let result = py.detach(move || if connect { Client::connect(for_client) } else { Client::offline(for_client) });
        logging::flush(py);
        let mut client = result.map_err(|e| to_py_err(py, &e))?;
        let hooks = Arc::new(Hooks::default());
        let events = hooks.clone();
        client.set_event_handler(move |event| events.on_event(event));
        let waits = hooks.clone();
        client.set_keep_waiting(move || waits.keep_waiting());
        Ok(PyClient { username: client.username().to_string(), inner: Mutex::new(Some(client)), hooks, config })
    }

    /// Runs `op` on the client with the GIL released, then raises what a callback or Ctrl-C raised meanwhile,
    /// or the core's error.
    fn run<T: Send>(
        &self,
        py: Python<'_>,
        progress: Option<Py<PyAny>>,
        op: impl FnOnce(&mut Client) -> crate::Result<T> + Send,
    ) -> PyResult<T> {
        logging::refresh_level(py);
        let _busy = Reentry::enter(self as *const Self as usize, "client")?;
        self.hooks.set_progress(progress);
        // The lock is taken without the GIL: a thread holding it may need the GIL for a callback.
        let result = py.detach(|| lock(&self.inner).as_mut().map(op));
        self.hooks.set_progress(None);
        logging::flush(py);
        if let Some(error) = self.hooks.take_error() {
            return Err(error);
        }
        match result {
            None => Err(to_py_err(py, &closed("client"))),
            Some(Ok(value)) => Ok(value),
            Some(Err(e)) => Err(to_py_err(py, &e)),
        }
    }
}

fn check_callable(value: &Option<Py<PyAny>>, py: Python<'_>, what: &str) -> PyResult<()> {
    match value {
        Some(v) if !v.bind(py).is_callable() => Err(invalid_argument(format!("{what} must be callable or None"))),
        _ => Ok(()),
    }
}

#[pymethods]
impl PyClient {
    /// A client for these settings; with `connect=True` it logs in to the default gateway at once (so a
    /// wrong certificate, password or address shows here), else at its first operation. Use
    /// `connect=False` for `fetch_login_info()` when the new gateway's password is not known yet.
    #[new]
    #[pyo3(signature = (config, *, connect = true))]
    fn new(py: Python<'_>, config: PyRef<'_, PyConfig>, connect: bool) -> PyResult<PyClient> {
        let config = config.0.clone();
        PyClient::open(py, config, connect)
    }

    /// A client for a profile of a config file (e.g. the simulator's `client.toml`), with the environment
    /// applied; `password`/`certificate_password` replace the profile's.
    #[staticmethod]
    #[pyo3(signature = (path, profile = None, *, password = None, certificate_password = None, connect = true))]
    fn from_config(
        py: Python<'_>,
        path: PathBuf,
        profile: Option<String>,
        password: Option<&Bound<'_, PyAny>>,
        certificate_password: Option<&Bound<'_, PyAny>>,
        connect: bool,
    ) -> PyResult<PyClient> {
        let config = PyConfig::load(py, Some(path), profile, password, certificate_password)?;
        PyClient::open(py, config.0, connect)
    }

    /// The gateway user name this client acts as.
    #[getter]
    fn username(&self) -> &str {
        &self.username
    }

    /// Its settings.
    #[getter]
    fn config(&self) -> PyConfig {
        PyConfig(self.config.clone())
    }

    /// The folder `poll()` fetches into by default.
    #[getter]
    fn inbox(&self) -> PathBuf {
        self.config.inbox.clone()
    }

    /// The journal file.
    #[getter]
    fn journal_path(&self) -> PathBuf {
        self.config.journal.clone()
    }

    /// Called with an `Event` for progress and milestones (connecting, uploading, receipt, ...), in the
    /// thread of the call. An exception it raises stops the operation at its next safe point and propagates.
    #[getter]
    fn on_event(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.hooks.handler(py)
    }

    #[setter]
    fn set_on_event(&self, py: Python<'_>, handler: Option<Py<PyAny>>) -> PyResult<()> {
        check_callable(&handler, py, "on_event")?;
        self.hooks.set_handler(handler);
        Ok(())
    }

    /// The services this certificate may use on a gateway (`"new"` or `"legacy"`; default: the profile's).
    #[pyo3(signature = (gateway = None))]
    fn services(&self, py: Python<'_>, gateway: Option<&str>) -> PyResult<Vec<PyService>> {
        let gateway = gateway_choice(gateway, self.config.default_gateway)?;
        let services = self.run(py, None, |c| c.services_on(gateway))?;
        Ok(services.into_iter().map(PyService::from).collect())
    }

    /// Submits a file to a service exactly once: snapshots it (refusing a file that changes while it is
    /// read), commits a unique name to the journal, uploads (retrying under the same name after connection
    /// failures). Returns the `Submission` (state Uploaded). The same content submitted to the same service
    /// before, and not failed, is not sent again: that earlier submission is returned (see `submit_file`).
    /// `progress(sent, total)` is called as the upload goes.
    #[pyo3(signature = (service, path, *, name = None, prefix = None, again = false, allow_empty = false, progress = None))]
    #[allow(clippy::too_many_arguments)]
    fn submit(
        &self,
        py: Python<'_>,
        service: String,
        path: PathBuf,
        name: Option<String>,
        prefix: Option<String>,
        again: bool,
        allow_empty: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<PySubmission> {
        let result = self.submit_file(py, service, path, name, prefix, again, allow_empty, progress)?;
        Ok(PySubmission(result.0.into_submission()))
    }

    /// As `submit`, saying what was done (`SubmitResult.outcome`): `"sent"` under a new name, `"resumed"` (an
    /// earlier upload of the same content was interrupted and is now finished under its name) or
    /// `"already_submitted"` (nothing sent). Another process uploading the same content right now is waited
    /// for (an `Event` of kind `"waiting_for_other_upload"`), and its submission is then usually the answer.
    #[pyo3(signature = (service, path, *, name = None, prefix = None, again = false, allow_empty = false, progress = None))]
    #[allow(clippy::too_many_arguments)]
    fn submit_file(
        &self,
        py: Python<'_>,
        service: String,
        path: PathBuf,
        name: Option<String>,
        prefix: Option<String>,
        again: bool,
        allow_empty: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<PySubmitResult> {
        check_callable(&progress, py, "progress")?;
        let options = SubmitOptions { name, prefix, again, allow_empty };
        self.run(py, progress, |c| c.submit_file(&service, &path, &options)).map(PySubmitResult)
    }

    /// Submits several files to one service over up to `Config.sessions` sessions at once, each by the rules
    /// of `submit_file` (a content in the list twice is sent once). Returns one item per path, in order: a
    /// `SubmitResult`, or the `GatewayError` that file met (raised for none: every file is tried). The GIL is
    /// released meanwhile; `progress` and events come from every session, one at a time.
    #[pyo3(signature = (service, paths, *, prefix = None, again = false, allow_empty = false, progress = None))]
    #[allow(clippy::too_many_arguments)]
    fn submit_files(
        &self,
        py: Python<'_>,
        service: String,
        paths: Vec<PathBuf>,
        prefix: Option<String>,
        again: bool,
        allow_empty: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Vec<Py<PyAny>>> {
        check_callable(&progress, py, "progress")?;
        let options = SubmitOptions { name: None, prefix, again, allow_empty };
        let results = self.run(py, progress, |c| Ok(c.submit_files(&service, &paths, &options)))?;
        results
            .into_iter()
            .map(|result| match result {
                Ok(done) => Ok(Py::new(py, PySubmitResult(done))?.into_any()),
                Err(e) => Ok(to_py_err(py, &e).into_value(py).into_any()),
            })
            .collect()
    }

    /// Submits bytes held in memory (a generated declaration) under a generated name ending in `.extension`,
    /// or under `name`, by the same rules as a file: the same content is not sent twice unless `again`, and
    /// empty data is refused unless `allow_empty`. Returns the `Submission` (see `submit_bytes_as`).
    #[pyo3(signature = (service, data, *, extension = "xml", name = None, prefix = None, again = false, allow_empty = false, progress = None))]
    #[allow(clippy::too_many_arguments)]
    fn submit_bytes(
        &self,
        py: Python<'_>,
        service: String,
        data: Vec<u8>,
        extension: &str,
        name: Option<String>,
        prefix: Option<String>,
        again: bool,
        allow_empty: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<PySubmission> {
        let result = self.submit_bytes_as(py, service, data, extension, name, prefix, again, allow_empty, progress)?;
        Ok(PySubmission(result.0.into_submission()))
    }

    /// As `submit_bytes`, saying what was done (a `SubmitResult`, as `submit_file` gives for a file).
    #[pyo3(signature = (service, data, *, extension = "xml", name = None, prefix = None, again = false, allow_empty = false, progress = None))]
    #[allow(clippy::too_many_arguments)]
    fn submit_bytes_as(
        &self,
        py: Python<'_>,
        service: String,
        data: Vec<u8>,
        extension: &str,
        name: Option<String>,
        prefix: Option<String>,
        again: bool,
        allow_empty: bool,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<PySubmitResult> {
        check_callable(&progress, py, "progress")?;
        let options = SubmitOptions { name, prefix, again, allow_empty };
        let extension = extension.to_string();
        self.run(py, progress, |c| c.submit_bytes_as(&service, &data, &extension, &options)).map(PySubmitResult)
    }

    /// Fetches everything new from `out` into `inbox` (default: the profile's), records it, applies the
    /// status files to their submissions and then deletes them in `out` (unless `keep_remote`). With `wait`
    /// (seconds or a `timedelta`) it polls every `interval` (default 2 s) until no submission waits for a
    /// status or `wait` has passed. Ctrl-C during the wait raises `KeyboardInterrupt` at once; the journal
    /// keeps everything fetched until then. The report also lists, from the journal, what needs attention
    /// now (`rejected`, `overdue`, `stale`) and what still waits (`pending`), on every poll. Many files are
    /// downloaded and deleted over up to `Config.sessions` sessions at once; `on_event` may then be called
    /// from their threads, one at a time.
    #[pyo3(signature = (inbox = None, *, wait = None, interval = None, keep_remote = false, delete_unknown = false))]
    fn poll(
        &self,
        py: Python<'_>,
        inbox: Option<PathBuf>,
        wait: Option<&Bound<'_, PyAny>>,
        interval: Option<&Bound<'_, PyAny>>,
        keep_remote: bool,
        delete_unknown: bool,
    ) -> PyResult<PyPollReport> {
        let inbox = inbox.unwrap_or_else(|| self.config.inbox.clone());
        let wait = optional_duration(wait, "wait")?;
        let interval = optional_duration(interval, "interval")?.unwrap_or(Duration::from_secs(2)).max(Duration::from_millis(100));
        let options = PollOptions { keep_remote, delete_unknown };
        self.run(py, None, |c| {
            let report = match wait {
                Some(wait) => c.poll_until_settled(&inbox, &options, wait, interval)?,
                None => c.poll(&inbox, &options)?,
            };
            // A receipt seen before says nothing of the state: the journal does.
            let mut states = Vec::with_capacity(report.receipts.len());
            for received in &report.receipts {
                states.push(match &received.outcome {
                    ReceiptOutcome::Applied { state } | ReceiptOutcome::ReuseAfterRetryIgnored { state } => *state,
                    _ => c.journal().submission(c.username(), &received.receipt.transaction_id)?.state,
                });
            }
            Ok(PyPollReport { report, states })
        })
    }

    /// Sends a heartbeat to `FTPSGW.Heartbeat` and waits (up to `timeout`, default 2 minutes) for its
    /// status 1. Raises `SubmissionOverdueError` when none comes.
    #[pyo3(signature = (*, timeout = None, inbox = None))]
    fn ping(&self, py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>, inbox: Option<PathBuf>) -> PyResult<PyPing> {
        let timeout = optional_duration(timeout, "timeout")?.unwrap_or(Duration::from_secs(120));
        let inbox = inbox.unwrap_or_else(|| self.config.inbox.clone());
        self.run(py, None, |c| c.ping(&inbox, timeout)).map(PyPing)
    }

    /// Migration: reads this certificate's new-gateway password from the legacy gateway (certificate-only
    /// login). Returns a `Secret`; `secret.save(path)` writes it as a password file (mode 0600).
    fn fetch_login_info(&self, py: Python<'_>) -> PyResult<PySecret> {
        self.run(py, None, |c| c.fetch_login_info()).map(PySecret)
    }

    /// This certificate's submission `name`, from the journal (no network). Raises `UnknownSubmissionError`.
    fn submission(&self, py: Python<'_>, name: String) -> PyResult<PySubmission> {
        self.run(py, None, |c| c.journal().submission(c.username(), &name)).map(PySubmission)
    }

    /// Every submission of this certificate in the journal, oldest first.
    fn submissions(&self, py: Python<'_>) -> PyResult<Vec<PySubmission>> {
        let list = self.run(py, None, |c| c.journal().submissions(Some(c.username())))?;
        Ok(list.into_iter().map(PySubmission).collect())
    }

    /// Submissions still waiting for a status (Uploaded, Delivered, Accepted, Overdue).
    fn pending(&self, py: Python<'_>) -> PyResult<Vec<PySubmission>> {
        Ok(self.run(py, None, |c| c.pending())?.into_iter().map(PySubmission).collect())
    }

    /// Uploads that were interrupted and that no live process holds (its upload lock, which the operating
    /// system drops when the process dies, is free): submit the same file again to finish one, or
    /// `close_submission` it to abandon it. An upload running in another process or thread is not stale.
    fn stale_uploads(&self, py: Python<'_>) -> PyResult<Vec<PySubmission>> {
        Ok(self.run(py, None, |c| c.stale_uploads())?.into_iter().map(PySubmission).collect())
    }

    /// Rejected submissions (status 0, or an upload the gateway refused for good) that nobody closed
    /// (acknowledged) yet: what makes `skat-gateway poll` exit 9.
    fn rejected(&self, py: Python<'_>) -> PyResult<Vec<PySubmission>> {
        Ok(self.run(py, None, |c| c.rejected())?.into_iter().map(PySubmission).collect())
    }

    /// Closes a submission; the time and `reason` are kept in the journal, and polls stop reporting it:
    /// - one that waits for a status which will not come (typically Overdue, after asking the agency) becomes
    ///   Closed: nothing more is waited for (a late status 3 or 0 is still recorded and wins);
    /// - an interrupted upload that will not be finished (the file was corrected and sent under a new name) is
    ///   abandoned: Closed, its spool copy removed, never resumed; refused (`InvalidArgumentError`) while a
    ///   process is uploading it;
    /// - a Failed one is acknowledged: it stays Failed and leaves `rejected()`.
    ///
    /// Raises `InvalidArgumentError` for one that is Responded or closed already.
    #[pyo3(signature = (name, reason = None))]
    fn close_submission(&self, py: Python<'_>, name: String, reason: Option<String>) -> PyResult<PySubmission> {
        self.run(py, None, |c| c.close_submission(&name, reason.as_deref())).map(PySubmission)
    }

    /// Logs out of both gateways. Safe to call twice; the client cannot be used afterwards.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let _busy = Reentry::enter(self as *const Self as usize, "client")?;
        let result = py.detach(|| lock(&self.inner).take().map(Client::close));
        logging::flush(py);
        match result {
            Some(Err(e)) => Err(to_py_err(py, &e)),
            _ => Ok(()),
        }
    }

    /// True once `close()` was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| lock(&self.inner).is_none())
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
                log::warn!("closing the client after an error failed too: {e}");
                Ok(())
            }
            (result, _) => result,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Client(username={:?}, host={:?}, port={}, journal={:?})",
            self.username, self.config.new_gateway.host, self.config.new_gateway.port, self.config.journal
        )
    }
}

impl Drop for PyClient {
    fn drop(&mut self) {
        // Logging out is network I/O: never with the GIL held, which the object's deallocation holds.
        if let Some(client) = self.inner.get_mut().ok().and_then(Option::take) {
            let _ = Python::try_attach(|py| py.detach(|| drop(client)));
        }
    }
}
