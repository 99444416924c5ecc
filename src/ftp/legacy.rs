//! TLS for the legacy gateway through OpenSSL (cargo feature `legacy-tls`).
//!
//! The legacy gateway speaks TLS 1.0, which rustls does not implement at all. This backend is chosen only for
//! endpoints of the legacy generation; the new gateway always gets rustls with TLS 1.2 only.
//!
//! Why the `openssl` crate directly rather than suppaftp's `native-tls` backend (which wraps the same
//! OpenSSL on Linux): native-tls offers no way to lower OpenSSL 3's security level, and OpenSSL 3 refuses
//! TLS 1.0/1.1 above level 0 (their handshake signatures use SHA-1); nor can it resume a TLS session on a
//! second connection, which servers that require session reuse on data connections insist on. Everything
//! else stays as strict as for the new gateway: the server certificate is verified against the same trust
//! roots, and the host name is checked.

use crate::error::{Error, ErrorKind, Result};
use crate::identity::Identity;
use crate::tls::{read_ca_file, TlsOptions};
use openssl::pkey::PKey;
use openssl::ssl::{
    HandshakeError, SslConnector, SslMethod, SslSession, SslSessionCacheMode, SslStream, SslVersion,
};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509VerifyResult, X509};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

pub(crate) struct LegacyTls {
    connector: SslConnector,
    /// The control connection's TLS session, offered again on every data connection.
    session: Arc<Mutex<Option<SslSession>>>,
}

fn setup_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Tls, format!("cannot set up OpenSSL for the legacy gateway ({what}: {e})"))
}

impl LegacyTls {
    pub(crate) fn new(identity: &Identity, options: &TlsOptions) -> Result<LegacyTls> {
        let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(|e| setup_error("context", e))?;
        builder.set_min_proto_version(Some(SslVersion::TLS1)).map_err(|e| setup_error("minimum version", e))?;
        builder.set_max_proto_version(Some(SslVersion::TLS1_2)).map_err(|e| setup_error("maximum version", e))?;
        // Security level 0: the only level at which OpenSSL 3 still speaks TLS 1.0/1.1.
        builder.set_cipher_list("DEFAULT:@SECLEVEL=0").map_err(|e| setup_error("cipher list", e))?;

        let chain = identity.certificate_chain();
        let leaf = chain.first().ok_or_else(|| Error::new(ErrorKind::CertificateFormat, "the identity holds no certificate"))?;
        let leaf = X509::from_der(leaf).map_err(|e| setup_error("client certificate", e))?;
        builder.set_certificate(&leaf).map_err(|e| setup_error("client certificate", e))?;
        for intermediate in chain.iter().skip(1) {
            let intermediate = X509::from_der(intermediate).map_err(|e| setup_error("certificate chain", e))?;
            builder.add_extra_chain_cert(intermediate).map_err(|e| setup_error("certificate chain", e))?;
        }
        let key = identity.private_key();
        let key = PKey::private_key_from_der(key.secret_der())
            .or_else(|_| PKey::private_key_from_pkcs8(key.secret_der()))
            .map_err(|_| Error::new(ErrorKind::CertificateFormat, "OpenSSL cannot read the certificate's private key"))?;
        builder.set_private_key(&key).map_err(|e| setup_error("private key", e))?;
        builder.check_private_key().map_err(|_| {
            Error::new(ErrorKind::PrivateKeyMismatch, "the private key does not belong to the certificate")
        })?;

        // The same roots as the rustls configuration: the system's (if wanted) plus the CA file.
        let mut store = X509StoreBuilder::new().map_err(|e| setup_error("trust store", e))?;
        if options.system_roots {
            store.set_default_paths().map_err(|e| setup_error("system trust roots", e))?;
        }
        let mut extra = options.extra_roots.clone();
        if let Some(path) = &options.ca_file {
            extra.extend(read_ca_file(path)?);
        }
        for cert in &extra {
            let cert = X509::from_der(cert).map_err(|e| setup_error("CA certificate", e))?;
            store.add_cert(cert).map_err(|e| setup_error("CA certificate", e))?;
        }
        builder.set_verify_cert_store(store.build()).map_err(|e| setup_error("trust store", e))?;

        let session = Arc::new(Mutex::new(None));
        if options.session_resumption {
            builder.set_session_cache_mode(SslSessionCacheMode::CLIENT);
            let slot = Arc::clone(&session);
            builder.set_new_session_callback(move |_ssl, new_session| {
                if let Ok(mut slot) = slot.lock() {
                    // Keep the control connection's session: data connections resume that one.
                    if slot.is_none() {
                        *slot = Some(new_session);
                    }
                }
            });
        }
        Ok(LegacyTls { connector: builder.build(), session })
    }

