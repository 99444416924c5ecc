//! Status files (`gateway::gateway::receipt`): the name as listed in `out`, then the file's content.
//!
//! Input: the status file's name up to the first newline, its content after it.
//! Properties:
//! - `Receipt::parse` returns a receipt or an `InvalidStatusFile` error that names the file; never panics;
//! - it accepts exactly the names `is_status_file_name` accepts (a refused name is never parsed);
//! - a receipt splits the name: `status_` + service + `_` + transaction id + `_` + code + `.xml`, with service
//!   and transaction id non-empty, the code the name's digit, and the status file's name kept as given;
//! - response files are bare, non-empty file names (they are matched against names listed in `out`);
//! - text fields are trimmed and non-empty when present;
//! - parsing is deterministic.

#![no_main]

use gateway::gateway::receipt::{is_status_file_name, status_name_parts, Receipt};
use gateway::ErrorKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (name, content) = match data.iter().position(|&b| b == b'\n') {
        Some(newline) => (&data[..newline], &data[newline + 1..]),
        None => (data, &[][..]),
    };
    let name = String::from_utf8_lossy(name);
    let name = name.as_ref();

    let parsed = Receipt::parse(name, content);
    match &parsed {
        Err(error) => {
            assert_eq!(error.kind(), ErrorKind::InvalidStatusFile, "{error}");
            assert!(error.message().contains(&format!("{name:?}")), "the error does not name the file: {error}");
        }
        Ok(receipt) => {
            assert!(is_status_file_name(name), "{name:?} parsed but is not a status file name");
            assert_eq!(receipt.status_file, name);
            assert!(!receipt.service.is_empty() && !receipt.transaction_id.is_empty(), "{receipt:?}");
            let (middle, code) = status_name_parts(name).expect("a parsed name has parts");
            assert_eq!(code, receipt.code);
            assert_eq!(
                format!("{}_{}", receipt.service, receipt.transaction_id),
                middle,
                "service and transaction id do not put the name back together"
            );
            for file in &receipt.response_files {
                assert!(!file.is_empty(), "an empty response file name in {receipt:?}");
                assert!(!file.contains(['/', '\\']), "response file {file:?} is not a bare name");
                assert!(file != "." && file != "..", "response file {file:?} is not a file name");
            }
            let texts = [&receipt.skat_transaction_id, &receipt.timestamp, &receipt.status_text, &receipt.remote_path];
            let error_texts = receipt.errors.iter().flat_map(|e| [&e.code, &e.message, &e.resolution]);
            for text in texts.into_iter().chain(error_texts).flatten() {
                assert!(!text.is_empty() && text.trim() == text, "untrimmed or empty field {text:?}");
            }
            // `is_filename_reused` only for a status 0 whose every error is the reuse code.
            if receipt.is_filename_reused() {
                assert_eq!(receipt.code.as_digit(), 0);
            }
        }
    }
    if !is_status_file_name(name) {
        assert!(parsed.is_err());
    }
    let again = Receipt::parse(name, content);
    assert_eq!(parsed.as_ref().ok(), again.as_ref().ok(), "parsing twice gave different receipts");
});
