//! skat-gateway: talk to the Danish customs agency's FTPS Gateway for ICS and Manifest.
//!
//! Layers, from the faces down: `gateway` (what the gateway means: submissions, receipts, migration) ->
//! `ftp` (the FTPS session) -> `tls` (TLS 1.2 with the client certificate) -> `identity` (the OCES
//! certificate and the user name it implies). `journal` sits beside `gateway`; `sim` is a gateway simulator
//! for tests, demos and offline integration work. Nothing here knows about C, Python or the CLI.

#[doc(hidden)]
pub mod capi;
mod durable;
pub mod endpoint;
pub mod error;
pub mod ftp;
pub mod gateway;
pub mod identity;
pub mod journal;
#[cfg(feature = "python")]
mod python;
pub mod secret;
#[cfg(feature = "sim")]
pub mod sim;
pub mod tls;

pub use endpoint::{Endpoint, Environment, Generation};
pub use error::{Error, ErrorKind, Result, ServerReply};
pub use identity::{CertificateFileFormat, CertificateInfo, CertificateKind, Identity, Validity};
pub use secret::Secret;