    pub(crate) fn connect(
        &self,
        domain: &str,
        socket: TcpStream,
        is_control: bool,
        server: &str,
    ) -> Result<SslStream<TcpStream>> {
        let mut config = self.connector.configure().map_err(|e| setup_error("connection", e))?;
        if !is_control {
            if let Some(session) = self.session.lock().ok().and_then(|s| s.clone()) {
                // SAFETY: the session was created by a connection of this same connector's context (it was
                // stored by this context's new-session callback), which is what SSL_set_session requires.
                unsafe { config.set_session(&session) }.map_err(|e| setup_error("session reuse", e))?;
            }
        }
        match config.connect(domain, socket) {
            Ok(stream) => {
                log::debug!(
                    "legacy TLS with {server}: {} {}{}",
                    stream.ssl().version_str(),
                    stream.ssl().current_cipher().map(|c| c.name()).unwrap_or("?"),
                    if stream.ssl().session_reused() { ", session resumed" } else { "" }
                );
                Ok(stream)
            }
            Err(HandshakeError::SetupFailure(e)) => Err(setup_error("connection", e)),
            Err(HandshakeError::Failure(mid)) | Err(HandshakeError::WouldBlock(mid)) => {
                Err(describe_failure(mid.ssl().verify_result(), &mid.error().to_string(), server))
            }
        }
    }
}

/// Explains a failed OpenSSL handshake from the certificate check's result and OpenSSL's reason text.
fn describe_failure(verify: X509VerifyResult, reason: &str, server: &str) -> Error {
    // X509_V_ERR_* codes, stable across OpenSSL versions.
    let (kind, message) = match verify.as_raw() {
        0 => {
            let lower = reason.to_ascii_lowercase();
            if ["unsupported protocol", "wrong version number", "protocol version", "no protocols available"]
                .iter()
                .any(|w| lower.contains(w))
            {
                (ErrorKind::TlsProtocolVersion, format!("{server} and this client share no TLS version (1.0 to 1.2 offered)"))
            } else if ["unknown ca", "bad certificate", "certificate required", "handshake failure", "certificate unknown", "access denied"]
                .iter()
                .any(|w| lower.contains(w))
            {
                (
                    ErrorKind::TlsClientCertificateRejected,
                    format!(
                        "{server} rejected our client certificate; check that it is valid and registered with the \
                         agency for the legacy gateway"
                    ),
                )
            } else if ["timed out", "timeout", "would block", "resource temporarily unavailable"].iter().any(|w| lower.contains(w)) {
                (ErrorKind::Timeout, format!("the TLS handshake with {server} timed out"))
            } else {
                (ErrorKind::Tls, format!("TLS with {server} failed"))
            }
        }
        18..=21 | 2 => (
            ErrorKind::TlsUnknownCa,
            format!(
                "{server} presented a certificate from a CA we do not trust; if that CA is right, pass its \
                 certificate with --ca-file / TlsOptions::ca_file"
            ),
        ),
        9 | 10 => (
            ErrorKind::TlsBadServerCertificate,
            format!("{server} presented a certificate that is expired or not yet valid; check this machine's clock"),
        ),
        62 | 64 => (
            ErrorKind::TlsHostnameMismatch,
            format!("the server's certificate is not valid for the host name {server}; connect by the name it is issued for"),
        ),
        _ => (
            ErrorKind::TlsBadServerCertificate,
            format!("{server} presented a certificate that cannot be accepted ({})", verify.error_string()),
        ),
    };
    Error::new(kind, format!("{message} (OpenSSL: {reason})"))
}
