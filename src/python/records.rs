//! The core's records as read-only Python objects: submissions, receipts, poll reports, services, events.
//! Each wraps the core's own struct and converts a field when it is read.

use super::convert::{datetime_from_ms, optional_datetime_from_ms, submission_state, timedelta_from};
use crate::ftp::RemoteEntry;
use crate::gateway::client::{FetchedFile, InvalidFile, Ping, PollReport, ReceivedReceipt, SkippedFile};
use crate::gateway::{Event, GatewayChoice, Receipt, ReceiptError, Service, Submitted, System, TransferType};
use crate::journal::{Download, ReceiptFile, ReceiptOutcome, ResponseFile, Submission, SubmissionState};
use pyo3::prelude::*;
use pyo3::PyClassInitializer;
use std::path::PathBuf;

/// One service (a folder on the gateway): its name, the system behind it and how files travel.
#[pyclass(module = "skat_gateway._native", name = "Service", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyService {
    name: String,
    system: &'static str,
    transfer_type: &'static str,
    known: bool,
    query: bool,
}

impl From<Service> for PyService {
    fn from(service: Service) -> Self {
        PyService {
            system: match service.system {
                System::Ics => "ICS",
                System::Manifest => "Manifest",
                System::Gateway => "Gateway",
                System::Unknown => "Unknown",
            },
            transfer_type: match service.transfer_type {
                TransferType::Binary => "binary",
                TransferType::Ascii => "ascii",
            },
            known: service.known,
            query: service.is_query(),
            name: service.name,
        }
    }
}

#[pymethods]
impl PyService {
    /// The folder name, e.g. `Manifest.AnkomstdeklarationOpret`.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }
    /// `"ICS"`, `"Manifest"`, `"Gateway"` (the heartbeat) or `"Unknown"` (a service the catalogue does not know).
    #[getter]
    fn system(&self) -> &str {
        self.system
    }
    /// `"binary"` or `"ascii"`.
    #[getter]
    fn transfer_type(&self) -> &str {
        self.transfer_type
    }
    /// True when the service is in skat-gateway's catalogue of the agency's services.
    #[getter]
    fn known(&self) -> bool {
        self.known
    }
    #[getter]
    fn is_heartbeat(&self) -> bool {
        self.name == crate::gateway::HEARTBEAT_SERVICE
    }
    /// True for a service that answers a question rather than takes a declaration (the heartbeat, and those
    /// whose name ends in `Hent`): identical content is asked again once the earlier query has its answer
    /// (status 3) or failed, where a declaration's content is never sent twice.
    #[getter]
    fn is_query(&self) -> bool {
        self.query
    }
    fn __repr__(&self) -> String {
        format!("Service({:?}, system={:?})", self.name, self.system)
    }
    fn __str__(&self) -> &str {
        &self.name
    }
}

/// One error of a status 0 file: the gateway's code, message and what to do.
#[pyclass(module = "skat_gateway._native", name = "ReceiptError", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyReceiptError(pub ReceiptError);

#[pymethods]
impl PyReceiptError {
    /// E.g. `FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION`.
    #[getter]
    fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }
    #[getter]
    fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }
    #[getter]
    fn resolution(&self) -> Option<&str> {
        self.0.resolution.as_deref()
    }
    fn __repr__(&self) -> String {
        format!("ReceiptError(code={:?}, message={:?})", self.0.code, self.0.message)
    }
}

/// A status file (`status_<service>_<name>_<code>.xml`) as the gateway wrote it.
#[pyclass(module = "skat_gateway._native", name = "StatusFile", frozen, subclass)]
pub struct PyStatusFile {
    receipt: Receipt,
    local_path: Option<PathBuf>,
    gateway: Option<GatewayChoice>,
    /// What the poll that fetched it did with it (None for a parsed one or a heartbeat's).
    outcome: Option<ReceiptOutcome>,
}

impl PyStatusFile {
    pub fn new(receipt: Receipt, local_path: Option<PathBuf>, gateway: Option<GatewayChoice>) -> Self {
        PyStatusFile { receipt, local_path, gateway, outcome: None }
    }

