//! What clients hand back: submissions (journal records), receipts, fetched files, poll reports and
//! service lists. Every one is a handle of its own, owned by the caller and freed with its `_free`; taking
//! an item out of a list or report gives a new handle (a copy), so freeing the list never invalidates it.
//! All of them are immutable, so thread-safe.

use super::config::{gateway_code, gw_gateway, GW_GATEWAY_LEGACY, GW_GATEWAY_NEW};
use super::handle::{self, Handle};
use super::result::{guard, guard_void, gw_result, CResult, Failure};
use super::strings::{check_out, path_text, write_out, write_opt, write_str};
use crate::gateway::catalogue::{Service, System, TransferType};
use crate::gateway::client::FetchedFile;
use crate::gateway::{GatewayChoice, PollReport, Receipt};
use crate::journal::{ReceiptOutcome, Submission, SubmissionState};
use std::ffi::c_char;
use std::path::PathBuf;

/// Where a submission stands (`gw_client_state`, `gw_submission_state`). Numbers never change; 0 is no
/// state. See the README for the transitions.
pub type gw_state = u32;
/// The name is committed to the journal; the upload has not started.
pub const GW_STATE_RESERVED: gw_state = 1;
/// An upload is (or was, if the process died) under way; submitting the same file again finishes it.
pub const GW_STATE_UPLOADING: gw_state = 2;
/// The whole file reached the gateway; no status yet.
pub const GW_STATE_UPLOADED: gw_state = 3;
/// Status 1: delivered to the backend system.
pub const GW_STATE_DELIVERED: gw_state = 4;
/// Status 2: accepted by the backend system.
pub const GW_STATE_ACCEPTED: gw_state = 5;
/// Status 3: a response file is waiting or was fetched (final).
pub const GW_STATE_RESPONDED: gw_state = 6;
/// Status 0 (see the submission's error), or the upload failed for good (final).
pub const GW_STATE_FAILED: gw_state = 7;
/// No status 2 before the deadline (the gateway never reports a lost file); a late status moves it on.
pub const GW_STATE_OVERDUE: gw_state = 8;
/// Closed by the user (`gw_client_close_submission`): nothing more is waited for (final).
pub const GW_STATE_CLOSED: gw_state = 9;

/// "Unknown" for sizes (`gw_submission_size`, `gw_entry_list_size`).
pub const GW_SIZE_UNKNOWN: u64 = u64::MAX;

/// A time of a submission (`gw_submission_time`).
pub type gw_time = u32;
/// When the name was committed.
pub const GW_TIME_CREATED: gw_time = 1;
/// When the record last changed.
pub const GW_TIME_UPDATED: gw_time = 2;
/// When the (last) upload attempt started.
pub const GW_TIME_UPLOAD_STARTED: gw_time = 3;
/// When the whole file reached the gateway.
pub const GW_TIME_UPLOADED: gw_time = 4;
/// When status 1 arrived.
pub const GW_TIME_DELIVERED: gw_time = 5;
/// When status 2 arrived.
pub const GW_TIME_ACCEPTED: gw_time = 6;
/// When status 3 arrived.
pub const GW_TIME_RESPONDED: gw_time = 7;
/// When it failed.
pub const GW_TIME_FAILED: gw_time = 8;
/// When it became overdue.
pub const GW_TIME_OVERDUE: gw_time = 9;
/// When the user closed it.
pub const GW_TIME_CLOSED: gw_time = 10;
/// When it becomes overdue without status 2.
pub const GW_TIME_DEADLINE: gw_time = 11;

/// What applying a receipt did (`gw_receipt_outcome`).
pub type gw_outcome = u32;
/// Not applied to the journal (the receipt of a ping).
pub const GW_OUTCOME_NOT_APPLIED: gw_outcome = 0;
/// It advanced (or confirmed) a submission, now in the state given.
pub const GW_OUTCOME_APPLIED: gw_outcome = 1;
/// A FILENAME_CANNOT_BE_REUSED status 0 for a retried upload: an earlier attempt landed, nothing failed.
pub const GW_OUTCOME_REUSE_AFTER_RETRY_IGNORED: gw_outcome = 2;
/// For a name this journal never sent: kept in the inbox and in `out`, and reported.
pub const GW_OUTCOME_UNKNOWN_NAME: gw_outcome = 3;
/// The same status file was recorded before (`gw_receipt_is_ours` tells whether it was one of this
/// journal's).
pub const GW_OUTCOME_ALREADY_RECORDED: gw_outcome = 4;
/// A FILENAME_CANNOT_BE_REUSED status 0 for a name whose one upload from this journal was answered with
/// status 1, 2 or 3: the gateway's refusal of another system's upload under the same name (one certificate
/// may serve several systems). Nothing changed here; the file is left in `out` for that system.
pub const GW_OUTCOME_OTHERS_REUSE: gw_outcome = 5;

/// The lists of a poll report (`gw_poll_report_len`).
pub type gw_report_list = u32;
/// Every file fetched from `out` (`gw_poll_report_file`).
pub const GW_REPORT_FILES: gw_report_list = 1;
/// Status files applied to this journal's submissions (`gw_poll_report_receipt`).
pub const GW_REPORT_RECEIPTS: gw_report_list = 2;
/// Status files for names this journal never sent, left in `out` (`gw_poll_report_receipt`).
pub const GW_REPORT_UNKNOWN_RECEIPTS: gw_report_list = 3;
/// Other files that are no response of this journal's submissions, left in `out` (`gw_poll_report_file`).
pub const GW_REPORT_UNKNOWN_FILES: gw_report_list = 4;
/// Files named like status files that could not be read (`gw_poll_report_invalid_*`).
pub const GW_REPORT_INVALID: gw_report_list = 5;
/// After the poll, from the journal: every submission of this certificate that is Overdue (no status 2
/// before its deadline), not only those that became so in this poll (`gw_poll_report_submission`; those
/// are `GW_REPORT_NEWLY_OVERDUE`).
pub const GW_REPORT_OVERDUE: gw_report_list = 6;
/// After the poll, from the journal: every interrupted upload no live process holds; submit the same file
/// again to finish it, or close it to abandon it (`gw_poll_report_submission`).
pub const GW_REPORT_STALE: gw_report_list = 7;
/// After the poll, from the journal: every submission of this certificate that was rejected (status 0, or
/// an upload refused for good) and not closed (acknowledged) since (`gw_poll_report_submission`).
pub const GW_REPORT_REJECTED: gw_report_list = 8;
/// After the poll, from the journal: the names of the submissions still waiting for a status
/// (`gw_poll_report_name`).
pub const GW_REPORT_PENDING: gw_report_list = 9;
/// Files of `out` whose names cannot be files in the inbox (a path separator, a leading dot, a control
/// character, ...): not fetched, left in `out` (`gw_poll_report_name`, `gw_poll_report_reason`).
pub const GW_REPORT_SKIPPED: gw_report_list = 10;
/// The names of the submissions that passed their deadline during this poll (`gw_poll_report_name`).
pub const GW_REPORT_NEWLY_OVERDUE: gw_report_list = 11;

