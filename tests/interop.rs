//! Interoperability tests against real FTPS servers on loopback, from the distribution's packages: vsftpd
//! (configured like the gateway, with variants that misbehave), ProFTPD and Pure-FTPd.
//!
//! Needs root (the servers serve a local system user that the harness creates) and the servers, openssl and
//! curl: the README's test command (`scripts/test`) installs them first. See `interop/vsftpd.rs` and
//! `interop/other_servers.rs` for the servers.

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

#[path = "interop/other_servers.rs"]
mod other_servers;

#[path = "interop/other_servers_tests.rs"]
mod other_servers_tests;

#[cfg(feature = "legacy-tls")]
#[path = "interop/legacy.rs"]
mod legacy;