    /// A status file a poll fetched, with what it did.
    pub fn received(received: ReceivedReceipt) -> Self {
        PyStatusFile {
            receipt: received.receipt,
            local_path: Some(received.local_path),
            gateway: Some(received.gateway),
            outcome: Some(received.outcome),
        }
    }
}

#[pymethods]
impl PyStatusFile {
    /// Parses a status file from its name in `out` and its content (for files fetched by other means).
    #[staticmethod]
    fn parse(status_file: &str, content: &[u8]) -> PyResult<PyStatusFile> {
        let receipt = Receipt::parse(status_file, content).map_err(|e| Python::attach(|py| super::errors::to_py_err(py, &e)))?;
        Ok(PyStatusFile::new(receipt, None, None))
    }
    /// The submission's filename (the FTPTransactionID the gateway reports).
    #[getter]
    fn name(&self) -> &str {
        &self.receipt.transaction_id
    }
    /// 0 (error), 1 (delivered to the backend), 2 (accepted) or 3 (a response file is waiting).
    #[getter]
    fn code(&self) -> u8 {
        self.receipt.code.as_digit()
    }
    /// The status file's own name in `out`.
    #[getter]
    fn status_file(&self) -> &str {
        &self.receipt.status_file
    }
    #[getter]
    fn service(&self) -> &str {
        &self.receipt.service
    }
    /// The backend's id for the transaction (`SKATTransactionId`).
    #[getter]
    fn skat_transaction_id(&self) -> Option<&str> {
        self.receipt.skat_transaction_id.as_deref()
    }
    /// The gateway's time stamp as written (`YYYYMMDDhhmmss`, the gateway's local time).
    #[getter]
    fn timestamp(&self) -> Option<&str> {
        self.receipt.timestamp.as_deref()
    }
    /// The `status.code` text, e.g. "File delivered to requested Backend System".
    #[getter]
    fn status_text(&self) -> Option<&str> {
        self.receipt.status_text.as_deref()
    }
    /// The uploaded file's path on the gateway, when the status file names it.
    #[getter]
    fn remote_path(&self) -> Option<&str> {
        self.receipt.remote_path.as_deref()
    }
    /// Response files the gateway exposed in `out` (status 3).
    #[getter]
    fn response_files(&self) -> Vec<String> {
        self.receipt.response_files.clone()
    }
    /// The errors of a status 0 file.
    #[getter]
    fn errors(&self) -> Vec<PyReceiptError> {
        self.receipt.errors.iter().cloned().map(PyReceiptError).collect()
    }
    /// The first error, if any.
    #[getter]
    fn error(&self) -> Option<PyReceiptError> {
        self.receipt.first_error().cloned().map(PyReceiptError)
    }
    /// True for a status 0 whose only complaint is a filename used before.
    #[getter]
    fn is_filename_reused(&self) -> bool {
        self.receipt.is_filename_reused()
    }
    /// Where the status file was stored in the inbox (None for a parsed one).
    #[getter]
    fn local_path(&self) -> Option<PathBuf> {
        self.local_path.clone()
    }
    /// `"new"` or `"legacy"`: the gateway it came from (None for a parsed one).
    #[getter]
    fn gateway(&self) -> Option<&str> {
        self.gateway.map(GatewayChoice::as_str)
    }
    /// What the poll that fetched it did with it (see `Receipt.outcome`); for `PollReport.unknown`:
    /// `"unknown_name"` (a name this journal never sent), `"others_reuse"` (the gateway's refusal of another
    /// system's upload under a name this journal used, whose own upload was answered) or `"already_recorded"`
    /// (seen by an earlier poll). None for a parsed one and a heartbeat's (`Ping.receipt`).
    #[getter(outcome)]
    fn received_outcome(&self) -> Option<&'static str> {
        self.outcome.as_ref().map(outcome_name)
    }
    /// The same in plain words; None for a parsed one and a heartbeat's.
    #[getter(outcome_text)]
    fn received_outcome_text(&self) -> Option<String> {
        self.outcome.as_ref().map(ToString::to_string)
    }
    fn __repr__(&self) -> String {
        format!("StatusFile({:?}, name={:?}, code={})", self.receipt.status_file, self.receipt.transaction_id, self.code())
    }
}

