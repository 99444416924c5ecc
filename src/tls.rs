//! The rustls client configuration for one gateway session, and what a TLS failure means for the user.
//!
//! One `Arc<ClientConfig>` serves a whole session: the control connection and every data connection. That is
//! not only economy: rustls keeps its TLS session cache inside the config, and the gateway (like vsftpd with
//! `require_ssl_reuse=YES`) refuses a data connection that does not resume the control connection's TLS
//! session. So the default resumption cache is kept on purpose, and the data connections must use the same
//! config and the same server name.

use crate::error::{Error, ErrorKind, Result};
use crate::identity::Identity;
use rustls::client::Resumption;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Which servers to trust and which TLS versions to speak.
///
/// There is deliberately no switch to accept any server certificate or to skip the host name check: a
/// client that sends customs declarations must know whom it talks to. Trust a private CA with
/// [`TlsOptions::ca_file`] instead.
#[derive(Clone, Debug)]
pub struct TlsOptions {
    /// Trust the operating system's root certificates (default: yes).
    pub system_roots: bool,
    /// A PEM file with further CA certificates to trust (a test CA, a company's inspecting proxy).
    pub ca_file: Option<PathBuf>,
    /// Further CA certificates to trust, already parsed.
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Also allow TLS 1.3 (default: no). The gateway speaks TLS 1.2 only; this is for other servers.
    pub allow_tls13: bool,
    /// Resume the control connection's TLS session on the data connections (default: yes). The gateway
    /// requires it; turning it off exists only to show what a server says without it (a `522` reply).
    pub session_resumption: bool,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions { system_roots: true, ca_file: None, extra_roots: Vec::new(), allow_tls13: false, session_resumption: true }
    }
}

impl TlsOptions {
    /// Trust only the CA certificates in `ca_file` (no system roots): for test servers and simulators.
    pub fn private_ca(ca_file: impl Into<PathBuf>) -> Self {
        TlsOptions { system_roots: false, ca_file: Some(ca_file.into()), ..TlsOptions::default() }
    }
}

/// Builds the client configuration for one session: ring provider, TLS 1.2 only (unless 1.3 is allowed
/// explicitly), the identity's certificate chain and key for client authentication, and the trust roots.
pub fn client_config(identity: &Identity, options: &TlsOptions) -> Result<Arc<ClientConfig>> {
    let roots = trust_roots(options)?;
    let versions: &[&'static rustls::SupportedProtocolVersion] = if options.allow_tls13 {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS12]
    };
    let mut config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)
        .map_err(|e| Error::new(ErrorKind::Internal, format!("the TLS settings are inconsistent: {e}")))?
        .with_root_certificates(roots)
        .with_client_auth_cert(identity.certificate_chain().to_vec(), identity.private_key())
        .map_err(|e| {
            Error::new(
                ErrorKind::PrivateKeyMismatch,
                format!(
                    "the certificate's private key cannot be used for TLS client authentication ({e}); \
                     check that the key belongs to the certificate and is RSA or ECDSA"
                ),
            )
        })?;
    // Explicit, although it is the default: data connections resume the control connection's session.
    config.resumption = if options.session_resumption { Resumption::default() } else { Resumption::disabled() };
    Ok(Arc::new(config))
}

/// The roots to check the server's certificate against.
///
/// The system's roots come from rustls-native-certs: the gateway's server certificate is issued by a public
/// CA, so the platform's root store is exactly what is needed, and rustls-native-certs reads it the same way
/// on Linux, Windows and macOS without tying the verifier to OS-specific behaviour (online revocation checks,
/// enterprise policies) that rustls-platform-verifier would add, and that a headless batch job cannot
/// reason about. A CA file adds to those roots.
fn trust_roots(options: &TlsOptions) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    if options.system_roots {
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            log::debug!("skipping unreadable system root certificates: {error}");
        }
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        log::debug!("trusting {added} system root certificates ({ignored} unusable ones ignored)");
    }
    if let Some(path) = &options.ca_file {
        for cert in read_ca_file(path)? {
            roots.add(cert).map_err(|e| {
                Error::new(
                    ErrorKind::CertificateFormat,
                    format!("CA file {}: a certificate in it cannot be used as a trust root ({e})", path.display()),
                )
            })?;
        }
    }
    for cert in &options.extra_roots {
        roots.add(cert.clone()).map_err(|e| {
            Error::new(ErrorKind::CertificateFormat, format!("an extra CA certificate cannot be used as a trust root ({e})"))
        })?;
    }
    if roots.is_empty() {
        return Err(Error::new(
            ErrorKind::Config,
            "no trusted root certificates: the system has none and no CA file was given; \
             install the system's CA certificates (ca-certificates) or pass a CA file",
        ));
    }
    Ok(roots)
}