/// The agency system behind a service (`gw_service_list_system`).
pub type gw_system = u32;
/// A service the gateway shows but the library's catalogue does not know.
pub const GW_SYSTEM_UNKNOWN: gw_system = 0;
/// Import Control System: entry summary declarations.
pub const GW_SYSTEM_ICS: gw_system = 1;
/// Manifest: arrival, departure and temporary storage declarations.
pub const GW_SYSTEM_MANIFEST: gw_system = 2;
/// The gateway itself (the heartbeat).
pub const GW_SYSTEM_GATEWAY: gw_system = 3;

/// How file contents travel over FTP.
pub type gw_transfer_type = u32;
/// Bytes unchanged (`TYPE I`): right for XML.
pub const GW_TRANSFER_BINARY: gw_transfer_type = 0;
/// Text with CRLF line ends on the wire (`TYPE A`).
pub const GW_TRANSFER_ASCII: gw_transfer_type = 1;

/// One submission as the journal records it. Ownership: from `gw_client_submit*`, `gw_client_submission`,
/// lists and reports; free with `gw_submission_free`. A snapshot: it does not change when the journal does.
pub struct gw_submission {
    _opaque: [u8; 0],
}

/// Submissions. Ownership: from `gw_client_submissions`, `gw_client_pending`, `gw_client_stale_uploads`;
/// free with `gw_submission_list_free`.
pub struct gw_submission_list {
    _opaque: [u8; 0],
}

/// A status file (receipt) as parsed, with what applying it did. Ownership: from `gw_poll_report_receipt`
/// or `gw_client_ping`; free with `gw_receipt_free`.
pub struct gw_receipt {
    _opaque: [u8; 0],
}

/// A file fetched from `out` into the inbox. Ownership: from `gw_poll_report_file`; free with
/// `gw_fetched_file_free`.
pub struct gw_fetched_file {
    _opaque: [u8; 0],
}

/// What a poll found. Ownership: from `gw_client_poll_report` or `gw_client_poll_until_settled`; free with
/// `gw_poll_report_free`.
pub struct gw_poll_report {
    _opaque: [u8; 0],
}

/// Services a certificate may use. Ownership: from `gw_client_services*`; free with
/// `gw_service_list_free`.
pub struct gw_service_list {
    _opaque: [u8; 0],
}

/// A receipt and, when it came from a poll, what the poll did with it.
pub(crate) struct ReceiptItem {
    receipt: Receipt,
    outcome: Option<ReceiptOutcome>,
    local_path: Option<PathBuf>,
    gateway: Option<GatewayChoice>,
}

impl ReceiptItem {
    pub(crate) fn bare(receipt: Receipt) -> Self {
        ReceiptItem { receipt, outcome: None, local_path: None, gateway: None }
    }
}

impl Handle for gw_submission {
    type Object = Submission;
    const NAME: &'static str = "gw_submission";
}
impl Handle for gw_submission_list {
    type Object = Vec<Submission>;
    const NAME: &'static str = "gw_submission_list";
}
impl Handle for gw_receipt {
    type Object = ReceiptItem;
    const NAME: &'static str = "gw_receipt";
}
impl Handle for gw_fetched_file {
    type Object = FetchedFile;
    const NAME: &'static str = "gw_fetched_file";
}
impl Handle for gw_poll_report {
    type Object = PollReport;
    const NAME: &'static str = "gw_poll_report";
}
impl Handle for gw_service_list {
    type Object = Vec<Service>;
    const NAME: &'static str = "gw_service_list";
}

pub(crate) fn state_code(state: SubmissionState) -> gw_state {
    match state {
        SubmissionState::Reserved => GW_STATE_RESERVED,
        SubmissionState::Uploading => GW_STATE_UPLOADING,
        SubmissionState::Uploaded => GW_STATE_UPLOADED,
        SubmissionState::Delivered => GW_STATE_DELIVERED,
        SubmissionState::Accepted => GW_STATE_ACCEPTED,
        SubmissionState::Responded => GW_STATE_RESPONDED,
        SubmissionState::Failed => GW_STATE_FAILED,
        SubmissionState::Overdue => GW_STATE_OVERDUE,
        SubmissionState::Closed => GW_STATE_CLOSED,
    }
}

/// The item at `index`, or an error that says how many there are.
fn at<'a, T>(items: &'a [T], index: usize, what: &str) -> CResult<&'a T> {
    items.get(index).ok_or_else(|| {
        Failure::invalid(format!("index {index} is out of range: {what} has {} item(s), numbered from 0", items.len()))
    })
}

fn opt(text: &Option<String>) -> &str {
    text.as_deref().unwrap_or("")
}

/// The state's name (`"Reserved"`, ..., `"Closed"`; `"unknown"` for another number), in static storage:
/// never free it. Thread-safe.
#[no_mangle]
pub extern "C" fn gw_state_name(state: gw_state) -> *const c_char {
    std::panic::catch_unwind(|| state_name(state).as_ptr()).unwrap_or(c"unknown".as_ptr())
}