/// A status file applied to one of the journal's submissions by `Client.poll`.
#[pyclass(module = "skat_gateway._native", name = "Receipt", frozen, extends = PyStatusFile)]
pub struct PyReceipt {
    state: SubmissionState,
    outcome: ReceiptOutcome,
}

impl PyReceipt {
    pub fn create(py: Python<'_>, received: ReceivedReceipt, state: SubmissionState) -> PyResult<Py<PyReceipt>> {
        let outcome = received.outcome.clone();
        Py::new(py, PyClassInitializer::from(PyStatusFile::received(received)).add_subclass(PyReceipt { state, outcome }))
    }
}

#[pymethods]
impl PyReceipt {
    /// The submission's state after this receipt (a `SubmissionState`).
    #[getter]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        submission_state(py, self.state)
    }
    /// What the receipt did: `"applied"` (it moved the submission on, or confirmed its state),
    /// `"reuse_after_retry_ignored"` (a name-reuse refusal of a retried upload: an earlier attempt landed) or
    /// `"already_recorded"` (an earlier poll recorded it: fetched again after a poll cut off before the delete).
    #[getter]
    fn outcome(&self) -> &'static str {
        outcome_name(&self.outcome)
    }
    /// The same in plain words, e.g. "now Delivered".
    #[getter]
    fn outcome_text(&self) -> String {
        self.outcome.to_string()
    }
    fn __repr__(slf: PyRef<'_, Self>) -> String {
        let base = slf.as_super();
        format!(
            "Receipt(name={:?}, code={}, state={}, status_file={:?})",
            base.receipt.transaction_id,
            base.code(),
            slf.state,
            base.receipt.status_file
        )
    }
}

fn outcome_name(outcome: &ReceiptOutcome) -> &'static str {
    match outcome {
        ReceiptOutcome::Applied { .. } => "applied",
        ReceiptOutcome::ReuseAfterRetryIgnored { .. } => "reuse_after_retry_ignored",
        ReceiptOutcome::UnknownName => "unknown_name",
        ReceiptOutcome::AlreadyRecorded { .. } => "already_recorded",
        ReceiptOutcome::OthersReuse => "others_reuse",
    }
}

/// One submission as the journal records it. Times are aware UTC datetimes.
#[pyclass(module = "skat_gateway._native", name = "Submission", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PySubmission(pub Submission);

