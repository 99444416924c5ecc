//! Status files: the gateway's receipts.
//!
//! The gateway writes `status_<requested service>_<FTPTransactionID>_<code>.xml` to `out`, where the
//! transaction id is the uploaded filename and the code is 0 (error), 1 (delivered to the backend),
//! 2 (accepted by the backend) or 3 (a response file is waiting). Service and filename may both contain
//! underscores and dots, so the file name alone is ambiguous; the XML's transaction id, service and path
//! elements decide where it splits. The XML is read leniently: the agency itself mixes `FTPTransaktionsId` and
//! `SKATTransactionId`, so element names are compared without case, dots, dashes and underscores, and several
//! spellings are accepted.

use crate::error::{Error, ErrorKind, Result};
use quick_xml::events::Event;
use quick_xml::Reader;
use serde::Serialize;

/// A status file larger than this is not a status file.
const MAX_STATUS_FILE_SIZE: usize = 1 << 20;

/// What a status file reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum StatusCode {
    /// 0: the gateway or the backend rejected the file.
    Error = 0,
    /// 1: the file was delivered to the backend system.
    Delivered = 1,
    /// 2: the backend system accepted the file.
    Accepted = 2,
    /// 3: a response file was exposed to the client in `out`.
    Responded = 3,
}

impl StatusCode {
    pub fn from_digit(digit: u8) -> Option<StatusCode> {
        match digit {
            0 => Some(StatusCode::Error),
            1 => Some(StatusCode::Delivered),
            2 => Some(StatusCode::Accepted),
            3 => Some(StatusCode::Responded),
            _ => None,
        }
    }

    pub fn as_digit(self) -> u8 {
        self as u8
    }
}

/// One error reported in a status 0 file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ReceiptError {
    pub code: Option<String>,
    pub message: Option<String>,
    pub resolution: Option<String>,
}

/// The gateway error code for a name used before.
pub const FILENAME_REUSED_CODE: &str = "FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION";

/// A parsed status file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// The status file's own name in `out`.
    pub status_file: String,
    /// The service the file was uploaded to.
    pub service: String,
    /// The FTPTransactionID: the name the file was uploaded under.
    pub transaction_id: String,
    pub code: StatusCode,
    /// The backend's id for the transaction (`SKATTransactionId`), when given.
    pub skat_transaction_id: Option<String>,
    /// The gateway's time stamp as written (`YYYYMMDDhhmmss`, the gateway's local time).
    pub timestamp: Option<String>,
    /// The `status.code` text, e.g. "File delivered to requested Backend System".
    pub status_text: Option<String>,
    /// The uploaded file's full path on the gateway, when given (`<file><filename>`).
    pub remote_path: Option<String>,
    /// Response files exposed in `out` (`<response><filename>`), as bare file names.
    pub response_files: Vec<String>,
    /// Errors (`<error>`), for status 0.
    pub errors: Vec<ReceiptError>,
}

impl Receipt {
    /// True when this is a status 0 whose only complaint is that the name was used before.
    pub fn is_filename_reused(&self) -> bool {
        self.code == StatusCode::Error
            && !self.errors.is_empty()
            && self.errors.iter().all(|e| e.code.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(FILENAME_REUSED_CODE)))
    }

    /// The first error, if any.
    pub fn first_error(&self) -> Option<&ReceiptError> {
        self.errors.first()
    }

    /// Parses a status file from its name in `out` and its content.
    pub fn parse(status_file: &str, content: &[u8]) -> Result<Receipt> {
        let invalid = |why: String| {
            Error::new(
                ErrorKind::InvalidStatusFile,
                format!(
                    "{status_file:?} is not a status file the gateway would write: {why}. The file was kept; \
                     look at it and report it if it came from the gateway"
                ),
            )
        };
        let name = split_status_name(status_file).ok_or_else(|| {
            invalid("its name does not follow status_<service>_<filename>_<0|1|2|3>.xml".to_string())
        })?;
        if content.len() > MAX_STATUS_FILE_SIZE {
            return Err(invalid(format!("it is {} bytes long", content.len())));
        }
        let fields = read_fields(content).map_err(invalid)?;

        let (service, transaction_id) = disambiguate(name.middle, &fields)
            .ok_or_else(|| invalid("its name does not say where the service ends and the filename starts".into()))?;
        Ok(Receipt {
            status_file: status_file.to_string(),
            service,
            transaction_id,
            code: name.code,
            skat_transaction_id: fields.skat_transaction_id,
            timestamp: fields.timestamp,
            status_text: fields.status_text,
            remote_path: fields.file_name,
            response_files: fields.response_files.iter().filter_map(|f| response_file_name(f, status_file)).collect(),
            errors: fields.errors,
        })
    }
}