/// Reads every certificate from a PEM file.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::new(ErrorKind::CertificateFileUnreadable, format!("cannot read the CA file {}: {e}", path.display()))
            .with_source(e)
    })?;
    let certs = CertificateDer::pem_slice_iter(&bytes).collect::<std::result::Result<Vec<_>, _>>().map_err(|e| {
        Error::new(
            ErrorKind::CertificateFormat,
            format!("the CA file {} is not a valid PEM file ({e}); it must hold BEGIN CERTIFICATE blocks", path.display()),
        )
    })?;
    if certs.is_empty() {
        return Err(Error::new(
            ErrorKind::CertificateFormat,
            format!("the CA file {} holds no certificate (no BEGIN CERTIFICATE block)", path.display()),
        ));
    }
    Ok(certs)
}

/// The TLS version a server announced in its ServerHello, where we could see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfferedVersion(pub u8, pub u8);

impl OfferedVersion {
    /// "TLS 1.0" for (3, 1), "SSL 3.0" for (3, 0).
    pub fn name(self) -> String {
        match self {
            OfferedVersion(3, 0) => "SSL 3.0".to_owned(),
            OfferedVersion(3, minor) => format!("TLS 1.{}", minor.saturating_sub(1)),
            OfferedVersion(major, minor) => format!("an unknown protocol version {major}.{minor}"),
        }
    }
}

/// Turns a rustls error from a handshake with `server` into an error that says what happened and what to do.
///
/// `offered` is the version from the server's hello, when the caller saw it; `legacy` says whether the
/// endpoint is a legacy-gateway endpoint (where TLS 1.0 is expected and the `legacy-tls` feature helps).
pub fn describe_tls_error(error: &rustls::Error, server: &str, offered: Option<OfferedVersion>, legacy: bool) -> Error {
    use rustls::Error as E;
    let kind_and_message = match error {
        E::PeerIncompatible(rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13)
        | E::AlertReceived(AlertDescription::ProtocolVersion) => {
            let offered = match offered {
                Some(version) if version != OfferedVersion(3, 3) => format!("the server {server} offered {}", version.name()),
                // OpenSSL answers an unacceptable ClientHello with a bare alert that does not name its own
                // version; a server limited to TLS 1.0/1.1 is by far the most likely one.
                _ => format!(
                    "the server {server} refused TLS 1.2 with a protocol_version alert: it speaks only other \
                     versions (typically TLS 1.0/1.1, or TLS 1.3 alone)"
                ),
            };
            let advice = if legacy {
                if cfg!(feature = "legacy-tls") {
                    "; the legacy gateway speaks TLS 1.0, which this session tried through the legacy-tls backend"
                } else {
                    "; the legacy gateway speaks TLS 1.0, which rustls does not implement: build skat-gateway with \
                     the cargo feature `legacy-tls` to reach it, or use the new gateway (port 6381)"
                }
            } else {
                "; check that you are connecting to the new gateway (port 6381), not the legacy one (6371)"
            };
            (ErrorKind::TlsProtocolVersion, format!("{offered}; the gateway requires TLS 1.2{advice}"))
        }
        E::InvalidCertificate(cert_error) => describe_certificate_error(cert_error, server),
        E::AlertReceived(alert) => match alert {
            AlertDescription::BadCertificate
            | AlertDescription::CertificateRequired
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::AccessDenied => (
                ErrorKind::TlsClientCertificateRejected,
                format!(
                    "the server {server} rejected our client certificate (TLS alert {alert:?}); check that the \
                     certificate is valid and registered with the agency for this environment, and that the \
                     whole chain is in the certificate file"
                ),
            ),
            AlertDescription::HandshakeFailure => (
                ErrorKind::TlsClientCertificateRejected,
                format!(
                    "the server {server} broke off the TLS handshake (handshake_failure): it usually means it did \
                     not accept our client certificate, or that no cipher suite was shared"
                ),
            ),
            other => (ErrorKind::Tls, format!("the server {server} ended the TLS handshake with the alert {other:?}")),
        },
        E::PeerIncompatible(reason) => (
            ErrorKind::Tls,
            format!("the server {server} and this client have no TLS parameters in common ({reason:?})"),
        ),
        other => (ErrorKind::Tls, format!("TLS with {server} failed: {other}")),
    };
    Error::new(kind_and_message.0, kind_and_message.1).with_source(error.clone())
}