#[pymethods]
impl PySubmission {
    /// The filename it was uploaded under: the gateway's transaction id.
    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }
    #[getter]
    fn service(&self) -> &str {
        &self.0.service
    }
    /// Where it stands (a `SubmissionState`).
    #[getter]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        submission_state(py, self.0.state)
    }
    /// True when nothing more is expected (Responded, Failed or Closed).
    #[getter]
    fn is_final(&self) -> bool {
        self.0.state.is_final()
    }
    /// The gateway user name (certificate) it belongs to.
    #[getter]
    fn owner(&self) -> &str {
        &self.0.owner
    }
    /// `"new"` or `"legacy"`.
    #[getter]
    fn gateway(&self) -> &str {
        &self.0.gateway
    }
    /// The file it was submitted from (None for bytes submitted from memory).
    #[getter]
    fn local_path(&self) -> Option<PathBuf> {
        self.0.local_path.clone()
    }
    #[getter]
    fn size(&self) -> Option<u64> {
        self.0.size
    }
    /// SHA-256 of what was sent, in hex.
    #[getter]
    fn sha256(&self) -> Option<&str> {
        self.0.sha256.as_deref()
    }
    /// The private copy an unfinished upload is sent from.
    #[getter]
    fn spool_path(&self) -> Option<PathBuf> {
        self.0.spool_path.clone()
    }
    /// Upload attempts so far.
    #[getter]
    fn attempts(&self) -> u32 {
        self.0.attempts
    }
    #[getter]
    fn created_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime_from_ms(py, self.0.created_at)
    }
    #[getter]
    fn updated_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime_from_ms(py, self.0.updated_at)
    }
    #[getter]
    fn upload_started_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        optional_datetime_from_ms(py, self.0.upload_started_at)
    }
    #[getter]
    fn uploaded_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        optional_datetime_from_ms(py, self.0.uploaded_at)
    }
    /// Status 1.
    #[getter]
    fn delivered_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        optional_datetime_from_ms(py, self.0.delivered_at)
    }
    /// Status 2.
    #[getter]
    fn accepted_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        optional_datetime_from_ms(py, self.0.accepted_at)
    }
    /// Status 3.
    #[getter]
    fn responded_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        optional_datetime_from_ms(py, self.0.responded_at)
    }
    #[getter]
    fn failed_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        optional_datetime_from_ms(py, self.0.failed_at)
    }
    #[getter]
    fn overdue_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        optional_datetime_from_ms(py, self.0.overdue_at)
    }
    /// When it becomes Overdue without a status 2.
    #[getter]
    fn deadline<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        optional_datetime_from_ms(py, self.0.deadline_ms)
    }
    #[getter]
    fn closed_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        optional_datetime_from_ms(py, self.0.closed_at)
    }
    #[getter]
    fn close_reason(&self) -> Option<&str> {
        self.0.close_reason.as_deref()
    }
    #[getter]
    fn skat_transaction_id(&self) -> Option<&str> {
        self.0.skat_transaction_id.as_deref()
    }
    /// The gateway's error (status 0) or why the upload gave up.
    #[getter]
    fn error(&self) -> Option<PyReceiptError> {
        self.0.error.clone().map(PyReceiptError)
    }
    /// The response files the gateway exposed for it, each with where a poll put it in the inbox
    /// (`ResponseFile` records).
    #[getter]
    fn response_files(&self) -> Vec<PyResponseFile> {
        self.0.response_files.iter().cloned().map(PyResponseFile).collect()
    }
    /// The status files received for it, oldest first, each with its code and where a poll put it in the
    /// inbox (`ReceiptFile` records).
    #[getter]
    fn receipts(&self) -> Vec<PyReceiptFile> {
        self.0.receipts.iter().cloned().map(PyReceiptFile).collect()
    }
    /// True when the name was chosen (`submit(..., name=...)`) rather than generated. Only a chosen name can
    /// also be used by another system sharing the certificate: its status 0 refusals are left in `out`.
    #[getter]
    fn name_chosen(&self) -> bool {
        self.0.name_chosen
    }
    fn __repr__(&self) -> String {
        format!("Submission(name={:?}, service={:?}, state={})", self.0.name, self.0.service, self.0.state)
    }
}

/// A status file the journal recorded for a submission (`Submission.receipts`).
#[pyclass(module = "skat_gateway._native", name = "ReceiptFile", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyReceiptFile(pub ReceiptFile);

#[pymethods]
impl PyReceiptFile {
    /// Its name in `out`, e.g. `status_Manifest.AnkomstdeklarationOpret_decl-....xml_2.xml`.
    #[getter]
    fn status_file(&self) -> &str {
        &self.0.status_file
    }
    /// 0 (error), 1 (delivered), 2 (accepted) or 3 (a response file is waiting).
    #[getter]
    fn code(&self) -> u8 {
        self.0.code
    }
    /// Where the poll put it in the inbox (the system downstream may have moved it since); None when the
    /// journal records no download of it.
    #[getter]
    fn local_path(&self) -> Option<PathBuf> {
        self.0.local_path.clone()
    }
    /// When it was recorded (an aware UTC datetime).
    #[getter]
    fn received_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime_from_ms(py, self.0.received_at)
    }
    fn __repr__(&self) -> String {
        format!("ReceiptFile({:?}, code={}, local_path={:?})", self.0.status_file, self.0.code, self.0.local_path)
    }
}

/// A response file the gateway exposed for a submission (`Submission.response_files`).
#[pyclass(module = "skat_gateway._native", name = "ResponseFile", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyResponseFile(pub ResponseFile);

#[pymethods]
impl PyResponseFile {
    /// Its name in `out`, e.g. `response_Manifest.AnkomstdeklarationOpret_decl-....xml`.
    #[getter]
    fn remote_name(&self) -> &str {
        &self.0.remote_name
    }
    /// Where a poll put it in the inbox; None until it is fetched.
    #[getter]
    fn local_path(&self) -> Option<PathBuf> {
        self.0.local_path.clone()
    }
    fn __repr__(&self) -> String {
        format!("ResponseFile({:?}, local_path={:?})", self.0.remote_name, self.0.local_path)
    }
}

