//! Interoperability tests against real FTPS servers on loopback (vsftpd from the distribution's packages).
//!
//! Needs root (vsftpd serves a local system user that the harness creates) and vsftpd, openssl and curl:
//! the README's test command (`scripts/test`) installs them first. See `interop/vsftpd.rs` for the server.

#[path = "interop/vsftpd.rs"]
mod vsftpd;

#[path = "interop/harness.rs"]
mod harness;

#[path = "interop/connect_trace.rs"]
mod connect_trace;

#[path = "interop/session.rs"]
mod session;

#[path = "interop/cli.rs"]
mod cli;

#[cfg(feature = "legacy-tls")]
#[path = "interop/legacy.rs"]
mod legacy;