fn state_name(state: gw_state) -> &'static std::ffi::CStr {
    match state {
        GW_STATE_RESERVED => c"Reserved",
        GW_STATE_UPLOADING => c"Uploading",
        GW_STATE_UPLOADED => c"Uploaded",
        GW_STATE_DELIVERED => c"Delivered",
        GW_STATE_ACCEPTED => c"Accepted",
        GW_STATE_RESPONDED => c"Responded",
        GW_STATE_FAILED => c"Failed",
        GW_STATE_OVERDUE => c"Overdue",
        GW_STATE_CLOSED => c"Closed",
        _ => c"unknown",
    }
}

// ---- gw_submission

fn submission_gateway(submission: &Submission) -> gw_gateway {
    if submission.gateway == GatewayChoice::Legacy.as_str() {
        GW_GATEWAY_LEGACY
    } else {
        GW_GATEWAY_NEW
    }
}

fn submission(handle: *const gw_submission) -> CResult<std::sync::Arc<Submission>> {
    handle::get(handle, "submission")
}

/// The submission's name (its transaction id at the gateway), by the string rule.
#[no_mangle]
pub extern "C" fn gw_submission_name(submission: *const gw_submission, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_submission_name", || write_str(&self::submission(submission)?.name, buf, len, out_n))
}

/// The service it was submitted to, by the string rule.
#[no_mangle]
pub extern "C" fn gw_submission_service(submission: *const gw_submission, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_submission_service", || write_str(&self::submission(submission)?.service, buf, len, out_n))
}

/// The gateway it went to (`GW_GATEWAY_*`) into `*out`.
#[no_mangle]
pub extern "C" fn gw_submission_gateway(submission: *const gw_submission, out: *mut gw_gateway) -> gw_result {
    guard("gw_submission_gateway", || {
        write_out(out, submission_gateway(&*self::submission(submission)?), "out")
    })
}

/// Its state (`GW_STATE_*`) into `*out`.
#[no_mangle]
pub extern "C" fn gw_submission_state(submission: *const gw_submission, out: *mut gw_state) -> gw_result {
    guard("gw_submission_state", || write_out(out, state_code(self::submission(submission)?.state), "out"))
}

/// The local file it was submitted from, by the string rule; empty for bytes submitted from memory.
#[no_mangle]
pub extern "C" fn gw_submission_local_path(submission: *const gw_submission, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_submission_local_path", || {
        let text = self::submission(submission)?.local_path.as_deref().map(path_text).unwrap_or_default();
        write_str(&text, buf, len, out_n)
    })
}

/// Its size in bytes into `*out` (`GW_SIZE_UNKNOWN` when not recorded).
#[no_mangle]
pub extern "C" fn gw_submission_size(submission: *const gw_submission, out: *mut u64) -> gw_result {
    guard("gw_submission_size", || write_out(out, self::submission(submission)?.size.unwrap_or(GW_SIZE_UNKNOWN), "out"))
}

/// The SHA-256 of what was sent, lower-case hex, by the string rule; empty when not recorded.
#[no_mangle]
pub extern "C" fn gw_submission_sha256(submission: *const gw_submission, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_submission_sha256", || write_str(opt(&self::submission(submission)?.sha256), buf, len, out_n))
}

/// How many upload attempts it took (so far) into `*out`.
#[no_mangle]
pub extern "C" fn gw_submission_attempts(submission: *const gw_submission, out: *mut u32) -> gw_result {
    guard("gw_submission_attempts", || write_out(out, self::submission(submission)?.attempts, "out"))
}

/// One of its times (`GW_TIME_*`) in milliseconds since 1970-01-01 UTC into `*out_ms`; 0 when it has not
/// happened (e.g. `GW_TIME_RESPONDED` before status 3).
#[no_mangle]
pub extern "C" fn gw_submission_time(submission: *const gw_submission, which: gw_time, out_ms: *mut i64) -> gw_result {
    guard("gw_submission_time", || {
        let s = self::submission(submission)?;
        let time = match which {
            GW_TIME_CREATED => Some(s.created_at),
            GW_TIME_UPDATED => Some(s.updated_at),
            GW_TIME_UPLOAD_STARTED => s.upload_started_at,
            GW_TIME_UPLOADED => s.uploaded_at,
            GW_TIME_DELIVERED => s.delivered_at,
            GW_TIME_ACCEPTED => s.accepted_at,
            GW_TIME_RESPONDED => s.responded_at,
            GW_TIME_FAILED => s.failed_at,
            GW_TIME_OVERDUE => s.overdue_at,
            GW_TIME_CLOSED => s.closed_at,
            GW_TIME_DEADLINE => s.deadline_ms,
            other => return Err(Failure::invalid(format!("{other} is not a gw_time: use GW_TIME_CREATED ... GW_TIME_DEADLINE"))),
        };
        write_out(out_ms, time.unwrap_or(0), "out_ms")
    })
}

/// The backend's id for the transaction (`SKATTransactionId` of its status files), by the string rule;
/// empty until a status file gave one.
#[no_mangle]
pub extern "C" fn gw_submission_skat_transaction_id(submission: *const gw_submission, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_submission_skat_transaction_id", || write_str(opt(&self::submission(submission)?.skat_transaction_id), buf, len, out_n))
}

/// The gateway's error code for a failed submission (e.g. `FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION`), by
/// the string rule; empty when it has not failed.
#[no_mangle]
pub extern "C" fn gw_submission_error_code(submission: *const gw_submission, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_submission_error_code", || {
        let s = self::submission(submission)?;
        write_str(s.error.as_ref().and_then(|e| e.code.as_deref()).unwrap_or(""), buf, len, out_n)
    })
}

/// The gateway's error message for a failed submission, by the string rule; empty when there is none.
#[no_mangle]
pub extern "C" fn gw_submission_error_message(submission: *const gw_submission, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_submission_error_message", || {
        let s = self::submission(submission)?;
        write_str(s.error.as_ref().and_then(|e| e.message.as_deref()).unwrap_or(""), buf, len, out_n)
    })
}

