//! One error type for the whole library.
//!
//! Every failure is an [`Error`] with an [`ErrorKind`]. The kind is what programs branch on; the message is
//! what a person reads at night with nobody to ask, so it says what happened *and what to do*. The table in
//! [`ErrorKind::ALL`] is the single place where a kind gets its stable C code (`gw_result`) and its Python
//! exception class: the faces read it, they never invent their own mapping.
//!
//! Secrets never enter an error: messages are built from file names, server replies and user names only.

use std::fmt;

/// A server reply kept with an error: the code and the text, as the server sent them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerReply {
    pub code: u32,
    pub text: String,
}

impl fmt::Display for ServerReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.text.trim_end())
    }
}

/// What went wrong, as a program needs to know it. Stable: kinds are added, never renumbered or removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    // --- caller and local environment (1xx)
    /// An argument given to the API is not acceptable (empty, malformed, out of range).
    InvalidArgument,
    /// A local file or folder could not be read or written.
    Io,
    /// A configuration file or setting is wrong.
    Config,
    /// A bug in this library (a caught panic, a broken invariant). Please report it.
    Internal,

    // --- certificates (2xx)
    /// The certificate file does not exist or cannot be read.
    CertificateFileUnreadable,
    /// The file is neither PKCS#12 nor PEM, or it is truncated or damaged.
    CertificateFormat,
    /// The PKCS#12 password is wrong (the MAC did not verify).
    CertificatePassword,
    /// The file holds a certificate but no private key.
    PrivateKeyMissing,
    /// The private key does not belong to the certificate.
    PrivateKeyMismatch,
    /// The certificate is not a company, employee or function certificate, so no gateway user name follows.
    NotAGatewayCertificate,
    /// The certificate has expired.
    CertificateExpired,
    /// The certificate is not valid yet.
    CertificateNotYetValid,

    // --- TLS (3xx)
    /// The server does not speak the TLS version required (TLS 1.2 for the gateway).
    TlsProtocolVersion,
    /// The server's certificate was issued by a CA that is not trusted.
    TlsUnknownCa,
    /// The server's certificate is expired, not yet valid, or otherwise bad.
    TlsBadServerCertificate,
    /// The server's certificate is for another host name.
    TlsHostnameMismatch,
    /// The server rejected our client certificate (or we sent none and it requires one).
    TlsClientCertificateRejected,
    /// Any other TLS failure.
    Tls,

    // --- network (4xx)
    /// The host name could not be resolved.
    HostNotFound,
    /// Nobody listens on that host and port.
    ConnectionRefused,
    /// The server did not answer in time.
    Timeout,
    /// The connection broke off in the middle of an exchange.
    ConnectionLost,

    // --- FTP replies (5xx)
    /// Login refused (530): user name or password wrong, or the certificate not registered for it.
    Authentication,
    /// The server refused the operation on that path (550/553 for permission).
    PermissionDenied,
    /// The path does not exist on the server.
    NotFound,
    /// The server requires the data connection to resume the control connection's TLS session (522).
    TlsSessionReuseRequired,
    /// The server sent a reply this library did not expect.
    UnexpectedReply,

    // --- gateway rules (6xx)
    /// The certificate may not use that service (its folder is not visible).
    ServiceNotAvailable,
    /// The filename has been used before; the gateway accepts a name once.
    FilenameReused,
    /// The filename does not follow the gateway's rules for names.
    InvalidFilename,
    /// The gateway answered the submission with status 0 (error).
    SubmissionRejected,
    /// No status arrived before the deadline.
    SubmissionOverdue,
    /// The journal knows no submission of that name.
    UnknownSubmission,
    /// A status file could not be understood.
    InvalidStatusFile,

    // --- journal (7xx)
    /// The local journal (SQLite) could not be opened, read or written.
    Journal,

    // --- simulator (8xx)
    /// The built-in gateway simulator could not start or failed.
    Simulator,
}