/// True when a file in `out` is named like a status file.
pub fn is_status_file_name(name: &str) -> bool {
    split_status_name(name).is_some()
}

/// What a status file's name alone says: `<service>_<filename>` (ambiguous where they split) and the code.
pub fn status_name_parts(name: &str) -> Option<(&str, StatusCode)> {
    split_status_name(name).map(|n| (n.middle, n.code))
}

struct StatusName<'a> {
    /// `<service>_<filename>`
    middle: &'a str,
    code: StatusCode,
}

fn split_status_name(name: &str) -> Option<StatusName<'_>> {
    let rest = strip_prefix_ignore_case(name, "status_")?;
    let stem = strip_suffix_ignore_case(rest, ".xml")?;
    let (middle, digit) = stem.rsplit_once('_')?;
    let code = match digit.as_bytes() {
        [d @ b'0'..=b'3'] => StatusCode::from_digit(d - b'0')?,
        _ => return None,
    };
    if !middle.contains('_') {
        return None;
    }
    Some(StatusName { middle, code })
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = text.len().checked_sub(suffix.len())?;
    let tail = text.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &text[..cut])
}

fn base_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The bare name of a response file as it will appear in `out`, or `None` (logged) when the path names no
/// file (`dir/`, `..`): such an entry cannot be matched against a listing, so it is left out.
fn response_file_name(path: &str, status_file: &str) -> Option<String> {
    let name = base_name(path).trim();
    if name.is_empty() || name == "." || name == ".." {
        log::warn!("{status_file}: the response file {path:?} names no file; ignoring that entry");
        return None;
    }
    Some(name.to_string())
}

/// Splits `<service>_<filename>` using what the XML says; without help, the service is taken to end at the
/// first underscore (published service names contain none, filenames often do).
fn disambiguate(middle: &str, fields: &Fields) -> Option<(String, String)> {
    let split_at_name = |name: &str| {
        let name = name.trim();
        let service = middle.strip_suffix(name)?.strip_suffix('_')?;
        (!service.is_empty() && !name.is_empty()).then(|| (service.to_string(), name.to_string()))
    };
    let split_at_service = |service: &str| {
        let service = service.trim();
        let name = middle.strip_prefix(service)?.strip_prefix('_')?;
        (!service.is_empty() && !name.is_empty()).then(|| (service.to_string(), name.to_string()))
    };
    if let Some(found) = fields.transaction_id.as_deref().and_then(split_at_name) {
        return Some(found);
    }
    if let Some(found) = fields.service.as_deref().and_then(split_at_service) {
        return Some(found);
    }
    if let Some(path) = fields.file_name.as_deref() {
        // `/CVR_.../UI_.../<service>/<filename>`
        let mut parts = path.rsplit('/');
        let file = parts.next().unwrap_or("");
        let folder = parts.next().unwrap_or("");
        if let Some(found) = split_at_name(file).or_else(|| split_at_service(folder)) {
            return Some(found);
        }
    }
    if let Some(found) = super::catalogue::Service::catalogue().iter().find_map(|s| split_at_service(&s.name)) {
        return Some(found);
    }
    let (service, name) = middle.split_once('_')?;
    (!service.is_empty() && !name.is_empty()).then(|| (service.to_string(), name.to_string()))
}

#[derive(Default)]
struct Fields {
    transaction_id: Option<String>,
    skat_transaction_id: Option<String>,
    timestamp: Option<String>,
    status_text: Option<String>,
    service: Option<String>,
    file_name: Option<String>,
    response_files: Vec<String>,
    errors: Vec<ReceiptError>,
}

/// Element names compared without case and separators: `FTPTransaktionsId`, `ftp.transaction-id` -> same key.
fn normalise(name: &[u8]) -> String {
    let local = match name.iter().rposition(|&b| b == b':') {
        Some(colon) => &name[colon + 1..],
        None => name,
    };
    local.iter().filter(|b| !matches!(b, b'.' | b'_' | b'-')).map(|b| b.to_ascii_lowercase() as char).collect()
}