/// The gateway's advice for a failed submission (`error.resolution`), by the string rule; empty when there
/// is none.
#[no_mangle]
pub extern "C" fn gw_submission_error_resolution(
    submission: *const gw_submission,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> gw_result {
    guard("gw_submission_error_resolution", || {
        let s = self::submission(submission)?;
        write_str(s.error.as_ref().and_then(|e| e.resolution.as_deref()).unwrap_or(""), buf, len, out_n)
    })
}

/// How many response files the gateway exposed for it into `*out`.
#[no_mangle]
pub extern "C" fn gw_submission_response_files_len(submission: *const gw_submission, out: *mut usize) -> gw_result {
    guard("gw_submission_response_files_len", || write_out(out, self::submission(submission)?.response_files.len(), "out"))
}

/// The name (in `out`, and in the inbox once fetched) of response file `index` (from 0), by the string rule.
#[no_mangle]
pub extern "C" fn gw_submission_response_file(
    submission: *const gw_submission,
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> gw_result {
    guard("gw_submission_response_file", || {
        let s = self::submission(submission)?;
        write_str(&at(&s.response_files, index, "the submission's response files")?.remote_name, buf, len, out_n)
    })
}

/// Where the poll put response file `index` (from 0) in the inbox, by the string rule; empty until it was
/// fetched. The system downstream may have moved it since.
#[no_mangle]
pub extern "C" fn gw_submission_response_file_local_path(
    submission: *const gw_submission,
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> gw_result {
    guard("gw_submission_response_file_local_path", || {
        let s = self::submission(submission)?;
        let file = at(&s.response_files, index, "the submission's response files")?;
        write_str(&file.local_path.as_deref().map(path_text).unwrap_or_default(), buf, len, out_n)
    })
}

/// How many status files it received into `*out`.
#[no_mangle]
pub extern "C" fn gw_submission_receipts_len(submission: *const gw_submission, out: *mut usize) -> gw_result {
    guard("gw_submission_receipts_len", || write_out(out, self::submission(submission)?.receipts.len(), "out"))
}

/// The name of status file `index` (from 0, oldest first), by the string rule.
#[no_mangle]
pub extern "C" fn gw_submission_receipt(submission: *const gw_submission, index: usize, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_submission_receipt", || {
        let s = self::submission(submission)?;
        write_str(&at(&s.receipts, index, "the submission's receipts")?.status_file, buf, len, out_n)
    })
}

/// The status code (0-3) of status file `index` (from 0, oldest first) into `*out`.
#[no_mangle]
pub extern "C" fn gw_submission_receipt_code(submission: *const gw_submission, index: usize, out: *mut u32) -> gw_result {
    guard("gw_submission_receipt_code", || {
        let s = self::submission(submission)?;
        write_out(out, u32::from(at(&s.receipts, index, "the submission's receipts")?.code), "out")
    })
}

/// Where the poll put status file `index` (from 0, oldest first) in the inbox, by the string rule; empty
/// when it was not kept there (a status 0 refusing another system's upload, say). The system downstream
/// may have moved it since.
#[no_mangle]
pub extern "C" fn gw_submission_receipt_local_path(
    submission: *const gw_submission,
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> gw_result {
    guard("gw_submission_receipt_local_path", || {
        let s = self::submission(submission)?;
        let receipt = at(&s.receipts, index, "the submission's receipts")?;
        write_str(&receipt.local_path.as_deref().map(path_text).unwrap_or_default(), buf, len, out_n)
    })
}

/// When status file `index` (from 0, oldest first) was recorded, in milliseconds since 1970-01-01 UTC,
/// into `*out_ms`.
#[no_mangle]
pub extern "C" fn gw_submission_receipt_time(submission: *const gw_submission, index: usize, out_ms: *mut i64) -> gw_result {
    guard("gw_submission_receipt_time", || {
        let s = self::submission(submission)?;
        write_out(out_ms, at(&s.receipts, index, "the submission's receipts")?.received_at, "out_ms")
    })
}

/// Why it was closed (`gw_client_close_submission`'s reason), by the string rule; empty when none was given
/// or it is not closed.
#[no_mangle]
pub extern "C" fn gw_submission_close_reason(submission: *const gw_submission, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_submission_close_reason", || write_str(opt(&self::submission(submission)?.close_reason), buf, len, out_n))
}

/// Frees a submission. NULL, and a handle freed before, are ignored.
#[no_mangle]
pub extern "C" fn gw_submission_free(submission: *mut gw_submission) {
    guard_void("gw_submission_free", || handle::free(submission));
}

// ---- gw_submission_list

/// How many submissions the list holds into `*out`.
#[no_mangle]
pub extern "C" fn gw_submission_list_len(list: *const gw_submission_list, out: *mut usize) -> gw_result {
    guard("gw_submission_list_len", || write_out(out, handle::get(list, "list")?.len(), "out"))
}

/// Submission `index` (from 0) as a new handle `*out` (free it with `gw_submission_free`).
#[no_mangle]
pub extern "C" fn gw_submission_list_get(list: *const gw_submission_list, index: usize, out: *mut *mut gw_submission) -> gw_result {
    guard("gw_submission_list_get", || {
        let list = handle::get(list, "list")?;
        check_out(out, "out")?;
        handle::give(out, at(&list, index, "the list")?.clone())
    })
}

/// Frees a list (the submissions taken out of it stay valid). NULL, and a handle freed before, are ignored.
#[no_mangle]
pub extern "C" fn gw_submission_list_free(list: *mut gw_submission_list) {
    guard_void("gw_submission_list_free", || handle::free(list));
}

// ---- gw_receipt

fn receipt(handle: *const gw_receipt) -> CResult<std::sync::Arc<ReceiptItem>> {
    handle::get(handle, "receipt")
}

/// The status file's own name (`status_<service>_<name>_<code>.xml`), by the string rule.
#[no_mangle]
pub extern "C" fn gw_receipt_status_file(receipt: *const gw_receipt, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_receipt_status_file", || write_str(&self::receipt(receipt)?.receipt.status_file, buf, len, out_n))
}

/// The service the file was uploaded to, by the string rule.
#[no_mangle]
pub extern "C" fn gw_receipt_service(receipt: *const gw_receipt, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_receipt_service", || write_str(&self::receipt(receipt)?.receipt.service, buf, len, out_n))
}

/// The transaction id: the name the file was uploaded under, by the string rule.
#[no_mangle]
pub extern "C" fn gw_receipt_transaction_id(receipt: *const gw_receipt, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_receipt_transaction_id", || write_str(&self::receipt(receipt)?.receipt.transaction_id, buf, len, out_n))
}

/// The status code into `*out`: 0 error, 1 delivered to the backend, 2 accepted, 3 a response file is
/// waiting.
#[no_mangle]
pub extern "C" fn gw_receipt_code(receipt: *const gw_receipt, out: *mut u32) -> gw_result {
    guard("gw_receipt_code", || write_out(out, u32::from(self::receipt(receipt)?.receipt.code.as_digit()), "out"))
}

/// The backend's transaction id (`SKATTransactionId`), by the string rule; empty when not given.
#[no_mangle]
pub extern "C" fn gw_receipt_skat_transaction_id(receipt: *const gw_receipt, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_receipt_skat_transaction_id", || write_str(opt(&self::receipt(receipt)?.receipt.skat_transaction_id), buf, len, out_n))
}

/// The gateway's time stamp as written (`YYYYMMDDhhmmss`, the gateway's local time), by the string rule;
/// empty when not given.
#[no_mangle]
pub extern "C" fn gw_receipt_timestamp(receipt: *const gw_receipt, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_receipt_timestamp", || write_str(opt(&self::receipt(receipt)?.receipt.timestamp), buf, len, out_n))
}

/// The status text (e.g. "File delivered to requested Backend System"), by the string rule; empty when not
/// given.
#[no_mangle]
pub extern "C" fn gw_receipt_status_text(receipt: *const gw_receipt, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_receipt_status_text", || write_str(opt(&self::receipt(receipt)?.receipt.status_text), buf, len, out_n))
}

/// The uploaded file's full path on the gateway, by the string rule; empty when not given.
#[no_mangle]
pub extern "C" fn gw_receipt_remote_path(receipt: *const gw_receipt, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_receipt_remote_path", || write_str(opt(&self::receipt(receipt)?.receipt.remote_path), buf, len, out_n))
}

/// How many response files the status file names into `*out` (status 3 names one).
#[no_mangle]
pub extern "C" fn gw_receipt_response_files_len(receipt: *const gw_receipt, out: *mut usize) -> gw_result {
    guard("gw_receipt_response_files_len", || write_out(out, self::receipt(receipt)?.receipt.response_files.len(), "out"))
}

/// The name of response file `index` (from 0), by the string rule.
#[no_mangle]
pub extern "C" fn gw_receipt_response_file(receipt: *const gw_receipt, index: usize, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_receipt_response_file", || {
        let r = self::receipt(receipt)?;
        write_str(at(&r.receipt.response_files, index, "the receipt's response files")?, buf, len, out_n)
    })
}

