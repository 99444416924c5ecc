//! Certificate loading (`gateway::identity`): PKCS#12 (DER and the BER that Java tooling writes), PEM, and
//! `Identity::from_file`'s detection of which one a file is.
//!
//! Input: the bytes of a certificate file. The password is the public test certificates' `Test1234`, so the
//! seeds (the OCES II test files when ../shared is there, files minted by scripts/test-fuzz) open.
//! Properties:
//! - every loader returns an identity or a certificate error (format, password, missing or mismatched key,
//!   unreadable file), never another kind, never a panic, and no message holds the password;
//! - a loaded identity has a chain whose leaf carries the public key of the private key (what the TLS
//!   handshake will check), its public PEM reads back as the leaf, and a user name it implies is made of
//!   `[A-Za-z0-9_.-]` only (it goes into the FTP `USER` command);
//! - `from_file` detects the format the bytes are in: whenever `from_pkcs12` or `from_pem` loads the bytes,
//!   `from_file` on a file holding them loads the same certificate;
//! - the BER-to-DER rewrite of the PKCS#12 structure is idempotent: its DER output rewrites to itself.

#![no_main]

use gateway::{ErrorKind, Identity, Result, Secret};
use libfuzzer_sys::fuzz_target;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::path::PathBuf;
use std::sync::OnceLock;
use x509_parser::prelude::{FromDer, X509Certificate};

const PASSWORD: &str = "Test1234";

fn scratch_file() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    // scripts/test-fuzz points this at its temporary folder, which it removes at the end.
    FILE.get_or_init(|| {
        let dir = std::env::var_os("SKAT_GATEWAY_FUZZ_SCRATCH").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
        dir.join(format!("skat-gateway-fuzz-identity-{}.bin", std::process::id()))
    })
}

fn check(result: &Result<Identity>, data: &[u8], what: &str) {
    match result {
        Err(error) => {
            assert!(
                matches!(
                    error.kind(),
                    ErrorKind::CertificateFormat
                        | ErrorKind::CertificatePassword
                        | ErrorKind::PrivateKeyMissing
                        | ErrorKind::PrivateKeyMismatch
                        | ErrorKind::CertificateFileUnreadable
                ),
                "{what}: unexpected error kind {:?}: {error}",
                error.kind()
            );
            assert!(!error.message().is_empty());
            if !data.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()) {
                assert!(!error.to_string().contains(PASSWORD), "{what}: the password is in the error: {error}");
            }
        }
        Ok(identity) => {
            let chain = identity.certificate_chain();
            assert!(!chain.is_empty(), "{what}: an identity without certificate");
            let key = identity.private_key();
            let signing = rustls::crypto::ring::sign::any_supported_type(&key)
                .unwrap_or_else(|e| panic!("{what}: the loaded key is unusable for TLS: {e}"));
            if let Some(spki) = signing.public_key() {
                let (_, leaf) = X509Certificate::from_der(&chain[0]).expect("the leaf parses");
                assert_eq!(spki.as_ref(), leaf.public_key().raw, "{what}: the key does not belong to the leaf");
            }
            let pem = identity.public_pem();
            let back = CertificateDer::from_pem_slice(pem.as_bytes()).expect("the public PEM reads back");
            assert_eq!(back.as_ref(), chain[0].as_ref(), "{what}: the public PEM is not the leaf");
            assert!(!pem.contains("PRIVATE"), "{what}: the public PEM holds a key");
            match identity.username() {
                Ok(name) => {
                    assert_eq!(Some(name.as_str()), identity.info().username());
                    assert!(
                        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)),
                        "{what}: user name {name:?} is not safe for USER"
                    );
                }
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::NotAGatewayCertificate);
                    assert!(identity.info().username().is_none());
                }
            }
            let debug = format!("{identity:?}");
            assert!(!debug.contains(PASSWORD) || data.windows(PASSWORD.len()).any(|w| w == PASSWORD.as_bytes()));
        }
    }
}

fn same_certificate(a: &Identity, b: &Identity) -> bool {
    a.certificate_chain().first() == b.certificate_chain().first()
}

fuzz_target!(|data: &[u8]| {
    let password = Secret::new(PASSWORD);
    let pkcs12 = Identity::from_pkcs12(data, &password);
    check(&pkcs12, data, "from_pkcs12");
    let pem = Identity::from_pem(data, None);
    check(&pem, data, "from_pem");

    let file = scratch_file();
    std::fs::write(file, data).expect("write the scratch file");
    let from_file = Identity::from_file(file, Some(&password));
    check(&from_file, data, "from_file");
    for (direct, name) in [(&pkcs12, "from_pkcs12"), (&pem, "from_pem")] {
        if let Ok(direct) = direct {
            match &from_file {
                Ok(loaded) => assert!(same_certificate(direct, loaded), "from_file loaded another certificate than {name}"),
                Err(e) => panic!("{name} loads these bytes, but from_file refuses them: {e}"),
            }
        }
    }

    if let Ok(der) = gateway::identity::fuzzing::normalise_pfx(data) {
        let again = gateway::identity::fuzzing::normalise_pfx(&der);
        assert_eq!(again.as_ref(), Ok(&der), "the DER rewrite of a PKCS#12 file is not stable");
    }
});