fn read_fields(content: &[u8]) -> std::result::Result<Fields, String> {
    let mut reader = Reader::from_reader(content);
    reader.config_mut().trim_text(false);
    let mut fields = Fields::default();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut root: Option<String> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("it is not well-formed XML ({e} at byte {})", reader.error_position()))?;
        match event {
            Event::Start(start) => {
                let name = normalise(start.name().as_ref());
                if path.is_empty() {
                    if root.is_some() {
                        return Err("it has more than one root element".into());
                    }
                    root = Some(name.clone());
                }
                if name == "error" || name == "fejl" {
                    fields.errors.push(ReceiptError::default());
                }
                path.push(name);
                text.clear();
            }
            Event::Empty(start) => {
                if path.is_empty() {
                    return Err("its root element is empty".into());
                }
                let name = normalise(start.name().as_ref());
                if name == "error" || name == "fejl" {
                    fields.errors.push(ReceiptError::default());
                }
            }
            Event::Text(t) => {
                let decoded = t.decode().map_err(|e| format!("its text is not valid ({e})"))?;
                text.push_str(&decoded);
            }
            Event::CData(t) => {
                let decoded = t.decode().map_err(|e| format!("its text is not valid ({e})"))?;
                text.push_str(&decoded);
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let entity = r.decode().map_err(|e| format!("its text is not valid ({e})"))?;
                        quick_xml::escape::resolve_predefined_entity(&entity)
                            .ok_or_else(|| format!("it uses the unknown entity &{entity};"))?
                            .to_string()
                    }
                    Err(e) => return Err(format!("it has a bad character reference ({e})")),
                };
                text.push_str(&resolved);
            }
            Event::End(_) => {
                let Some(element) = path.pop() else {
                    return Err("it closes an element it never opened".into());
                };
                let value = text.trim();
                if !value.is_empty() {
                    store(&mut fields, &path, &element, value);
                }
                text.clear();
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !path.is_empty() {
        return Err(format!("it ends inside <{}> (truncated?)", path.last().map(String::as_str).unwrap_or("")));
    }
    match root.as_deref() {
        None => Err("it holds no XML element".into()),
        Some(_) => Ok(fields),
    }
}