/// What `Client.submit_file` (or `submit_bytes_as`) did: sent the file under a new name, finished an
/// interrupted upload of it under its name, or found the same content submitted before.
#[pyclass(module = "skat_gateway._native", name = "SubmitResult", frozen)]
pub struct PySubmitResult(pub Submitted);

#[pymethods]
impl PySubmitResult {
    /// The submission: the new one, the resumed one, or the earlier one of the same content.
    #[getter]
    fn submission(&self) -> PySubmission {
        PySubmission(self.0.submission().clone())
    }
    /// `"sent"` (uploaded under a new name), `"resumed"` (an earlier, interrupted upload of the same content
    /// was finished under its name) or `"already_submitted"` (the same content went to the same service
    /// before and has not failed: nothing was sent). The same words as `skat-gateway submit --json`.
    #[getter]
    fn outcome(&self) -> &'static str {
        self.0.outcome()
    }
    /// True when this call uploaded the file: `"sent"` or `"resumed"`. False for `"already_submitted"`.
    #[getter]
    fn sent(&self) -> bool {
        !matches!(self.0, Submitted::AlreadySubmitted(_))
    }
    /// True when an interrupted upload was finished under its earlier name.
    #[getter]
    fn resumed(&self) -> bool {
        matches!(self.0, Submitted::Resumed(_))
    }
    fn __repr__(&self) -> String {
        format!("SubmitResult(name={:?}, outcome={:?})", self.0.submission().name, self.0.outcome())
    }
}

/// A file fetched from `out` into the inbox.
#[pyclass(module = "skat_gateway._native", name = "FetchedFile", frozen)]
pub struct PyFetchedFile(pub FetchedFile);

#[pymethods]
impl PyFetchedFile {
    #[getter]
    fn remote_name(&self) -> &str {
        &self.0.remote_name
    }
    #[getter]
    fn local_path(&self) -> PathBuf {
        self.0.local_path.clone()
    }
    #[getter]
    fn size(&self) -> u64 {
        self.0.size
    }
    #[getter]
    fn sha256(&self) -> &str {
        &self.0.sha256
    }
    /// False when the journal had it already (a poll interrupted before the remote delete).
    #[getter(new)]
    fn is_new(&self) -> bool {
        self.0.new
    }
    #[getter]
    fn deleted_remote(&self) -> bool {
        self.0.deleted_remote
    }
    #[getter]
    fn gateway(&self) -> &str {
        self.0.gateway.as_str()
    }
    fn __repr__(&self) -> String {
        format!("FetchedFile({:?}, local_path={:?})", self.0.remote_name, self.0.local_path)
    }
}

/// A file of `out` named like a status file that could not be understood (`PollReport.invalid`): its copy is
/// kept in the inbox.
#[pyclass(module = "skat_gateway._native", name = "InvalidFile", frozen)]
pub struct PyInvalidFile(pub InvalidFile);

#[pymethods]
impl PyInvalidFile {
    /// `"new"` or `"legacy"`: the gateway whose `out` it came from.
    #[getter]
    fn gateway(&self) -> &str {
        self.0.gateway.as_str()
    }
    #[getter]
    fn remote_name(&self) -> &str {
        &self.0.remote_name
    }
    /// Its copy in the inbox.
    #[getter]
    fn local_path(&self) -> PathBuf {
        self.0.local_path.clone()
    }
    /// Why it could not be read.
    #[getter]
    fn reason(&self) -> &str {
        &self.0.reason
    }
    fn __repr__(&self) -> String {
        format!("InvalidFile({:?}, reason={:?})", self.0.remote_name, self.0.reason)
    }
}

/// A file of `out` that was not fetched because its name cannot be a file in the inbox (`PollReport.skipped`):
/// a leading dot, a control character, not UTF-8, too long. It is left in `out`; the poll goes on.
#[pyclass(module = "skat_gateway._native", name = "SkippedFile", frozen)]
pub struct PySkippedFile(pub SkippedFile);