/// One row of the table that gives each kind its stable C code and Python class.
pub struct KindInfo {
    pub kind: ErrorKind,
    /// The `gw_result` value; never renumbered.
    pub code: u32,
    /// The C enum value's name (without the `GW_` prefix).
    pub c_name: &'static str,
    /// The Python exception class in `skat_gateway.exceptions`.
    pub python_class: &'static str,
    /// One line for `gw_result_text` and documentation.
    pub summary: &'static str,
}

macro_rules! kinds {
    ($( $kind:ident = $code:literal, $c:literal, $py:literal, $summary:literal; )*) => {
        impl ErrorKind {
            /// Every kind, with its stable code and the class that the Python face raises for it.
            pub const ALL: &'static [KindInfo] = &[
                $( KindInfo { kind: ErrorKind::$kind, code: $code, c_name: $c, python_class: $py, summary: $summary }, )*
            ];
        }
    };
}

kinds! {
    InvalidArgument = 100, "INVALID_ARGUMENT", "InvalidArgumentError", "an argument is not acceptable";
    Io = 101, "IO", "LocalIoError", "a local file or folder could not be read or written";
    Config = 102, "CONFIG", "ConfigError", "the configuration is wrong";
    Internal = 199, "INTERNAL", "InternalError", "internal error in skat-gateway (please report it)";
    CertificateFileUnreadable = 200, "CERTIFICATE_FILE_UNREADABLE", "CertificateError", "the certificate file cannot be read";
    CertificateFormat = 201, "CERTIFICATE_FORMAT", "CertificateError", "the certificate file is neither PKCS#12 nor PEM, or is damaged";
    CertificatePassword = 202, "CERTIFICATE_PASSWORD", "CertificatePasswordError", "wrong certificate password";
    PrivateKeyMissing = 203, "PRIVATE_KEY_MISSING", "CertificateError", "the certificate file holds no private key";
    PrivateKeyMismatch = 204, "PRIVATE_KEY_MISMATCH", "CertificateError", "the private key does not match the certificate";
    NotAGatewayCertificate = 205, "NOT_A_GATEWAY_CERTIFICATE", "CertificateError", "not a company, employee or function certificate";
    CertificateExpired = 206, "CERTIFICATE_EXPIRED", "CertificateError", "the certificate has expired";
    CertificateNotYetValid = 207, "CERTIFICATE_NOT_YET_VALID", "CertificateError", "the certificate is not valid yet";
    TlsProtocolVersion = 300, "TLS_PROTOCOL_VERSION", "TlsError", "the server does not speak the required TLS version";
    TlsUnknownCa = 301, "TLS_UNKNOWN_CA", "TlsError", "the server certificate's issuer is not trusted";
    TlsBadServerCertificate = 302, "TLS_BAD_SERVER_CERTIFICATE", "TlsError", "the server certificate is not valid";
    TlsHostnameMismatch = 303, "TLS_HOSTNAME_MISMATCH", "TlsError", "the server certificate is for another host name";
    TlsClientCertificateRejected = 304, "TLS_CLIENT_CERTIFICATE_REJECTED", "TlsError", "the server rejected the client certificate";
    Tls = 399, "TLS", "TlsError", "TLS failure";
    HostNotFound = 400, "HOST_NOT_FOUND", "GatewayConnectionError", "the host name could not be resolved";
    ConnectionRefused = 401, "CONNECTION_REFUSED", "GatewayConnectionError", "the connection was refused";
    Timeout = 402, "TIMEOUT", "GatewayTimeoutError", "the server did not answer in time";
    ConnectionLost = 403, "CONNECTION_LOST", "ConnectionLostError", "the connection was lost";
    Authentication = 500, "AUTHENTICATION", "AuthenticationError", "login refused";
    PermissionDenied = 501, "PERMISSION_DENIED", "PermissionDeniedError", "the server refused the operation";
    NotFound = 502, "NOT_FOUND", "RemoteNotFoundError", "no such file or folder on the server";
    TlsSessionReuseRequired = 503, "TLS_SESSION_REUSE_REQUIRED", "TlsError", "the server requires TLS session reuse on the data connection";
    UnexpectedReply = 599, "UNEXPECTED_REPLY", "ProtocolError", "unexpected reply from the server";
    ServiceNotAvailable = 600, "SERVICE_NOT_AVAILABLE", "ServiceNotAvailableError", "the certificate may not use that service";
    FilenameReused = 601, "FILENAME_REUSED", "FilenameReusedError", "the filename has been used before";
    InvalidFilename = 602, "INVALID_FILENAME", "InvalidFilenameError", "the filename breaks the gateway's naming rules";
    SubmissionRejected = 603, "SUBMISSION_REJECTED", "SubmissionRejectedError", "the gateway rejected the submission (status 0)";
    SubmissionOverdue = 604, "SUBMISSION_OVERDUE", "SubmissionOverdueError", "no status arrived before the deadline";
    UnknownSubmission = 605, "UNKNOWN_SUBMISSION", "UnknownSubmissionError", "no submission of that name in the journal";
    InvalidStatusFile = 606, "INVALID_STATUS_FILE", "ProtocolError", "a status file could not be understood";
    Journal = 700, "JOURNAL", "JournalError", "the journal could not be used";
    Simulator = 800, "SIMULATOR", "SimulatorError", "the gateway simulator failed";
}