/// How many errors a status 0 file reports into `*out`.
#[no_mangle]
pub extern "C" fn gw_receipt_errors_len(receipt: *const gw_receipt, out: *mut usize) -> gw_result {
    guard("gw_receipt_errors_len", || write_out(out, self::receipt(receipt)?.receipt.errors.len(), "out"))
}

/// The code of error `index` (from 0), e.g. `FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION`, by the string rule;
/// empty when the file gives none.
#[no_mangle]
pub extern "C" fn gw_receipt_error_code(receipt: *const gw_receipt, index: usize, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_receipt_error_code", || {
        let r = self::receipt(receipt)?;
        write_str(opt(&at(&r.receipt.errors, index, "the receipt's errors")?.code), buf, len, out_n)
    })
}

/// The message of error `index` (from 0), by the string rule; empty when the file gives none.
#[no_mangle]
pub extern "C" fn gw_receipt_error_message(receipt: *const gw_receipt, index: usize, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_receipt_error_message", || {
        let r = self::receipt(receipt)?;
        write_str(opt(&at(&r.receipt.errors, index, "the receipt's errors")?.message), buf, len, out_n)
    })
}

/// The resolution (what to do) of error `index` (from 0), by the string rule; empty when the file gives
/// none.
#[no_mangle]
pub extern "C" fn gw_receipt_error_resolution(receipt: *const gw_receipt, index: usize, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_receipt_error_resolution", || {
        let r = self::receipt(receipt)?;
        write_str(opt(&at(&r.receipt.errors, index, "the receipt's errors")?.resolution), buf, len, out_n)
    })
}

/// Where the poll put the status file in the inbox, by the string rule; empty for a ping's receipt.
#[no_mangle]
pub extern "C" fn gw_receipt_local_path(receipt: *const gw_receipt, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_receipt_local_path", || {
        write_str(&self::receipt(receipt)?.local_path.as_deref().map(path_text).unwrap_or_default(), buf, len, out_n)
    })
}

/// The gateway (`GW_GATEWAY_*`) the status file came from into `*out` (`GW_GATEWAY_NEW` for a ping's).
#[no_mangle]
pub extern "C" fn gw_receipt_gateway(receipt: *const gw_receipt, out: *mut gw_gateway) -> gw_result {
    guard("gw_receipt_gateway", || write_out(out, gateway_code(self::receipt(receipt)?.gateway.unwrap_or(GatewayChoice::New)), "out"))
}