#[pymethods]
impl PySkippedFile {
    /// `"new"` or `"legacy"`: the gateway whose `out` holds it.
    #[getter]
    fn gateway(&self) -> &str {
        self.0.gateway.as_str()
    }
    /// Its name as the listing gave it.
    #[getter]
    fn remote_name(&self) -> &str {
        &self.0.remote_name
    }
    /// Why it was skipped.
    #[getter]
    fn reason(&self) -> &str {
        &self.0.reason
    }
    fn __repr__(&self) -> String {
        format!("SkippedFile({:?}, reason={:?})", self.0.remote_name, self.0.reason)
    }
}

/// What one `Client.poll` found and did (with `wait`: every poll of the wait), and, from the journal after
/// it, what needs attention now. The lists of what needs attention (`rejected`, `overdue`, `stale`) are
/// complete on every poll, not only on the one that first saw a submission get there.
#[pyclass(module = "skat_gateway._native", name = "PollReport", frozen)]
pub struct PyPollReport {
    pub report: PollReport,
    /// The state of each receipt's submission after it, in the order of `report.receipts`.
    pub states: Vec<SubmissionState>,
}

fn submissions(list: &[Submission]) -> Vec<PySubmission> {
    list.iter().cloned().map(PySubmission).collect()
}

#[pymethods]
impl PyPollReport {
    /// The status files applied to this journal's submissions (a `list[Receipt]`).
    #[getter]
    fn receipts(&self, py: Python<'_>) -> PyResult<Vec<Py<PyReceipt>>> {
        self.report.receipts.iter().zip(&self.states).map(|(r, state)| PyReceipt::create(py, r.clone(), *state)).collect()
    }
    /// Every file fetched into the inbox.
    #[getter]
    fn files(&self) -> Vec<PyFetchedFile> {
        self.report.files.iter().cloned().map(PyFetchedFile).collect()
    }
    /// Status files for another system that may share the certificate (`.outcome` says why: a name this
    /// journal never sent, or a refusal of another system's upload under a name this journal used): kept in
    /// `out` for it (unless `delete_unknown`), and copied into the inbox.
    #[getter]
    fn unknown(&self) -> Vec<PyStatusFile> {
        self.report.unknown.iter().cloned().map(PyStatusFile::received).collect()
    }
    /// Other files no status file of this journal names as its response (kept in `out`).
    #[getter]
    fn unknown_files(&self) -> Vec<PyFetchedFile> {
        self.report.unknown_files.iter().cloned().map(PyFetchedFile).collect()
    }
    /// Files named like status files that could not be understood (copies kept in the inbox).
    #[getter]
    fn invalid(&self) -> Vec<PyInvalidFile> {
        self.report.invalid.iter().cloned().map(PyInvalidFile).collect()
    }
    /// Files of `out` whose names cannot be files in the inbox: not fetched, left in `out`.
    #[getter]
    fn skipped(&self) -> Vec<PySkippedFile> {
        self.report.skipped.iter().cloned().map(PySkippedFile).collect()
    }
    /// Names of the submissions that passed their deadline during this poll (with `wait`: during any of its
    /// polls); they are in `overdue` too.
    #[getter]
    fn newly_overdue(&self) -> Vec<String> {
        self.report.newly_overdue.clone()
    }
    /// Every submission of this certificate that was rejected (status 0, or an upload refused for good) and
    /// not closed since (`Client.close_submission` acknowledges one).
    #[getter]
    fn rejected(&self) -> Vec<PySubmission> {
        submissions(&self.report.rejected)
    }
    /// Every submission of this certificate that is Overdue (no status 2 before its deadline), on every poll
    /// until a late status comes or it is closed.
    #[getter]
    fn overdue(&self) -> Vec<PySubmission> {
        submissions(&self.report.overdue)
    }
    /// Every upload that was interrupted and that no live process holds: submit the same file again to finish
    /// it, or close it (`Client.close_submission`) to abandon it.
    #[getter]
    fn stale(&self) -> Vec<PySubmission> {
        submissions(&self.report.stale)
    }
    /// Names of the submissions still waiting for a status (empty: everything is settled).
    #[getter]
    fn pending(&self) -> Vec<String> {
        self.report.pending.clone()
    }
    fn __repr__(&self) -> String {
        let r = &self.report;
        format!(
            "PollReport(receipts={}, files={}, unknown={}, unknown_files={}, invalid={}, skipped={}, rejected={}, \
             overdue={}, stale={}, pending={})",
            r.receipts.len(),
            r.files.len(),
            r.unknown.len(),
            r.unknown_files.len(),
            r.invalid.len(),
            r.skipped.len(),
            r.rejected.len(),
            r.overdue.len(),
            r.stale.len(),
            r.pending.len()
        )
    }
}

