//! The OCES certificate: loading (PKCS#12, PEM), the gateway user name it implies, export for registration.
//! (Filled in by the identity work; the public surface below is the contract other layers use.)

use crate::error::Result;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A client certificate with its private key and chain, and what the gateway reads from it.
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Identity {
    /// The certificate chain, leaf first, as presented in the TLS handshake.
    pub fn certificate_chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// A copy of the private key for a TLS configuration.
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }

    /// The gateway user name derived from the certificate (`CVR_<cvr>_UID_<uid>`, ...).
    pub fn username(&self) -> Result<String> {
        todo!("identity work")
    }
}