/// What applying it to the journal did (`GW_OUTCOME_*`) into `*out`; `*state` (may be NULL) gets the
/// submission's state after it for `GW_OUTCOME_APPLIED` and `GW_OUTCOME_REUSE_AFTER_RETRY_IGNORED`, 0
/// otherwise.
#[no_mangle]
pub extern "C" fn gw_receipt_outcome(receipt: *const gw_receipt, out: *mut gw_outcome, state: *mut gw_state) -> gw_result {
    guard("gw_receipt_outcome", || {
        let r = self::receipt(receipt)?;
        let (outcome, after) = match &r.outcome {
            None => (GW_OUTCOME_NOT_APPLIED, 0),
            Some(ReceiptOutcome::Applied { state }) => (GW_OUTCOME_APPLIED, state_code(*state)),
            Some(ReceiptOutcome::ReuseAfterRetryIgnored { state }) => (GW_OUTCOME_REUSE_AFTER_RETRY_IGNORED, state_code(*state)),
            Some(ReceiptOutcome::OthersReuse) => (GW_OUTCOME_OTHERS_REUSE, 0),
            Some(ReceiptOutcome::UnknownName) => (GW_OUTCOME_UNKNOWN_NAME, 0),
            Some(ReceiptOutcome::AlreadyRecorded { .. }) => (GW_OUTCOME_ALREADY_RECORDED, 0),
        };
        write_out(out, outcome, "out")?;
        write_opt(state, after);
        Ok(())
    })
}

/// Into `*out`: whether the status file belongs to one of this journal's submissions (then a poll deletes
/// it in `out`), also for `GW_OUTCOME_ALREADY_RECORDED`; false for `GW_OUTCOME_UNKNOWN_NAME` and
/// `GW_OUTCOME_OTHERS_REUSE` (another system's, left in `out`). True for a ping's receipt (the heartbeat is
/// this journal's).
#[no_mangle]
pub extern "C" fn gw_receipt_is_ours(receipt: *const gw_receipt, out: *mut bool) -> gw_result {
    guard("gw_receipt_is_ours", || {
        let ours = self::receipt(receipt)?.outcome.as_ref().is_none_or(ReceiptOutcome::is_ours);
        write_out(out, ours, "out")
    })
}

/// Frees a receipt. NULL, and a handle freed before, are ignored.
#[no_mangle]
pub extern "C" fn gw_receipt_free(receipt: *mut gw_receipt) {
    guard_void("gw_receipt_free", || handle::free(receipt));
}

// ---- gw_fetched_file

fn fetched(handle: *const gw_fetched_file) -> CResult<std::sync::Arc<FetchedFile>> {
    handle::get(handle, "file")
}

/// The file's name in `out`, by the string rule.
#[no_mangle]
pub extern "C" fn gw_fetched_file_remote_name(file: *const gw_fetched_file, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_fetched_file_remote_name", || write_str(&fetched(file)?.remote_name, buf, len, out_n))
}

/// Where it is in the inbox (a numbered name `NAME.1`, ... when a different file of that name was there:
/// nothing in the inbox is overwritten), by the string rule.
#[no_mangle]
pub extern "C" fn gw_fetched_file_local_path(file: *const gw_fetched_file, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_fetched_file_local_path", || write_str(&path_text(&fetched(file)?.local_path), buf, len, out_n))
}

/// Its size in bytes into `*out`.
#[no_mangle]
pub extern "C" fn gw_fetched_file_size(file: *const gw_fetched_file, out: *mut u64) -> gw_result {
    guard("gw_fetched_file_size", || write_out(out, fetched(file)?.size, "out"))
}

/// Its SHA-256, lower-case hex, by the string rule.
#[no_mangle]
pub extern "C" fn gw_fetched_file_sha256(file: *const gw_fetched_file, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_fetched_file_sha256", || write_str(&fetched(file)?.sha256, buf, len, out_n))
}

/// Into `*out`: false when the journal had it already (a poll cut off before the remote delete), so it was
/// not placed in the inbox again.
#[no_mangle]
pub extern "C" fn gw_fetched_file_is_new(file: *const gw_fetched_file, out: *mut bool) -> gw_result {
    guard("gw_fetched_file_is_new", || write_out(out, fetched(file)?.new, "out"))
}

/// Into `*out`: whether the poll deleted it in `out` (after recording it).
#[no_mangle]
pub extern "C" fn gw_fetched_file_deleted_remote(file: *const gw_fetched_file, out: *mut bool) -> gw_result {
    guard("gw_fetched_file_deleted_remote", || write_out(out, fetched(file)?.deleted_remote, "out"))
}

/// The gateway (`GW_GATEWAY_*`) it came from into `*out`.
#[no_mangle]
pub extern "C" fn gw_fetched_file_gateway(file: *const gw_fetched_file, out: *mut gw_gateway) -> gw_result {
    guard("gw_fetched_file_gateway", || write_out(out, gateway_code(fetched(file)?.gateway), "out"))
}

/// Frees a fetched file's record (not the file). NULL, and a handle freed before, are ignored.
#[no_mangle]
pub extern "C" fn gw_fetched_file_free(file: *mut gw_fetched_file) {
    guard_void("gw_fetched_file_free", || handle::free(file));
}

// ---- gw_poll_report

fn report(handle: *const gw_poll_report) -> CResult<std::sync::Arc<PollReport>> {
    handle::get(handle, "report")
}

/// How many items list `which` (`GW_REPORT_*`) of the report holds into `*out`.
#[no_mangle]
pub extern "C" fn gw_poll_report_len(report: *const gw_poll_report, which: gw_report_list, out: *mut usize) -> gw_result {
    guard("gw_poll_report_len", || {
        let r = self::report(report)?;
        let len = match which {
            GW_REPORT_FILES => r.files.len(),
            GW_REPORT_RECEIPTS => r.receipts.len(),
            GW_REPORT_UNKNOWN_RECEIPTS => r.unknown.len(),
            GW_REPORT_UNKNOWN_FILES => r.unknown_files.len(),
            GW_REPORT_INVALID => r.invalid.len(),
            GW_REPORT_OVERDUE => r.overdue.len(),
            GW_REPORT_STALE => r.stale.len(),
            GW_REPORT_REJECTED => r.rejected.len(),
            GW_REPORT_PENDING => r.pending.len(),
            GW_REPORT_SKIPPED => r.skipped.len(),
            GW_REPORT_NEWLY_OVERDUE => r.newly_overdue.len(),
            other => return Err(not_a_report_list(other)),
        };
        write_out(out, len, "out")
    })
}