/// The answer to a heartbeat (`Client.ping`).
#[pyclass(module = "skat_gateway._native", name = "Ping", frozen)]
pub struct PyPing(pub Ping);

#[pymethods]
impl PyPing {
    /// The heartbeat's filename.
    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }
    /// Its status 1 file.
    #[getter]
    fn receipt(&self) -> PyStatusFile {
        PyStatusFile::new(self.0.receipt.clone(), None, None)
    }
    /// From the start of the upload to the status file (a `datetime.timedelta`).
    #[getter]
    fn round_trip<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        timedelta_from(py, self.0.round_trip)
    }
    fn __repr__(&self) -> String {
        format!("Ping({:?}, round_trip={:.3}s)", self.0.name, self.0.round_trip.as_secs_f64())
    }
}

/// A file fetched from `out`, as the journal records it.
#[pyclass(module = "skat_gateway._native", name = "Download", frozen)]
pub struct PyDownload(pub Download);

#[pymethods]
impl PyDownload {
    #[getter]
    fn owner(&self) -> &str {
        &self.0.owner
    }
    #[getter]
    fn gateway(&self) -> &str {
        &self.0.gateway
    }
    #[getter]
    fn remote_name(&self) -> &str {
        &self.0.remote_name
    }
    #[getter]
    fn size(&self) -> u64 {
        self.0.size
    }
    #[getter]
    fn sha256(&self) -> &str {
        &self.0.sha256
    }
    #[getter]
    fn local_path(&self) -> PathBuf {
        self.0.local_path.clone()
    }
    #[getter]
    fn downloaded_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime_from_ms(py, self.0.downloaded_at)
    }
    /// When it was deleted in `out` (None while it is kept there).
    #[getter]
    fn deleted_remote_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        optional_datetime_from_ms(py, self.0.deleted_remote_at)
    }
    fn __repr__(&self) -> String {
        format!("Download({:?}, local_path={:?})", self.0.remote_name, self.0.local_path)
    }
}

/// One entry of a remote folder listing (`Session.list`).
#[pyclass(module = "skat_gateway._native", name = "RemoteEntry", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyRemoteEntry(pub RemoteEntry);

#[pymethods]
impl PyRemoteEntry {
    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }
    #[getter]
    fn is_dir(&self) -> bool {
        self.0.is_dir
    }
    /// The size of a file when the listing tells it; None for a folder.
    #[getter]
    fn size(&self) -> Option<u64> {
        self.0.size
    }
    fn __repr__(&self) -> String {
        match (self.0.is_dir, self.0.size) {
            (true, _) => format!("RemoteEntry({:?}, folder)", self.0.name),
            (false, Some(size)) => format!("RemoteEntry({:?}, size={size})", self.0.name),
            (false, None) => format!("RemoteEntry({:?})", self.0.name),
        }
    }
}

/// Progress or a milestone of a client operation, for `Client.on_event`.
///
/// `kind` says which; the attributes that do not apply to a kind are None.
#[pyclass(module = "skat_gateway._native", name = "Event", frozen)]
pub struct PyEvent(pub Event);