fn store(fields: &mut Fields, parents: &[String], element: &str, value: &str) {
    let parent = parents.last().map(String::as_str).unwrap_or("");
    let in_error = parents.iter().any(|p| p == "error" || p == "fejl");
    let in_response = parents.iter().any(|p| p == "response" || p == "svar");
    let value = value.to_string();
    if in_error {
        if fields.errors.is_empty() {
            fields.errors.push(ReceiptError::default());
        }
        let Some(error) = fields.errors.last_mut() else { return };
        match element {
            "errorcode" | "code" | "fejlkode" => error.code = Some(value),
            "errormessage" | "message" | "errortext" | "fejltekst" | "fejlbesked" => error.message = Some(value),
            "errorresolution" | "resolution" | "losning" | "løsning" => error.resolution = Some(value),
            _ => {}
        }
        return;
    }
    if in_response {
        if matches!(element, "filename" | "file" | "name" | "filnavn") {
            fields.response_files.push(value);
        }
        return;
    }
    match element {
        "ftptransaktionsid" | "ftptransactionid" | "ftptransaktionid" | "ftptransactionsid" | "transactionid"
        | "transaktionsid" => fields.transaction_id = Some(value),
        "skattransactionid" | "skattransaktionsid" | "skattransaktionid" | "skattransactionsid" => {
            fields.skat_transaction_id = Some(value)
        }
        "timestamp" | "tidsstempel" | "time" => fields.timestamp = Some(value),
        "statuscode" | "statustext" | "statustekst" => fields.status_text = Some(value),
        "status" if !parent.is_empty() => fields.status_text = Some(value),
        "service" | "servicename" | "requestedservice" => fields.service = Some(value),
        "filename" | "filnavn" => fields.file_name = Some(value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<status>
<file>
<filename>/CVR_12345678/UI_1e2d3e45-a67e-791a-2r34-1p2p345p6789/FTPSGW.Heartbeat/ping20201210143002441-hb01.xml</filename>
<FTPTransaktionsId>ping20201210143002441-hb01.xml</FTPTransaktionsId>
<SKATTransactionId>ci1607607002916_31616756_1</SKATTransactionId>
<timestamp>20201210143017</timestamp>
<status.code>File delivered to requested Backend System</status.code>
<service>FTPSGW.Heartbeat</service>
</file>
</status>
"#;

    #[test]
    fn parses_the_published_example() {
        let name = "status_FTPSGW.Heartbeat_ping20201210143002441-hb01.xml_1.xml";
        let r = Receipt::parse(name, EXAMPLE.as_bytes()).unwrap();
        assert_eq!(r.status_file, name);
        assert_eq!(r.service, "FTPSGW.Heartbeat");
        assert_eq!(r.transaction_id, "ping20201210143002441-hb01.xml");
        assert_eq!(r.code, StatusCode::Delivered);
        assert_eq!(r.skat_transaction_id.as_deref(), Some("ci1607607002916_31616756_1"));
        assert_eq!(r.timestamp.as_deref(), Some("20201210143017"));
        assert_eq!(r.status_text.as_deref(), Some("File delivered to requested Backend System"));
        assert_eq!(
            r.remote_path.as_deref(),
            Some("/CVR_12345678/UI_1e2d3e45-a67e-791a-2r34-1p2p345p6789/FTPSGW.Heartbeat/ping20201210143002441-hb01.xml")
        );
        assert!(r.response_files.is_empty() && r.errors.is_empty());
        assert!(!r.is_filename_reused());
    }

    #[test]
    fn underscores_in_service_and_name_are_split_by_the_xml() {
        let xml = r#"<status><file><FTPTransactionId>my_file_1.xml</FTPTransactionId>
            <service>Odd_Service.X</service></file></status>"#;
        let r = Receipt::parse("status_Odd_Service.X_my_file_1.xml_2.xml", xml.as_bytes()).unwrap();
        assert_eq!((r.service.as_str(), r.transaction_id.as_str()), ("Odd_Service.X", "my_file_1.xml"));
        assert_eq!(r.code, StatusCode::Accepted);

        // Only the service element: split after it.
        let xml = r#"<status><file><SERVICE>Odd_Service.X</SERVICE></file></status>"#;
        let r = Receipt::parse("status_Odd_Service.X_my_file_1.xml_2.xml", xml.as_bytes()).unwrap();
        assert_eq!((r.service.as_str(), r.transaction_id.as_str()), ("Odd_Service.X", "my_file_1.xml"));

        // Only the path.
        let xml = r#"<status><file><filename>/CVR_1/UID_2/Odd_Service.X/my_file_1.xml</filename></file></status>"#;
        let r = Receipt::parse("status_Odd_Service.X_my_file_1.xml_3.xml", xml.as_bytes()).unwrap();
        assert_eq!((r.service.as_str(), r.transaction_id.as_str()), ("Odd_Service.X", "my_file_1.xml"));

        // Nothing in the XML: a catalogue service, then the first underscore.
        let r = Receipt::parse("status_Manifest.AnkomstdeklarationOpret_a_b.xml_1.xml", b"<status/>").unwrap_err();
        assert_eq!(r.kind(), ErrorKind::InvalidStatusFile);
        let r = Receipt::parse("status_Manifest.AnkomstdeklarationOpret_a_b.xml_1.xml", b"<status></status>").unwrap();
        assert_eq!((r.service.as_str(), r.transaction_id.as_str()), ("Manifest.AnkomstdeklarationOpret", "a_b.xml"));
        let r = Receipt::parse("status_Svc.New_a_b.xml_1.xml", b"<status><x/></status>").unwrap();
        assert_eq!((r.service.as_str(), r.transaction_id.as_str()), ("Svc.New", "a_b.xml"));
    }

    #[test]
    fn error_receipts_carry_code_message_and_resolution() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<status><file>
<ftp_transaktions_id>decl-1.xml</ftp_transaktions_id>
<service>Manifest.AnkomstdeklarationOpret</service>
<status.code>Error</status.code>
<error><error.code>FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION</error.code>
<error.message>The filename decl-1.xml has been used before &amp; cannot be reused</error.message>
<error.resolution><![CDATA[Upload the file under a new name]]></error.resolution></error>
</file></status>"#;
        let r = Receipt::parse("STATUS_Manifest.AnkomstdeklarationOpret_decl-1.xml_0.XML", xml.as_bytes()).unwrap();
        assert_eq!(r.code, StatusCode::Error);
        assert_eq!(r.transaction_id, "decl-1.xml");
        assert_eq!(r.errors.len(), 1);
        let e = r.first_error().unwrap();
        assert_eq!(e.code.as_deref(), Some(FILENAME_REUSED_CODE));
        assert_eq!(e.message.as_deref(), Some("The filename decl-1.xml has been used before & cannot be reused"));
        assert_eq!(e.resolution.as_deref(), Some("Upload the file under a new name"));
        assert!(r.is_filename_reused());

        let xml = r#"<status><file><FTPTransaktionsId>d.xml</FTPTransaktionsId>
            <error><error.code>RECORD_LENGTH_INCORRECT</error.code></error>
            <error><error.code>FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION</error.code></error></file></status>"#;
        let r = Receipt::parse("status_S_d.xml_0.xml", xml.as_bytes()).unwrap();
        assert_eq!(r.errors.len(), 2);
        assert!(!r.is_filename_reused(), "another error besides reuse is a real failure");
    }

    #[test]
    fn response_receipts_list_their_files() {
        let xml = r#"<status><file><FTPTransaktionsId>decl-2.xml</FTPTransaktionsId>
            <service>Manifest.AnkomstdeklarationOpret</service>
            <response><filename>/CVR_1/UID_2/out/reply_decl-2.xml</filename></response>
            <Response><FileName>reply2.xml</FileName></Response></file></status>"#;
        let r = Receipt::parse("status_Manifest.AnkomstdeklarationOpret_decl-2.xml_3.xml", xml.as_bytes()).unwrap();
        assert_eq!(r.code, StatusCode::Responded);
        assert_eq!(r.response_files, ["reply_decl-2.xml", "reply2.xml"]);
        assert_eq!(r.remote_path, None, "a response's filename is not the upload's path");
    }

    #[test]
    fn response_entries_that_name_no_file_are_left_out() {
        // Found by fuzzing (fuzz/fuzz_targets/receipt.rs): `C:\out\` gave the response file "".
        let xml = r#"<status><file><FTPTransaktionsId>d.xml</FTPTransaktionsId>
            <response><filename>C:\out\</filename></response><response><filename>/CVR_1/out/..</filename></response>
            <response><filename>/CVR_1/out/ </filename></response><response><filename>/CVR_1/out/r.xml</filename></response>
            </file></status>"#;
        let r = Receipt::parse("status_S_d.xml_3.xml", xml.as_bytes()).unwrap();
        assert_eq!(r.response_files, ["r.xml"]);
    }

    #[test]
    fn bad_names_are_refused() {
        for name in [
            "status_x_1.xml",
            "status_S_n_4.xml",
            "status_S_n_.xml",
            "status_S_n_1.txt",
            "reply.xml",
            "status__1.xml",
            "status_S_n_12.xml",
            "",
            "status_",
            "ø",
        ] {
            let err = Receipt::parse(name, EXAMPLE.as_bytes()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidStatusFile, "{name:?}");
            assert!(!is_status_file_name(name));
        }
        assert!(is_status_file_name("status_S_n_3.xml"));
    }

    #[test]
    fn garbage_and_truncation_never_panic() {
        let name = "status_FTPSGW.Heartbeat_ping20201210143002441-hb01.xml_1.xml";
        let bytes = EXAMPLE.as_bytes();
        let mut accepted = 0;
        for cut in 0..bytes.len() {
            // Every strict prefix of the example is a truncated file and must be refused cleanly.
            match Receipt::parse(name, &bytes[..cut]) {
                Ok(_) => accepted += 1,
                Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidStatusFile),
            }
        }
        // Only cuts in the trailing newline after </status> may parse.
        assert!(accepted <= 1, "{accepted} truncated prefixes were accepted");
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for round in 0..2_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut noisy = bytes.to_vec();
            let flips = 1 + (seed % 8) as usize;
            for i in 0..flips {
                let at = ((seed >> (i * 7)) as usize) % noisy.len();
                noisy[at] = (seed >> (i * 5)) as u8;
            }
            if round % 3 == 0 {
                noisy.truncate((seed as usize) % noisy.len());
            }
            if let Err(e) = Receipt::parse(name, &noisy) {
                assert_eq!(e.kind(), ErrorKind::InvalidStatusFile);
                assert!(e.message().contains(name));
            }
        }
        for garbage in [&b""[..], b"hello", b"\xff\xfe\x00<", b"<a><b></a>", b"<status>&bogus;</status>", b"<a/><b/>"] {
            let e = Receipt::parse(name, garbage).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidStatusFile, "{garbage:?}");
        }
        let huge = vec![b' '; MAX_STATUS_FILE_SIZE + 1];
        assert!(Receipt::parse(name, &huge).is_err());
    }
}
