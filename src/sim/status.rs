//! Status files (receipts) and response files, shaped like the agency's (see DOMAIN.md):
//! `status_<service>_<FTPTransactionID>_<code>.xml` in `out`.

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;

/// The status codes the gateway writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusCode {
    /// 0: the submission failed.
    Error,
    /// 1: delivered to the backend system.
    Delivered,
    /// 2: accepted by the backend system.
    Accepted,
    /// 3: a response file was exposed to the client.
    ResponseExposed,
}

impl StatusCode {
    pub fn number(self) -> u8 {
        match self {
            StatusCode::Error => 0,
            StatusCode::Delivered => 1,
            StatusCode::Accepted => 2,
            StatusCode::ResponseExposed => 3,
        }
    }

    fn text(self) -> &'static str {
        match self {
            StatusCode::Error => "File not delivered to requested Backend System",
            StatusCode::Delivered => "File delivered to requested Backend System",
            StatusCode::Accepted => "File accepted by requested Backend System",
            StatusCode::ResponseExposed => "Response file exposed to client",
        }
    }
}

/// A gateway error reported in a status_0 file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayError {
    pub code: &'static str,
    pub message: String,
    pub resolution: String,
}

/// Everything a status file says.
pub struct Status<'a> {
    /// The uploaded file's path as the gateway shows it (`/CVR_x/UID_y/<service>/<name>`).
    pub path: &'a str,
    pub transaction_name: &'a str,
    pub skat_transaction_id: &'a str,
    /// `YYYYMMDDhhmmss`.
    pub timestamp: &'a str,
    pub code: StatusCode,
    pub service: &'a str,
    /// For status 3: the response file's path.
    pub response: Option<&'a str>,
    /// For status 0.
    pub error: Option<&'a GatewayError>,
}

/// The file name of a status file.
pub fn status_file_name(service: &str, transaction_name: &str, code: StatusCode) -> String {
    format!("status_{service}_{transaction_name}_{}.xml", code.number())
}

type XmlResult = std::result::Result<(), std::io::Error>;

fn element(writer: &mut Writer<Vec<u8>>, name: &str, text: &str) -> XmlResult {
    writer.create_element(name).write_text_content(BytesText::new(text))?;
    newline(writer)
}

fn newline(writer: &mut Writer<Vec<u8>>) -> XmlResult {
    writer.write_event(Event::Text(BytesText::new("\n")))
}

fn open(writer: &mut Writer<Vec<u8>>, name: &str) -> XmlResult {
    writer.write_event(Event::Start(quick_xml::events::BytesStart::new(name)))?;
    newline(writer)
}

fn close(writer: &mut Writer<Vec<u8>>, name: &str) -> XmlResult {
    writer.write_event(Event::End(quick_xml::events::BytesEnd::new(name)))?;
    newline(writer)
}

/// The XML text of a status file, element by element as the agency writes it (one element a line).
pub fn status_xml(status: &Status<'_>) -> Vec<u8> {
    let mut writer = Writer::new(Vec::new());
    let written: XmlResult = (|| {
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), Some("no"))))?;
        newline(&mut writer)?;
        open(&mut writer, "status")?;
        open(&mut writer, "file")?;
        element(&mut writer, "filename", status.path)?;
        element(&mut writer, "FTPTransaktionsId", status.transaction_name)?;
        element(&mut writer, "SKATTransactionId", status.skat_transaction_id)?;
        element(&mut writer, "timestamp", status.timestamp)?;
        element(&mut writer, "status.code", status.code.text())?;
        element(&mut writer, "service", status.service)?;
        if let Some(response) = status.response {
            open(&mut writer, "response")?;
            element(&mut writer, "filename", response)?;
            close(&mut writer, "response")?;
        }
        if let Some(error) = status.error {
            open(&mut writer, "error")?;
            element(&mut writer, "error.code", error.code)?;
            element(&mut writer, "error.message", &error.message)?;
            element(&mut writer, "error.resolution", &error.resolution)?;
            close(&mut writer, "error")?;
        }
        close(&mut writer, "file")?;
        close(&mut writer, "status")
    })();
    // Writing into a Vec cannot fail; keep whatever was written if it ever did.
    let _ = written;
    writer.into_inner()
}

/// The simulated backend's reply to a submission: a small receipt document.
pub fn response_xml(service: &str, transaction_name: &str, skat_transaction_id: &str, timestamp: &str) -> Vec<u8> {
    let mut writer = Writer::new(Vec::new());
    let written: XmlResult = (|| {
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        newline(&mut writer)?;
        open(&mut writer, "response")?;
        element(&mut writer, "service", service)?;
        element(&mut writer, "FTPTransaktionsId", transaction_name)?;
        element(&mut writer, "SKATTransactionId", skat_transaction_id)?;
        element(&mut writer, "timestamp", timestamp)?;
        element(&mut writer, "result", "ACCEPTED")?;
        element(&mut writer, "message", "Simulated backend: the declaration was received and registered.")?;
        close(&mut writer, "response")
    })();
    let _ = written;
    writer.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_1_has_the_agency_shape_and_escapes_text() {
        let xml = status_xml(&Status {
            path: "/CVR_12345678/UID_1/FTPSGW.Heartbeat/a&b.xml",
            transaction_name: "a&b.xml",
            skat_transaction_id: "ci1_12345678_1",
            timestamp: "20201210143017",
            code: StatusCode::Delivered,
            service: "FTPSGW.Heartbeat",
            response: None,
            error: None,
        });
        let text = String::from_utf8(xml).unwrap();
        assert_eq!(
            text,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<status>\n<file>\n\
             <filename>/CVR_12345678/UID_1/FTPSGW.Heartbeat/a&amp;b.xml</filename>\n\
             <FTPTransaktionsId>a&amp;b.xml</FTPTransaktionsId>\n<SKATTransactionId>ci1_12345678_1</SKATTransactionId>\n\
             <timestamp>20201210143017</timestamp>\n<status.code>File delivered to requested Backend System</status.code>\n\
             <service>FTPSGW.Heartbeat</service>\n</file>\n</status>\n"
        );
    }
}