/// Receipt `index` (from 0) of list `which` (`GW_REPORT_RECEIPTS` or `GW_REPORT_UNKNOWN_RECEIPTS`) as a new
/// handle `*out` (free it with `gw_receipt_free`).
#[no_mangle]
pub extern "C" fn gw_poll_report_receipt(report: *const gw_poll_report, which: gw_report_list, index: usize, out: *mut *mut gw_receipt) -> gw_result {
    guard("gw_poll_report_receipt", || {
        let r = self::report(report)?;
        let list = match which {
            GW_REPORT_RECEIPTS => &r.receipts,
            GW_REPORT_UNKNOWN_RECEIPTS => &r.unknown,
            other => return Err(Failure::invalid(format!("{other}: receipts are in GW_REPORT_RECEIPTS and GW_REPORT_UNKNOWN_RECEIPTS"))),
        };
        check_out(out, "out")?;
        let item = at(list, index, "the report's list")?;
        handle::give(
            out,
            ReceiptItem {
                receipt: item.receipt.clone(),
                outcome: Some(item.outcome.clone()),
                local_path: Some(item.local_path.clone()),
                gateway: Some(item.gateway),
            },
        )
    })
}

/// Fetched file `index` (from 0) of list `which` (`GW_REPORT_FILES` or `GW_REPORT_UNKNOWN_FILES`) as a new
/// handle `*out` (free it with `gw_fetched_file_free`).
#[no_mangle]
pub extern "C" fn gw_poll_report_file(report: *const gw_poll_report, which: gw_report_list, index: usize, out: *mut *mut gw_fetched_file) -> gw_result {
    guard("gw_poll_report_file", || {
        let r = self::report(report)?;
        let list = match which {
            GW_REPORT_FILES => &r.files,
            GW_REPORT_UNKNOWN_FILES => &r.unknown_files,
            other => return Err(Failure::invalid(format!("{other}: files are in GW_REPORT_FILES and GW_REPORT_UNKNOWN_FILES"))),
        };
        check_out(out, "out")?;
        handle::give(out, at(list, index, "the report's list")?.clone())
    })
}

/// Submission `index` (from 0) of list `which` (`GW_REPORT_OVERDUE`, `GW_REPORT_STALE` or
/// `GW_REPORT_REJECTED`) as a new handle `*out` (free it with `gw_submission_free`).
#[no_mangle]
pub extern "C" fn gw_poll_report_submission(
    report: *const gw_poll_report,
    which: gw_report_list,
    index: usize,
    out: *mut *mut gw_submission,
) -> gw_result {
    guard("gw_poll_report_submission", || {
        let r = self::report(report)?;
        let list = match which {
            GW_REPORT_OVERDUE => &r.overdue,
            GW_REPORT_STALE => &r.stale,
            GW_REPORT_REJECTED => &r.rejected,
            other => {
                return Err(Failure::invalid(format!(
                    "{other}: submissions are in GW_REPORT_OVERDUE, GW_REPORT_STALE and GW_REPORT_REJECTED"
                )))
            }
        };
        check_out(out, "out")?;
        handle::give(out, at(list, index, "the report's list")?.clone())
    })
}

/// The name in `out` of unreadable status file `index` (from 0) of `GW_REPORT_INVALID`, by the string rule.
#[no_mangle]
pub extern "C" fn gw_poll_report_invalid_name(report: *const gw_poll_report, index: usize, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_poll_report_invalid_name", || {
        let r = self::report(report)?;
        write_str(&at(&r.invalid, index, "GW_REPORT_INVALID")?.remote_name, buf, len, out_n)
    })
}

/// Where unreadable status file `index` was kept in the inbox, by the string rule.
#[no_mangle]
pub extern "C" fn gw_poll_report_invalid_path(report: *const gw_poll_report, index: usize, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_poll_report_invalid_path", || {
        let r = self::report(report)?;
        write_str(&path_text(&at(&r.invalid, index, "GW_REPORT_INVALID")?.local_path), buf, len, out_n)
    })
}

/// Why status file `index` could not be read, by the string rule.
#[no_mangle]
pub extern "C" fn gw_poll_report_invalid_reason(report: *const gw_poll_report, index: usize, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_poll_report_invalid_reason", || {
        let r = self::report(report)?;
        write_str(&at(&r.invalid, index, "GW_REPORT_INVALID")?.reason, buf, len, out_n)
    })
}