#[pymethods]
impl PyEvent {
    /// `"connecting"`, `"connected"`, `"reserved"`, `"snapshotting"`, `"uploading"`, `"uploaded"`,
    /// `"retrying"`, `"waiting_for_other_poll"` (another poll of the journal runs; this one waits),
    /// `"waiting_for_other_upload"` (another process is uploading the same content as `name`; this submission
    /// waits for it, then decides again), `"downloaded"`, `"receipt"` or `"deleted_remote"`.
    #[getter]
    fn kind(&self) -> &'static str {
        match &self.0 {
            Event::Connecting { .. } => "connecting",
            Event::Connected { .. } => "connected",
            Event::Reserved { .. } => "reserved",
            Event::Snapshotting { .. } => "snapshotting",
            Event::Uploading { .. } => "uploading",
            Event::Uploaded { .. } => "uploaded",
            Event::Retrying { .. } => "retrying",
            Event::WaitingForOtherPoll { .. } => "waiting_for_other_poll",
            Event::WaitingForOtherUpload { .. } => "waiting_for_other_upload",
            Event::Downloaded { .. } => "downloaded",
            Event::Receipt { .. } => "receipt",
            Event::DeletedRemote { .. } => "deleted_remote",
        }
    }
    /// The submission's filename (reserved, uploading, uploaded, retrying, waiting_for_other_upload: the one
    /// being uploaded by the other process; receipt: its transaction id).
    #[getter]
    fn name(&self) -> Option<&str> {
        match &self.0 {
            Event::Reserved { name, .. } | Event::Uploading { name, .. } | Event::Uploaded { name, .. } | Event::Retrying { name, .. } => {
                Some(name)
            }
            Event::Receipt { transaction_id, .. } => Some(transaction_id),
            Event::WaitingForOtherUpload { name } => Some(name),
            _ => None,
        }
    }
    /// The remote file (downloaded, deleted_remote, receipt: the status file).
    #[getter]
    fn remote_name(&self) -> Option<&str> {
        match &self.0 {
            Event::Downloaded { remote_name, .. } | Event::DeletedRemote { remote_name } => Some(remote_name),
            Event::Receipt { status_file, .. } => Some(status_file),
            _ => None,
        }
    }
    /// The local file (snapshotting: the file being submitted; downloaded: where it landed;
    /// waiting_for_other_poll: the journal's poll lock file).
    #[getter]
    fn local_path(&self) -> Option<PathBuf> {
        match &self.0 {
            Event::Snapshotting { file, .. } => Some(PathBuf::from(file)),
            Event::Downloaded { local_path, .. } => Some(local_path.clone()),
            Event::WaitingForOtherPoll { lock_file } => Some(lock_file.clone()),
            _ => None,
        }
    }
    #[getter]
    fn service(&self) -> Option<&str> {
        match &self.0 {
            Event::Reserved { service, .. } => Some(service),
            _ => None,
        }
    }
    /// Bytes done so far (snapshotting, uploading) or in all (uploaded, downloaded).
    #[getter]
    fn done(&self) -> Option<u64> {
        match &self.0 {
            Event::Snapshotting { copied, .. } => Some(*copied),
            Event::Uploading { sent, .. } => Some(*sent),
            Event::Uploaded { bytes, .. } | Event::Downloaded { bytes, .. } => Some(*bytes),
            _ => None,
        }
    }
    /// The whole size (snapshotting, uploading).
    #[getter]
    fn total(&self) -> Option<u64> {
        match &self.0 {
            Event::Snapshotting { total, .. } | Event::Uploading { total, .. } => Some(*total),
            _ => None,
        }
    }
    /// Upload attempts (uploaded, retrying).
    #[getter]
    fn attempts(&self) -> Option<u32> {
        match &self.0 {
            Event::Uploaded { attempts, .. } => Some(*attempts),
            Event::Retrying { attempt, .. } => Some(*attempt),
            _ => None,
        }
    }
    /// The status code of a receipt.
    #[getter]
    fn code(&self) -> Option<u8> {
        match &self.0 {
            Event::Receipt { code, .. } => Some(*code),
            _ => None,
        }
    }
    /// Why an attempt failed (retrying).
    #[getter]
    fn error(&self) -> Option<&str> {
        match &self.0 {
            Event::Retrying { error, .. } => Some(error),
            _ => None,
        }
    }
    /// `"new"` or `"legacy"` (connecting, connected).
    #[getter]
    fn gateway(&self) -> Option<&str> {
        match &self.0 {
            Event::Connecting { gateway, .. } | Event::Connected { gateway, .. } => Some(gateway.as_str()),
            _ => None,
        }
    }
    /// host:port (connecting) or the user name (connected).
    #[getter]
    fn detail(&self) -> Option<String> {
        match &self.0 {
            Event::Connecting { host, port, .. } => Some(format!("{host}:{port}")),
            Event::Connected { username, .. } => Some(username.clone()),
            _ => None,
        }
    }
    fn __repr__(&self) -> String {
        format!("Event({:?})", self.0)
    }
}