impl ErrorKind {
    /// This kind's row in [`ErrorKind::ALL`].
    pub fn info(self) -> &'static KindInfo {
        Self::ALL
            .iter()
            .find(|row| row.kind == self)
            .expect("every ErrorKind has a row in ErrorKind::ALL (checked by a unit test)")
    }

    /// The stable numeric code (the C face's `gw_result`).
    pub fn code(self) -> u32 {
        self.info().code
    }

    /// The kind for a stable code, if there is one.
    pub fn from_code(code: u32) -> Option<ErrorKind> {
        Self::ALL.iter().find(|row| row.code == code).map(|row| row.kind)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.info().summary)
    }
}

/// The library's error: a kind to branch on, a message to read, and where known the server's reply and the
/// underlying cause.
pub struct Error {
    kind: ErrorKind,
    message: String,
    reply: Option<ServerReply>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error. `message` says what happened and what to do; it must never contain a secret.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), reply: None, source: None }
    }

    /// Keeps the underlying cause (shown by `source()`, not in the message).
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Keeps the server's reply code and text.
    pub fn with_reply(mut self, code: u32, text: impl Into<String>) -> Self {
        self.reply = Some(ServerReply { code, text: text.into() });
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// What happened and what to do, for a person.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The server's reply, when the error came from one.
    pub fn server_reply(&self) -> Option<&ServerReply> {
        self.reply.as_ref()
    }

    /// Prefixes the message with context (a file name, a phase), keeping kind, reply and source.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(reply) = &self.reply {
            if !self.message.contains(reply.text.trim_end()) {
                write!(f, " (server said: {reply})")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(reply) = &self.reply {
            d.field("reply", reply);
        }
        if let Some(source) = &self.source {
            d.field("source", &format_args!("{source}"));
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = HashSet::new();
        for row in ErrorKind::ALL {
            assert!(seen.insert(row.code), "code {} used twice", row.code);
            assert_eq!(ErrorKind::from_code(row.code), Some(row.kind));
            assert_eq!(row.kind.code(), row.code);
        }
    }

    #[test]
    fn display_adds_the_server_reply_once() {
        let e = Error::new(ErrorKind::Authentication, "login refused for CVR_1_UID_2").with_reply(530, "Login incorrect.");
        assert_eq!(e.to_string(), "login refused for CVR_1_UID_2 (server said: 530 Login incorrect.)");
        let e = Error::new(ErrorKind::Authentication, "the server said 530 Login incorrect.").with_reply(530, "Login incorrect.");
        assert_eq!(e.to_string(), "the server said 530 Login incorrect.");
    }
}