/// The name of item `index` (from 0) of any list `which` (`GW_REPORT_*`), by the string rule: the
/// submission's name for `GW_REPORT_PENDING`, `GW_REPORT_NEWLY_OVERDUE`, `GW_REPORT_OVERDUE`,
/// `GW_REPORT_STALE` and `GW_REPORT_REJECTED`; the file's name in `out` for the others (the status file's
/// for receipts).
#[no_mangle]
pub extern "C" fn gw_poll_report_name(
    report: *const gw_poll_report,
    which: gw_report_list,
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> gw_result {
    guard("gw_poll_report_name", || {
        let r = self::report(report)?;
        let list = "the report's list";
        let name = match which {
            GW_REPORT_FILES => &at(&r.files, index, list)?.remote_name,
            GW_REPORT_RECEIPTS => &at(&r.receipts, index, list)?.receipt.status_file,
            GW_REPORT_UNKNOWN_RECEIPTS => &at(&r.unknown, index, list)?.receipt.status_file,
            GW_REPORT_UNKNOWN_FILES => &at(&r.unknown_files, index, list)?.remote_name,
            GW_REPORT_INVALID => &at(&r.invalid, index, list)?.remote_name,
            GW_REPORT_OVERDUE => &at(&r.overdue, index, list)?.name,
            GW_REPORT_STALE => &at(&r.stale, index, list)?.name,
            GW_REPORT_REJECTED => &at(&r.rejected, index, list)?.name,
            GW_REPORT_PENDING => at(&r.pending, index, list)?,
            GW_REPORT_SKIPPED => &at(&r.skipped, index, list)?.remote_name,
            GW_REPORT_NEWLY_OVERDUE => at(&r.newly_overdue, index, list)?,
            other => return Err(not_a_report_list(other)),
        };
        write_str(name, buf, len, out_n)
    })
}

/// Why item `index` (from 0) of `GW_REPORT_SKIPPED` was not fetched, or why one of `GW_REPORT_INVALID`
/// could not be read, by the string rule.
#[no_mangle]
pub extern "C" fn gw_poll_report_reason(
    report: *const gw_poll_report,
    which: gw_report_list,
    index: usize,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> gw_result {
    guard("gw_poll_report_reason", || {
        let r = self::report(report)?;
        let reason = match which {
            GW_REPORT_SKIPPED => &at(&r.skipped, index, "GW_REPORT_SKIPPED")?.reason,
            GW_REPORT_INVALID => &at(&r.invalid, index, "GW_REPORT_INVALID")?.reason,
            other => return Err(Failure::invalid(format!("{other}: reasons are in GW_REPORT_SKIPPED and GW_REPORT_INVALID"))),
        };
        write_str(reason, buf, len, out_n)
    })
}

/// The gateway (`GW_GATEWAY_*`) item `index` (from 0) of list `which` came from or went to, into `*out`:
/// every list but the names of `GW_REPORT_PENDING` and `GW_REPORT_NEWLY_OVERDUE` (look those up with
/// `gw_client_submission`).
#[no_mangle]
pub extern "C" fn gw_poll_report_gateway(report: *const gw_poll_report, which: gw_report_list, index: usize, out: *mut gw_gateway) -> gw_result {
    guard("gw_poll_report_gateway", || {
        let r = self::report(report)?;
        let list = "the report's list";
        let gateway = match which {
            GW_REPORT_FILES => gateway_code(at(&r.files, index, list)?.gateway),
            GW_REPORT_RECEIPTS => gateway_code(at(&r.receipts, index, list)?.gateway),
            GW_REPORT_UNKNOWN_RECEIPTS => gateway_code(at(&r.unknown, index, list)?.gateway),
            GW_REPORT_UNKNOWN_FILES => gateway_code(at(&r.unknown_files, index, list)?.gateway),
            GW_REPORT_INVALID => gateway_code(at(&r.invalid, index, list)?.gateway),
            GW_REPORT_SKIPPED => gateway_code(at(&r.skipped, index, list)?.gateway),
            GW_REPORT_OVERDUE => submission_gateway(at(&r.overdue, index, list)?),
            GW_REPORT_STALE => submission_gateway(at(&r.stale, index, list)?),
            GW_REPORT_REJECTED => submission_gateway(at(&r.rejected, index, list)?),
            GW_REPORT_PENDING | GW_REPORT_NEWLY_OVERDUE => {
                return Err(Failure::invalid(format!(
                    "{which}: GW_REPORT_PENDING and GW_REPORT_NEWLY_OVERDUE hold names only; look the submission up \
                     with gw_client_submission"
                )))
            }
            other => return Err(not_a_report_list(other)),
        };
        write_out(out, gateway, "out")
    })
}

fn not_a_report_list(which: gw_report_list) -> Failure {
    Failure::invalid(format!("{which} is not a gw_report_list: use GW_REPORT_FILES ... GW_REPORT_NEWLY_OVERDUE"))
}

/// Frees a report (items taken out of it stay valid). NULL, and a handle freed before, are ignored.
#[no_mangle]
pub extern "C" fn gw_poll_report_free(report: *mut gw_poll_report) {
    guard_void("gw_poll_report_free", || handle::free(report));
}

// ---- gw_service_list

fn services(handle: *const gw_service_list) -> CResult<std::sync::Arc<Vec<Service>>> {
    handle::get(handle, "list")
}

/// How many services the list holds into `*out`.
#[no_mangle]
pub extern "C" fn gw_service_list_len(list: *const gw_service_list, out: *mut usize) -> gw_result {
    guard("gw_service_list_len", || write_out(out, services(list)?.len(), "out"))
}

/// The name (folder) of service `index` (from 0), e.g. `Manifest.AnkomstdeklarationOpret`, by the string
/// rule.
#[no_mangle]
pub extern "C" fn gw_service_list_name(list: *const gw_service_list, index: usize, buf: *mut c_char, len: usize, out_n: *mut usize) -> gw_result {
    guard("gw_service_list_name", || write_str(&at(&services(list)?, index, "the list")?.name, buf, len, out_n))
}

/// The system (`GW_SYSTEM_*`) behind service `index` into `*out`.
#[no_mangle]
pub extern "C" fn gw_service_list_system(list: *const gw_service_list, index: usize, out: *mut gw_system) -> gw_result {
    guard("gw_service_list_system", || {
        #[allow(unreachable_patterns)]
        let system = match at(&services(list)?, index, "the list")?.system {
            System::Ics => GW_SYSTEM_ICS,
            System::Manifest => GW_SYSTEM_MANIFEST,
            System::Gateway => GW_SYSTEM_GATEWAY,
            _ => GW_SYSTEM_UNKNOWN,
        };
        write_out(out, system, "out")
    })
}

/// The transfer type (`GW_TRANSFER_*`) service `index` needs into `*out`.
#[no_mangle]
pub extern "C" fn gw_service_list_transfer_type(list: *const gw_service_list, index: usize, out: *mut gw_transfer_type) -> gw_result {
    guard("gw_service_list_transfer_type", || {
        let code = match at(&services(list)?, index, "the list")?.transfer_type {
            TransferType::Binary => GW_TRANSFER_BINARY,
            TransferType::Ascii => GW_TRANSFER_ASCII,
        };
        write_out(out, code, "out")
    })
}

/// Into `*out`: whether service `index` is in the library's catalogue (false for services only the gateway
/// showed; they may still be used).
#[no_mangle]
pub extern "C" fn gw_service_list_known(list: *const gw_service_list, index: usize, out: *mut bool) -> gw_result {
    guard("gw_service_list_known", || write_out(out, at(&services(list)?, index, "the list")?.known, "out"))
}

/// Frees a list. NULL, and a handle freed before, are ignored.
#[no_mangle]
pub extern "C" fn gw_service_list_free(list: *mut gw_service_list) {
    guard_void("gw_service_list_free", || handle::free(list));
}