fn describe_certificate_error(error: &CertificateError, server: &str) -> (ErrorKind, String) {
    use CertificateError as C;
    match error {
        C::UnknownIssuer => (
            ErrorKind::TlsUnknownCa,
            format!(
                "the server {server} presented a certificate from a CA we do not trust; if that CA is right \
                 (a test server, a company proxy), pass its certificate with --ca-file / TlsOptions::ca_file"
            ),
        ),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            let presented = match error {
                C::NotValidForNameContext { presented, .. } if !presented.is_empty() => {
                    format!(" (it is for {})", presented.join(", "))
                }
                _ => String::new(),
            };
            (
                ErrorKind::TlsHostnameMismatch,
                format!(
                    "the server's certificate is not valid for the host name {server}{presented}; connect by the \
                     name the certificate is issued for"
                ),
            )
        }
        C::Expired | C::ExpiredContext { .. } => (
            ErrorKind::TlsBadServerCertificate,
            format!("the server {server} presented an expired certificate; check the clock of this machine, or tell the server's operator"),
        ),
        C::NotValidYet | C::NotValidYetContext { .. } => (
            ErrorKind::TlsBadServerCertificate,
            format!("the server {server} presented a certificate that is not valid yet; check the clock of this machine"),
        ),
        C::Revoked => (ErrorKind::TlsBadServerCertificate, format!("the server {server} presented a revoked certificate")),
        other => (
            ErrorKind::TlsBadServerCertificate,
            format!("the server {server} presented a certificate that cannot be accepted ({other:?})"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names() {
        assert_eq!(OfferedVersion(3, 1).name(), "TLS 1.0");
        assert_eq!(OfferedVersion(3, 2).name(), "TLS 1.1");
        assert_eq!(OfferedVersion(3, 0).name(), "SSL 3.0");
    }

    #[test]
    fn protocol_version_refusal_explains_the_feature() {
        let e = describe_tls_error(
            &rustls::Error::PeerIncompatible(rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13),
            "gw:6371",
            Some(OfferedVersion(3, 1)),
            true,
        );
        assert_eq!(e.kind(), ErrorKind::TlsProtocolVersion);
        assert!(e.message().contains("offered TLS 1.0; the gateway requires TLS 1.2"), "{e}");
        if !cfg!(feature = "legacy-tls") {
            assert!(e.message().contains("legacy-tls"), "{e}");
        }
    }

    #[test]
    fn certificate_errors_by_cause() {
        let unknown = describe_tls_error(&rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer), "h:1", None, false);
        assert_eq!(unknown.kind(), ErrorKind::TlsUnknownCa);
        assert!(unknown.message().contains("--ca-file"));
        let name = describe_tls_error(&rustls::Error::InvalidCertificate(CertificateError::NotValidForName), "h:1", None, false);
        assert_eq!(name.kind(), ErrorKind::TlsHostnameMismatch);
        let rejected = describe_tls_error(&rustls::Error::AlertReceived(AlertDescription::UnknownCA), "h:1", None, false);
        assert_eq!(rejected.kind(), ErrorKind::TlsClientCertificateRejected);
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = read_ca_file(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CertificateFormat);
        assert!(err.message().contains("empty.pem"));
        let missing = read_ca_file(&dir.path().join("missing.pem")).unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::CertificateFileUnreadable);
    }
}
