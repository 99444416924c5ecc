//! The FTPS session: one control connection to the gateway, on suppaftp, hardened for the gateway's setting.
//!
//! What this adds to plain suppaftp, and why:
//! - every network step has a time-out (connect, greeting, handshake, each read and write), so a batch job at
//!   night never hangs on a silent firewall;
//! - passive data connections go to the *control connection's* peer address, never to the address in the
//!   227 reply (a server or a middlebox could otherwise point the client at any host), with TCP_NODELAY (no
//!   Nagle + delayed-ACK stall per small file) and a warning when the port lies outside the endpoint's range
//!   (the range customers open in their firewall);
//! - data connections resume the control connection's TLS session (one `Arc<ClientConfig>`, same server
//!   name), which the gateway requires;
//! - transfers stream through one fixed-size buffer, so memory stays flat for any file size;
//! - every failure becomes a [`gateway::Error`](crate::Error) that keeps the server's reply and says which
//!   phase failed and what to do.

mod connector;
#[cfg(feature = "legacy-tls")]
mod legacy;
mod listing;

pub use listing::{parse_list_line, parse_mlsd_line, parse_nlst_line, RemoteEntry};

use crate::durable::PartialFile;
pub use crate::durable::Durability;
use crate::endpoint::{Endpoint, Generation};
use crate::error::{Error, ErrorKind, Result};
use crate::identity::Identity;
use crate::secret::Secret;
use crate::tls::TlsOptions;
use connector::{Backend, EarlyHello, FailureSlot, GatewayTlsConnector, GatewayTlsStream};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, Read, Write};
use std::path::Path;
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use suppaftp::types::{FileType, FormatControl};
use suppaftp::{FtpError, ImplFtpStream, Mode, Status};

type FtpStream = ImplFtpStream<GatewayTlsStream>;

/// The size of the one buffer a transfer streams through.
const TRANSFER_BUFFER: usize = 64 * 1024;

/// The largest listing read: `out` with 100,000 files is about 8 MiB of `ls -l` lines. More is a broken or
/// hostile server, which must not fill the memory.
const MAX_LISTING_BYTES: u64 = 32 * 1024 * 1024;

/// How long the reply to a transfer broken off after a failure is awaited (at most the I/O time-out).
const BROKEN_TRANSFER_REPLY_WAIT: Duration = Duration::from_secs(5);

/// The longest listing line kept: a name of 255 bytes with its facts or `ls -l` columns is far below it.
const MAX_LISTING_LINE: usize = 16 * 1024;

/// How to log in.
#[derive(Clone, Debug)]
pub enum Login {
    /// The new gateway: the certificate *and* a user name + password. The user name is derived from the
    /// certificate unless given here.
    Password { username: Option<String>, password: Secret },
    /// The legacy gateway: the certificate alone identifies the client; the user name is the given one, else
    /// the certificate's, else `anonymous`, and the password is a placeholder.
    CertificateOnly { username: Option<String> },
}

impl Login {
    /// Password login with the user name derived from the certificate.
    pub fn password(password: impl Into<Secret>) -> Self {
        Login::Password { username: None, password: password.into() }
    }
}

/// Time limits for the network steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening a TCP connection (control or data).
    pub connect: Duration,
    /// Waiting for any single read or write on the control or a data connection (server reply, data).
    pub io: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { connect: Duration::from_secs(20), io: Duration::from_secs(60) }
    }
}

/// Everything a session needs to connect.
#[derive(Clone)]
pub struct SessionConfig {
    pub endpoint: Endpoint,
    pub identity: Arc<Identity>,
    pub login: Login,
    pub tls: TlsOptions,
    pub timeouts: Timeouts,
    /// Where the password came from, in words ("the file /etc/skat/pw"): a refused login says it, since a stale
    /// or wrong source is the usual cause. Never the password itself.
    pub password_origin: Option<String>,
}

impl SessionConfig {
    /// A configuration with the system's trust roots, TLS 1.2 only and default time-outs.
    pub fn new(endpoint: Endpoint, identity: Arc<Identity>, login: Login) -> Self {
        SessionConfig { endpoint, identity, login, tls: TlsOptions::default(), timeouts: Timeouts::default(), password_origin: None }
    }

    pub fn with_tls(mut self, tls: TlsOptions) -> Self {
        self.tls = tls;
        self
    }

    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    pub fn with_password_origin(mut self, origin: Option<String>) -> Self {
        self.password_origin = origin;
        self
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("endpoint", &self.endpoint)
            .field("login", &self.login)
            .field("tls", &self.tls)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

/// How file contents travel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TransferType {
    /// Bytes unchanged (`TYPE I`): the default, right for XML.
    #[default]
    Binary,
    /// Text with CRLF line ends on the wire (`TYPE A`): some eKapital services insist on it
    /// (`FILE_NOT_UPLOADED_IN_ASCII_MODE`). Uploads turn bare LF into CRLF; downloads turn CRLF into the local
    /// line end.
    Ascii,
}

/// Where the login user name came from: error messages say it, because a wrongly derived name is the most
/// likely cause of a refused login with a correct password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsernameSource {
    Certificate,
    Given,
    Anonymous,
}

/// Which step of the work failed: part of every network error message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    ControlConnect,
    Greeting,
    TlsHandshake,
    Login,
    Command,
    DataConnection,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::ControlConnect => "control connection",
            Phase::Greeting => "greeting",
            Phase::TlsHandshake => "TLS handshake",
            Phase::Login => "login",
            Phase::Command => "command",
            Phase::DataConnection => "data connection",
        })
    }
}

/// A logged-in FTPS session with the gateway. Blocking; one operation at a time; `Send`, so it can move to
/// another thread. Dropping it sends `QUIT` (best effort); call [`Session::quit`] to see the result.
pub struct Session {
    ftp: Option<FtpStream>,
    endpoint: Endpoint,
    username: String,
    username_source: UsernameSource,
    password_origin: Option<String>,
    failures: FailureSlot,
    last_data_address: Arc<Mutex<Option<SocketAddr>>>,
    /// Whether the current operation reached the server's data port: a 425 reply after that is not a firewall.
    data_port_reached: Arc<AtomicBool>,
    /// Shared with the data-socket builder and the TLS connector (`None` with the OpenSSL backend).
    early_hello: Option<EarlyHello>,
    transfer_type: Option<TransferType>,
    mlsd: Option<bool>,
    timeouts: Timeouts,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("endpoint", &self.endpoint)
            .field("username", &self.username)
            .field("username_source", &self.username_source)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Connects, secures the control connection (explicit FTPS: `AUTH TLS`), logs in, sets `PBSZ 0` /
    /// `PROT P` and binary transfers.
    ///
    /// A certificate that has expired or is not valid yet is refused here, with its dates and what to do,
    /// before anything is sent: the server would only break off the handshake with a bare TLS alert.
    pub fn connect(config: &SessionConfig) -> Result<Session> {
        config.identity.ensure_currently_valid()?;
        let endpoint = config.endpoint.clone();
        let (username, username_source, password) = login_credentials(config)?;
        let backend = tls_backend(config)?;

        let control = open_control_connection(&endpoint, config.timeouts)?;
        let peer = control.peer_addr().map_err(|e| network_error(&e, &endpoint.to_string(), Phase::ControlConnect))?;
        let failures = FailureSlot::default();
        let last_data_address = Arc::new(Mutex::new(None));
        let data_port_reached = Arc::new(AtomicBool::new(false));

        let mut ftp = FtpStream::connect_with_stream(control)
            .map_err(|e| classify(e, &failures, &endpoint, Phase::Greeting, None))?;
        if let Some(welcome) = ftp.get_welcome_msg() {
            log::debug!("{endpoint} greets: {}", printable_reply(welcome.as_bytes()));
        }
        // PASV answers with an IPv4 address only; on IPv6 EPSV (port only) is the way.
        ftp.set_mode(if peer.is_ipv6() { Mode::ExtendedPassive } else { Mode::Passive });
        // Belt and braces with the builder below: the 227 reply's address is never used.
        ftp.set_passive_nat_workaround(true);
        let early_hello = EarlyHello::for_backend(&backend, endpoint.host(), config.tls.allow_tls13);
        let ftp = ftp.passive_stream_builder(data_socket_builder(
            peer.ip(),
            endpoint.data_ports().cloned(),
            config.timeouts,
            failures.clone(),
            Arc::clone(&last_data_address),
            Arc::clone(&data_port_reached),
            early_hello.clone(),
        ));

        let connector = GatewayTlsConnector::new(
            backend,
            endpoint.to_string(),
            endpoint.generation() == Generation::Legacy,
            failures.clone(),
            early_hello.clone(),
        );
        let mut ftp = ftp
            .into_secure(connector, endpoint.host())
            .map_err(|e| classify(e, &failures, &endpoint, Phase::TlsHandshake, None))?;

        log::info!("logging in to {endpoint} as {username}");
        without_debug_logging(|| login(&mut ftp, &username, &password)).map_err(|e| {
            let error = classify(e, &failures, &endpoint, Phase::Login, None);
            if error.kind() == ErrorKind::Authentication {
                login_refused(error, &endpoint, &username, username_source, config.password_origin.as_deref())
            } else {
                error
            }
        })?;

        let mut session = Session {
            ftp: Some(ftp),
            endpoint,
            username,
            username_source,
            password_origin: config.password_origin.clone(),
            failures,
            last_data_address,
            data_port_reached,
            early_hello,
            transfer_type: None,
            mlsd: None,
            timeouts: config.timeouts,
        };
        session.set_transfer_type(TransferType::Binary)?;
        Ok(session)
    }

    /// The user name this session logged in with.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Whether the user name was derived from the certificate, given explicitly, or anonymous.
    pub fn username_source(&self) -> UsernameSource {
        self.username_source
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The address the last passive data connection went to (for diagnostics and tests).
    pub fn last_data_address(&self) -> Option<SocketAddr> {
        self.last_data_address.lock().ok().and_then(|a| *a)
    }

    /// How many of this session's data connections sent their TLS hello before the transfer command, saving a
    /// round trip each (for diagnostics and tests; always 0 with the legacy gateway's OpenSSL backend and when
    /// TLS 1.3 is allowed).
    pub fn early_tls_hellos(&self) -> u64 {
        self.early_hello.as_ref().map_or(0, EarlyHello::used)
    }

    /// Lists a folder (`None`: the current one). Uses MLSD when the server offers it, else LIST; lines that
    /// cannot be parsed are logged and skipped, and if LIST yields nothing usable NLST is tried.
    pub fn list(&mut self, path: Option<&str>) -> Result<Vec<RemoteEntry>> {
        let what = path.unwrap_or(".");
        if self.mlsd.is_none() {
            let features = self.ftp()?.feat().ok();
            self.mlsd = Some(features.is_some_and(|f| f.keys().any(|k| k.eq_ignore_ascii_case("MLST"))));
        }
        if self.mlsd == Some(true) {
            let lines = self.listing_lines("MLSD", path)?;
            let mut entries = Vec::with_capacity(lines.len());
            for line in &lines {
                match parse_mlsd_line(line) {
                    Some(entry) => entries.push(entry),
                    None if line.trim().is_empty() || is_mlsd_self_or_parent(line) => {}
                    // A name holding a line break arrives as two lines, the second without facts; a name
                    // with a folder part or a control character is refused by the parser.
                    None => log::warn!(
                        "{}: cannot use the listing line {line:?} of {what} (a name with a path separator, a \
                         control character or a line break?); skipping it",
                        self.endpoint
                    ),
                }
            }
            return Ok(entries);
        }
        let lines = self.listing_lines("LIST", path)?;
        let mut entries = Vec::with_capacity(lines.len());
        let mut unparsed = 0;
        for line in &lines {
            match parse_list_line(line) {
                Some(entry) => entries.push(entry),
                None if line.trim_start().starts_with("total ") => {}
                None => {
                    unparsed += 1;
                    log::warn!("{}: cannot parse the listing line {line:?} of {what}; skipping it", self.endpoint);
                }
            }
        }
        if entries.is_empty() && unparsed > 0 {
            let names = self.listing_lines("NLST", path)?;
            return Ok(names.iter().filter_map(|l| parse_nlst_line(l)).collect());
        }
        Ok(entries)
    }

    /// The lines of a listing (`MLSD`, `LIST` or `NLST` of `path`), read with bounded memory: a line longer
    /// than [`MAX_LISTING_LINE`] is skipped with a warning (no file name is that long), and a listing larger
    /// than [`MAX_LISTING_BYTES`] is broken off with an error. suppaftp's own listing calls keep whatever the
    /// server sends, so a broken or hostile server could fill the memory with an endless listing.
    fn listing_lines(&mut self, command: &str, path: Option<&str>) -> Result<Vec<String>> {
        let what = path.unwrap_or(".");
        let full = path.map_or_else(|| command.to_owned(), |p| format!("{command} {p}"));
        let stream = self.with_ftp(Phase::DataConnection, Some(what), |ftp| {
            ftp.custom_data_command(full, &[Status::AboutToSend, Status::AlreadyOpen]).map(|(_, stream)| stream)
        })?;
        let mut reader = io::BufReader::with_capacity(TRANSFER_BUFFER, stream);
        let mut lines = Vec::new();
        let mut line = Vec::new();
        let mut total = 0u64;
        let read: io::Result<bool> = (|| loop {
            line.clear();
            let n = (&mut reader).take(MAX_LISTING_LINE as u64 + 1).read_until(b'\n', &mut line)?;
            if n == 0 {
                return Ok(true);
            }
            total += n as u64;
            if total > MAX_LISTING_BYTES {
                return Ok(false);
            }
            if line.len() > MAX_LISTING_LINE && !line.ends_with(b"\n") {
                // Skip the rest of the line, counting it, without keeping it.
                let mut skipped = 0u64;
                loop {
                    let buffer = reader.fill_buf()?;
                    if buffer.is_empty() {
                        break;
                    }
                    let (used, done) = match buffer.iter().position(|&b| b == b'\n') {
                        Some(at) => (at + 1, true),
                        None => (buffer.len(), false),
                    };
                    reader.consume(used);
                    skipped += used as u64;
                    total += used as u64;
                    if total > MAX_LISTING_BYTES {
                        return Ok(false);
                    }
                    if done {
                        break;
                    }
                }
                log::warn!(
                    "{}: skipping a line of {} bytes in the listing of {what} (no file name is that long)",
                    self.endpoint,
                    line.len() as u64 + skipped
                );
                continue;
            }
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if !text.is_empty() {
                lines.push(String::from_utf8_lossy(text).into_owned());
            }
        })();
        let stream = reader.into_inner();
        match read {
            Ok(true) => {}
            // TLS ended without close_notify: the transfer reply says whether the listing was complete.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {}
            Err(network) => {
                let reply = stream.finish().err();
                return Err(self.transfer_failure(reply, network, what, "listing"));
            }
            Ok(false) => {
                // Break the data connection off and give up the session: after this much, its replies
                // cannot be trusted to be in step, and the next operation connects afresh.
                let _ = stream.get_ref().get_ref().shutdown(std::net::Shutdown::Both);
                if let Some(ftp) = self.ftp.as_mut() {
                    let _ = ftp.get_ref().set_read_timeout(Some(self.timeouts.io.min(Duration::from_secs(3))));
                }
                let _ = stream.finish();
                self.ftp = None;
                return Err(Error::new(
                    ErrorKind::UnexpectedReply,
                    format!(
                        "{}: the listing of {what} is larger than {} MiB; it was broken off and the session closed. \
                         A folder of the gateway never holds that much: the server is broken, or it is not the \
                         gateway (check host and port)",
                        self.endpoint,
                        MAX_LISTING_BYTES / (1024 * 1024)
                    ),
                ));
            }
        }
        stream.finish().map_err(|e| self.fail(e, Phase::DataConnection, Some(what)))?;
        Ok(lines)
    }

    /// Uploads everything `reader` yields to `remote`, streaming through one fixed-size buffer. Returns the
    /// number of bytes read from `reader`. `progress` is called with the running total after each block.
    pub fn put(
        &mut self,
        reader: &mut dyn Read,
        remote: &str,
        transfer_type: TransferType,
        mut progress: Option<&mut dyn FnMut(u64)>,
    ) -> Result<u64> {
        check_remote_path(remote)?;
        self.set_transfer_type(transfer_type)?;
        let mut stream = self.with_ftp(Phase::DataConnection, Some(remote), |ftp| ftp.put_with_stream(remote))?;
        let mut buffer = vec![0u8; TRANSFER_BUFFER];
        let mut crlf = CrlfEncoder::default();
        let mut total = 0u64;
        let sent: std::result::Result<(), (bool, io::Error)> = (|| {
            loop {
                let n = match reader.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err((true, e)),
                };
                let result = match transfer_type {
                    TransferType::Binary => stream.write_all(&buffer[..n]),
                    TransferType::Ascii => crlf.write(&buffer[..n], &mut stream),
                };
                result.map_err(|e| (false, e))?;
                total += n as u64;
                if let Some(report) = progress.as_mut() {
                    report(total);
                }
            }
            stream.flush().map_err(|e| (false, e))
        })();
        // The local data ran out early: closing the data connection normally (TLS close_notify) would tell
        // the server the file is complete, and the gateway processes a complete file at once. Or the network
        // failed (a stalled server): every step of a normal close would wait the full time-out again. Either
        // way the connection is broken off, so the server sees an aborted transfer and keeps nothing.
        let broken = sent.is_err();
        if broken {
            let _ = stream.get_ref().get_ref().shutdown(std::net::Shutdown::Both);
        }
        // Always end the transfer: the server's reply tells whether the file arrived (or why not).
        let finished = self.with_reply_wait(broken, || stream.finish());
        match sent {
            Err((true, local)) => {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!(
                        "reading the local data for {remote} failed after {total} bytes: {local}; the transfer was \
                         broken off so that the server keeps no partial file (the server said: {})",
                        match &finished {
                            Ok(()) => "226, it may have kept the part sent: check the folder".to_string(),
                            Err(e) => e.to_string(),
                        }
                    ),
                )
                .with_source(local))
            }
            Err((false, network)) => {
                return Err(self.transfer_failure(finished.err(), network, remote, "upload"));
            }
            Ok(()) => {}
        }
        finished.map_err(|e| self.fail(e, Phase::DataConnection, Some(remote)))?;
        log::info!("uploaded {total} bytes to {remote}");
        Ok(total)
    }

    /// Downloads `remote` into `writer`, streaming through one fixed-size buffer. Returns the number of bytes
    /// written. `progress` is called with the running total after each block.
    pub fn get(
        &mut self,
        remote: &str,
        writer: &mut dyn Write,
        transfer_type: TransferType,
        mut progress: Option<&mut dyn FnMut(u64)>,
    ) -> Result<u64> {
        check_remote_path(remote)?;
        self.set_transfer_type(transfer_type)?;
        let mut stream = self.with_ftp(Phase::DataConnection, Some(remote), |ftp| ftp.retr_as_stream(remote))?;
        let mut buffer = vec![0u8; TRANSFER_BUFFER];
        let mut lf = CrlfDecoder::default();
        let mut total = 0u64;
        let received: std::result::Result<(), (bool, io::Error)> = (|| {
            loop {
                let n = match stream.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    // A server that closes the data connection without TLS close_notify: the end of the data
                    // is then confirmed (or not) by the server's transfer reply, checked below.
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                        log::debug!("{remote}: data connection closed without TLS close_notify");
                        break;
                    }
                    Err(e) => return Err((false, e)),
                };
                let written = match transfer_type {
                    TransferType::Binary => writer.write_all(&buffer[..n]).map(|()| n),
                    TransferType::Ascii => lf.write(&buffer[..n], writer),
                };
                total += written.map_err(|e| (true, e))? as u64;
                if let Some(report) = progress.as_mut() {
                    report(total);
                }
            }
            if transfer_type == TransferType::Ascii {
                total += lf.finish(writer).map_err(|e| (true, e))? as u64;
            }
            writer.flush().map_err(|e| (true, e))
        })();
        // A failed network read (a stalled server): break the connection off rather than wait again for each
        // step of a normal close.
        let broken = matches!(received, Err((false, _)));
        if broken {
            let _ = stream.get_ref().get_ref().shutdown(std::net::Shutdown::Both);
        }
        let finished = self.with_reply_wait(broken, || stream.finish());
        match received {
            Err((true, local)) => {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!(
                        "writing the local copy of {remote} failed after {total} bytes: {local}; check the free space and \
                         permissions of the folder it goes to (nothing was deleted on the server)"
                    ),
                )
                .with_source(local))
            }
            Err((false, network)) => return Err(self.transfer_failure(finished.err(), network, remote, "download")),
            Ok(()) => {}
        }
        finished.map_err(|e| self.fail(e, Phase::DataConnection, Some(remote)))?;
        log::info!("downloaded {total} bytes from {remote}");
        Ok(total)
    }

    /// Uploads the local file `local` to `remote`. Returns the bytes sent.
    pub fn upload_file(
        &mut self,
        local: &Path,
        remote: &str,
        transfer_type: TransferType,
        progress: Option<&mut dyn FnMut(u64)>,
    ) -> Result<u64> {
        let mut file = File::open(local).map_err(|e| {
            Error::new(ErrorKind::Io, format!("cannot open {} for upload: {e}", local.display())).with_source(e)
        })?;
        // A folder opens like a file on Unix and fails only on the first read, after the server has created
        // the remote file: on the gateway, a name used up by an empty upload.
        if file.metadata().is_ok_and(|m| !m.is_file()) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("{} is not a regular file (a folder?): give the file to upload", local.display()),
            ));
        }
        self.put(&mut file, remote, transfer_type, progress)
    }

    /// Downloads `remote` to the local file `local`, never leaving a partial file under that name: the data
    /// goes to a temporary file beside it, which is renamed over `local` only once the server has confirmed
    /// the transfer (an existing `local` is replaced then). With [`Durability::Synced`] the file is on disk
    /// when this returns, so the remote copy may be deleted. Returns the bytes written.
    ///
    /// What is not a regular file is written through, never replaced: a device (`/dev/null`), a named pipe or
    /// a socket gets the data as it comes; a symbolic link stays, and the file it points to is replaced.
    pub fn download_file(
        &mut self,
        remote: &str,
        local: &Path,
        transfer_type: TransferType,
        durability: Durability,
        progress: Option<&mut dyn FnMut(u64)>,
    ) -> Result<u64> {
        let target = match std::fs::metadata(local) {
            Ok(meta) if meta.is_dir() => {
                return Err(Error::new(ErrorKind::InvalidArgument, format!("{} is a folder; give a file name to download to", local.display())))
            }
            Ok(meta) if !meta.is_file() => {
                let cannot = |e: io::Error| {
                    Error::new(ErrorKind::Io, format!("cannot open {} for writing: {e}", local.display())).with_source(e)
                };
                let mut device = std::fs::OpenOptions::new().write(true).open(local).map_err(cannot)?;
                return self.get(remote, &mut device, transfer_type, progress);
            }
            Ok(_) if local.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink()) => std::fs::canonicalize(local)
                .map_err(|e| Error::new(ErrorKind::Io, format!("cannot follow the link {}: {e}", local.display())).with_source(e))?,
            _ => local.to_path_buf(),
        };
        let local = target.as_path();
        // What downloads killed here earlier left behind (a killed process removes nothing).
        if let Some(folder) = local.parent() {
            let folder = if folder.as_os_str().is_empty() { Path::new(".") } else { folder };
            crate::durable::remove_abandoned_partials(folder, crate::durable::ABANDONED_AGE);
        }
        let mut partial = PartialFile::beside(local)?;
        let mut writer = io::BufWriter::with_capacity(TRANSFER_BUFFER, &mut partial);
        let received = self.get(remote, &mut writer, transfer_type, progress)?;
        drop(writer);
        partial.persist(local, durability)?;
        Ok(received)
    }

    /// The size of a remote file in bytes (`SIZE`, in binary mode).
    pub fn size(&mut self, remote: &str) -> Result<u64> {
        check_remote_path(remote)?;
        self.set_transfer_type(TransferType::Binary)?;
        self.with_ftp(Phase::Command, Some(remote), |ftp| ftp.size(remote)).map(|n| n as u64)
    }

    /// Deletes a remote file.
    pub fn delete(&mut self, remote: &str) -> Result<()> {
        check_remote_path(remote)?;
        self.with_ftp(Phase::Command, Some(remote), |ftp| ftp.rm(remote))
    }

    /// Renames (moves) a remote file.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        check_remote_path(from)?;
        check_remote_path(to)?;
        self.with_ftp(Phase::Command, Some(from), |ftp| ftp.rename(from, to))
    }

    /// Changes the current remote folder.
    pub fn cwd(&mut self, path: &str) -> Result<()> {
        check_remote_path(path)?;
        self.with_ftp(Phase::Command, Some(path), |ftp| ftp.cwd(path))
    }

    /// The current remote folder.
    pub fn pwd(&mut self) -> Result<String> {
        self.with_ftp(Phase::Command, None, |ftp| ftp.pwd())
    }

    /// Keeps the session alive (`NOOP`).
    pub fn noop(&mut self) -> Result<()> {
        self.with_ftp(Phase::Command, None, |ftp| ftp.noop())
    }

    /// Ends the session cleanly (`QUIT`) and closes the connection.
    pub fn quit(mut self) -> Result<()> {
        let Some(mut ftp) = self.ftp.take() else { return Ok(()) };
        ftp.quit().map_err(|e| classify(e, &self.failures, &self.endpoint, Phase::Command, None))
    }

    fn ftp(&mut self) -> Result<&mut FtpStream> {
        let endpoint = &self.endpoint;
        self.ftp.as_mut().ok_or_else(|| {
            Error::new(ErrorKind::ConnectionLost, format!("the session with {endpoint} is closed (quit, or given up after a failure); connect again"))
        })
    }

    fn with_ftp<T>(
        &mut self,
        phase: Phase,
        path: Option<&str>,
        op: impl FnOnce(&mut FtpStream) -> suppaftp::FtpResult<T>,
    ) -> Result<T> {
        self.data_port_reached.store(false, Ordering::Relaxed);
        let result = op(self.ftp()?);
        if matches!(&result, Err(e) if is_reply_too_large(e)) {
            // suppaftp leaves such a reply half read: the connection is out of step for good.
            self.ftp = None;
        }
        result.map_err(|e| self.fail(e, phase, path))
    }

    fn fail(&self, error: FtpError, phase: Phase, path: Option<&str>) -> Error {
        let error = classify(error, &self.failures, &self.endpoint, phase, path);
        if error.kind() == ErrorKind::Authentication {
            return login_refused(error, &self.endpoint, &self.username, self.username_source, self.password_origin.as_deref());
        }
        let reply_425 = error.server_reply().filter(|r| r.code == 425).cloned();
        if let Some(reply) = reply_425.filter(|_| self.data_port_reached.load(Ordering::Relaxed)) {
            return data_connection_refused(error, &self.endpoint, path, reply.code, &reply.text);
        }
        error
    }

    /// A transfer whose data connection failed: the server's reply (e.g. 522, 426) explains it better than the
    /// socket error, so it wins when there is one.
    fn transfer_failure(&self, reply: Option<FtpError>, network: io::Error, remote: &str, what: &str) -> Error {
        if let Some(reply @ FtpError::UnexpectedResponse(_)) = reply {
            return self.fail(reply, Phase::DataConnection, Some(remote));
        }
        if let Some(tls) = network.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            return crate::tls::describe_tls_error(tls, &self.endpoint.to_string(), None, self.endpoint.generation() == Generation::Legacy)
                .context(format!("{what} of {remote}: data connection"));
        }
        network_error(&network, &self.endpoint.to_string(), Phase::DataConnection)
            .context(format!("{what} of {remote}"))
            .with_source(network)
    }

    /// Runs `finish` (which reads a transfer's reply); after a broken-off transfer with a shorter wait for that
    /// reply, since a server that is alive answers an aborted transfer at once and one that stalled will not.
    fn with_reply_wait<T>(&mut self, broken: bool, finish: impl FnOnce() -> T) -> T {
        let short = self.timeouts.io.min(BROKEN_TRANSFER_REPLY_WAIT);
        let control = self.ftp.as_ref().filter(|_| broken && short < self.timeouts.io).map(|ftp| ftp.get_ref());
        if let Some(control) = control {
            let _ = control.set_read_timeout(Some(short));
        }
        let result = finish();
        if let Some(control) = self.ftp.as_ref().filter(|_| broken && short < self.timeouts.io).map(|ftp| ftp.get_ref()) {
            let _ = control.set_read_timeout(Some(self.timeouts.io));
        }
        result
    }

    fn set_transfer_type(&mut self, transfer_type: TransferType) -> Result<()> {
        if self.transfer_type == Some(transfer_type) {
            return Ok(());
        }
        let file_type = match transfer_type {
            TransferType::Binary => FileType::Binary,
            TransferType::Ascii => FileType::Ascii(FormatControl::Default),
        };
        self.with_ftp(Phase::Command, None, |ftp| ftp.transfer_type(file_type))?;
        self.transfer_type = Some(transfer_type);
        Ok(())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(mut ftp) = self.ftp.take() {
            // Best effort: a short wait, as nobody can act on the answer.
            let short = Some(self.timeouts.io.min(Duration::from_secs(3)));
            let _ = ftp.get_ref().set_read_timeout(short);
            if let Err(e) = ftp.quit() {
                log::debug!("QUIT on closing the session with {} failed: {e}", self.endpoint);
            }
        }
    }
}

/// `USER`, then `PASS` if the server asks for it. Unlike suppaftp's `login`, this accepts `232` (RFC 4217: logged
/// in on the strength of the TLS client certificate), which is how a server answers a certificate-only login
/// such as the legacy gateway's, and `202` to `PASS` (no password needed).
fn login(ftp: &mut FtpStream, username: &str, password: &Secret) -> suppaftp::FtpResult<()> {
    const LOGGED_IN_BY_CERTIFICATE: u32 = 232;
    let reply = ftp.custom_command(
        format!("USER {username}"),
        &[Status::LoggedIn, Status::NeedPassword, Status::from(LOGGED_IN_BY_CERTIFICATE)],
    )?;
    if reply.status == Status::NeedPassword {
        ftp.custom_command(
            format!("PASS {}", password.expose()),
            &[Status::LoggedIn, Status::CommandNotImplemented, Status::from(LOGGED_IN_BY_CERTIFICATE)],
        )?;
    }
    Ok(())
}

/// Runs `f` with debug and trace logging switched off process-wide: suppaftp logs every command it sends (at
/// trace level, and custom commands again at debug level), `PASS <password>` included, and a password must
/// never reach a log. Sessions serialise on a lock so that the level they restore is the one that was set
/// before any of them lowered it.
fn without_debug_logging<T>(f: impl FnOnce() -> T) -> T {
    static QUIET: Mutex<()> = Mutex::new(());
    let _serialised = QUIET.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let before = log::max_level();
    if before > log::LevelFilter::Info {
        log::set_max_level(log::LevelFilter::Info);
    }
    let result = f();
    if before > log::LevelFilter::Info {
        log::set_max_level(before);
    }
    result
}

/// The user name, where it came from, and the password to send.
fn login_credentials(config: &SessionConfig) -> Result<(String, UsernameSource, Secret)> {
    let given = |name: &Option<String>| -> Result<Option<String>> {
        match name {
            Some(name) if name.trim().is_empty() || name.contains(['\r', '\n']) => Err(Error::new(
                ErrorKind::InvalidArgument,
                "the user name is empty or contains a line break; give the gateway user name, e.g. CVR_12345678_UID_9876543210",
            )),
            Some(name) => Ok(Some(name.trim().to_owned())),
            None => Ok(None),
        }
    };
    match &config.login {
        Login::Password { username, password } => {
            if password.expose().contains(['\r', '\n']) {
                return Err(Error::new(ErrorKind::InvalidArgument, "the password contains a line break; check the password file"));
            }
            if password.expose().is_empty() {
                // Sent, it would be refused and count towards locking the account.
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "the gateway password{} is empty; nothing was sent. Give the password the agency assigned",
                        config.password_origin.as_deref().map(|o| format!(" from {o}")).unwrap_or_default()
                    ),
                ));
            }
            match given(username)? {
                Some(name) => Ok((name, UsernameSource::Given, password.clone())),
                None => {
                    let name = config.identity.username().map_err(|e| {
                        e.context("cannot derive the gateway user name from the certificate; give it explicitly (--username)")
                    })?;
                    Ok((name, UsernameSource::Certificate, password.clone()))
                }
            }
        }
        Login::CertificateOnly { username } => {
            let placeholder = Secret::new("skat-gateway");
            if let Some(name) = given(username)? {
                return Ok((name, UsernameSource::Given, placeholder));
            }
            match config.identity.username() {
                Ok(name) => Ok((name, UsernameSource::Certificate, placeholder)),
                Err(_) => Ok(("anonymous".to_owned(), UsernameSource::Anonymous, placeholder)),
            }
        }
    }
}

/// Picks the TLS backend: rustls always for the new gateway; OpenSSL for the legacy gateway when the
/// `legacy-tls` feature is built in (the legacy gateway speaks TLS 1.0, which rustls does not implement).
fn tls_backend(config: &SessionConfig) -> Result<Backend> {
    #[cfg(feature = "legacy-tls")]
    if config.endpoint.generation() == Generation::Legacy {
        return Ok(Backend::OpenSsl(legacy::LegacyTls::new(&config.identity, &config.tls)?));
    }
    Ok(Backend::Rustls(crate::tls::client_config(&config.identity, &config.tls)?))
}

fn open_control_connection(endpoint: &Endpoint, timeouts: Timeouts) -> Result<TcpStream> {
    let server = endpoint.to_string();
    let addresses: Vec<SocketAddr> = (endpoint.host(), endpoint.port())
        .to_socket_addrs()
        .map_err(|e| {
            Error::new(
                ErrorKind::HostNotFound,
                format!("cannot resolve the host {} ({e}); check the host name and this machine's DNS", endpoint.host()),
            )
            .with_source(e)
        })?
        .collect();
    if addresses.is_empty() {
        return Err(Error::new(ErrorKind::HostNotFound, format!("the host {} has no address", endpoint.host())));
    }
    let mut last_error = None;
    for address in &addresses {
        match TcpStream::connect_timeout(address, timeouts.connect) {
            Ok(stream) => {
                configure_socket(&stream, timeouts).map_err(|e| network_error(&e, &server, Phase::ControlConnect))?;
                log::debug!("connected to {server} ({address})");
                return Ok(stream);
            }
            Err(e) => {
                log::debug!("connecting to {address} failed: {e}");
                last_error = Some(e);
            }
        }
    }
    let error = last_error.unwrap_or_else(|| io::Error::other("no address to connect to"));
    Err(network_error(&error, &server, Phase::ControlConnect).with_source(error))
}

fn configure_socket(stream: &TcpStream, timeouts: Timeouts) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(timeouts.io))?;
    stream.set_write_timeout(Some(timeouts.io))
}

/// Opens passive data connections ourselves: to the control connection's peer (whatever address the 227
/// reply names), with a connect time-out, TCP_NODELAY and read/write time-outs.
fn data_socket_builder(
    peer: IpAddr,
    expected_ports: Option<std::ops::RangeInclusive<u16>>,
    timeouts: Timeouts,
    failures: FailureSlot,
    last_address: Arc<Mutex<Option<SocketAddr>>>,
    port_reached: Arc<AtomicBool>,
    early_hello: Option<EarlyHello>,
) -> impl Fn(SocketAddr) -> suppaftp::FtpResult<TcpStream> + Send + Sync + 'static {
    move |offered: SocketAddr| {
        let target = SocketAddr::new(peer, offered.port());
        if offered.ip() != peer {
            log::debug!("the server named {} for the data connection; using the control peer {peer} instead", offered.ip());
        }
        if let Some(range) = &expected_ports {
            if !range.contains(&offered.port()) {
                log::warn!(
                    "the server chose data port {} outside the expected range {}-{}; a firewall that only opens \
                     that range will block it",
                    offered.port(),
                    range.start(),
                    range.end()
                );
            }
        }
        if let Ok(mut slot) = last_address.lock() {
            *slot = Some(target);
        }
        let connected = TcpStream::connect_timeout(&target, timeouts.connect).and_then(|stream| {
            port_reached.store(true, Ordering::Relaxed);
            configure_socket(&stream, timeouts)?;
            if let Some(early) = &early_hello {
                early.send(&stream)?;
            }
            Ok(stream)
        });
        connected.map_err(|e| {
            let mut error = network_error(&e, &target.to_string(), Phase::DataConnection);
            if matches!(error.kind(), ErrorKind::Timeout | ErrorKind::ConnectionRefused) {
                error = error.context(format!(
                    "passive data port {} not reachable (a firewall must allow outgoing connections to the gateway's data ports)",
                    target.port()
                ));
            }
            failures.record(error);
            FtpError::ConnectionError(e)
        })
    }
}

/// A network failure, with the server and the phase.
fn network_error(error: &io::Error, server: &str, phase: Phase) -> Error {
    use io::ErrorKind as K;
    match error.kind() {
        K::ConnectionRefused => Error::new(
            ErrorKind::ConnectionRefused,
            format!("{server} refused the {phase}: nothing listens there; check host and port (new gateway 6381, legacy 6371)"),
        ),
        K::TimedOut | K::WouldBlock => Error::new(
            ErrorKind::Timeout,
            format!("{server} did not answer in time during the {phase}; check the network and firewall, or raise the time-out"),
        ),
        K::NotFound | K::AddrNotAvailable => {
            Error::new(ErrorKind::HostNotFound, format!("cannot reach {server} for the {phase}: {error}"))
        }
        _ => Error::new(ErrorKind::ConnectionLost, format!("the {phase} with {server} broke off: {error}")),
    }
}

/// Maps a suppaftp error to ours: the full error recorded by our hooks first, then the server's reply.
fn classify(error: FtpError, failures: &FailureSlot, endpoint: &Endpoint, phase: Phase, path: Option<&str>) -> Error {
    if let Some(recorded) = failures.take() {
        return recorded;
    }
    let server = endpoint.to_string();
    match error {
        FtpError::UnexpectedResponse(response) => {
            let text = printable_reply(&response.body);
            // The body starts with the code, which is the reliable source: suppaftp's `Status` maps codes it
            // does not know (such as 522) to 0.
            let code = text.get(..3).and_then(|c| c.parse().ok()).unwrap_or_else(|| response.status.code());
            let words = text.get(4..).unwrap_or(&text).trim().to_owned();
            reply_error(code, &words, &server, phase, path).with_reply(code, words)
        }
        FtpError::ConnectionError(io_error) if is_reply_too_large_io(&io_error) => {
            Error::new(
                ErrorKind::UnexpectedReply,
                format!(
                    "{server} sent a reply of more than 256 KiB during the {phase} (no FTP reply is that long); the \
                     session was given up. The server is broken, or it is not the gateway: check host and port"
                ),
            )
            .with_source(io_error)
        }
        FtpError::ConnectionError(io_error) => {
            if let Some(tls) = io_error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                let legacy = endpoint.generation() == Generation::Legacy;
                return crate::tls::describe_tls_error(tls, &server, None, legacy).context(format!("{phase}"));
            }
            let mut error = network_error(&io_error, &server, phase);
            if phase == Phase::Greeting && error.kind() == ErrorKind::Timeout {
                error = Error::new(
                    ErrorKind::Timeout,
                    format!("{server} accepted the connection but sent no FTP greeting in time; is it an FTPS server (explicit, AUTH TLS)?"),
                );
            }
            error.with_source(io_error)
        }
        FtpError::SecureError(text) => Error::new(ErrorKind::Tls, format!("TLS with {server} failed: {text}")),
        FtpError::BadResponse => {
            Error::new(ErrorKind::UnexpectedReply, format!("{server} sent a malformed reply during the {phase}"))
        }
        FtpError::InvalidAddress(e) => {
            Error::new(ErrorKind::UnexpectedReply, format!("{server} sent an invalid address during the {phase}: {e}"))
        }
        FtpError::DataConnectionAlreadyOpen => {
            Error::new(ErrorKind::Internal, "a data connection was still open (a transfer was not finished)")
        }
    }
}

/// Entry points for the fuzz targets in `fuzz/` (built with `--cfg fuzzing`, as `cargo fuzz` does); not API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    use super::*;

    /// What a session makes of a reply it did not expect: `body` as the server sent it (code first), in one
    /// of the phases (`phase` picks one), about `path`.
    pub fn classify_reply(body: &[u8], phase: u8, path: Option<&str>) -> Error {
        let phases =
            [Phase::ControlConnect, Phase::Greeting, Phase::TlsHandshake, Phase::Login, Phase::Command, Phase::DataConnection];
        let phase = phases[usize::from(phase) % phases.len()];
        let status = body.get(..3).and_then(|c| std::str::from_utf8(c).ok()).and_then(|c| c.parse().ok()).unwrap_or(0);
        let response = suppaftp::types::Response::new(Status::from(status), body.to_vec());
        let endpoint = Endpoint::custom("gateway.invalid", 6381);
        classify(FtpError::UnexpectedResponse(response), &FailureSlot::default(), &endpoint, phase, path)
    }
}

fn is_reply_too_large(error: &FtpError) -> bool {
    matches!(error, FtpError::ConnectionError(io) if is_reply_too_large_io(io))
}

fn is_reply_too_large_io(error: &io::Error) -> bool {
    error.get_ref().is_some_and(|inner| inner.is::<suppaftp::ReplyTooLarge>())
}

/// The `.` and `..` entries of an MLSD listing (`type=cdir`, `type=pdir`), which are no files to report.
fn is_mlsd_self_or_parent(line: &str) -> bool {
    let facts = line.split_once(' ').map_or(line, |(facts, _)| facts).to_ascii_lowercase();
    facts.split(';').any(|fact| fact == "type=cdir" || fact == "type=pdir")
}

/// A server's reply text made fit for an error message, a log line or a terminal: the lines of a multi-line
/// reply joined by spaces, and every other control character (an escape sequence, a lone CR) replaced by
/// U+FFFD, so that a hostile server can neither forge log lines nor send escape sequences to a terminal.
fn printable_reply(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::with_capacity(text.len());
    for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(line.chars().map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => char::REPLACEMENT_CHARACTER,
            c => c,
        }));
    }
    out
}

/// The error for an FTP reply code outside the expected ones.
fn reply_error(code: u32, text: &str, server: &str, phase: Phase, path: Option<&str>) -> Error {
    let subject = path.map(|p| format!("{p}: ")).unwrap_or_default();
    let lower = text.to_ascii_lowercase();
    match code {
        530 => Error::new(ErrorKind::Authentication, format!("{server} refused the login ({code} {text})")),
        522 => Error::new(
            ErrorKind::TlsSessionReuseRequired,
            format!(
                "{subject}{server} requires the data connection to resume the control connection's TLS session \
                 ({code} {text}) and this one did not; this client always resumes, so something between here \
                 and the server (a TLS-inspecting proxy) breaks the session; please report it with a -vv log"
            ),
        ),
        534 | 431 if phase == Phase::TlsHandshake => Error::new(
            ErrorKind::Tls,
            format!("{server} refused explicit FTPS (AUTH TLS: {code} {text}); check host and port"),
        ),
        500 | 502 | 504 if phase == Phase::TlsHandshake => Error::new(
            ErrorKind::Tls,
            format!("{server} does not support explicit FTPS (AUTH TLS: {code} {text}); check host and port"),
        ),
        553 => Error::new(
            ErrorKind::PermissionDenied,
            format!("{subject}the server does not allow this name or location ({code} {text}); upload only into a service folder you may use, with a plain file name"),
        ),
        550 | 450 => {
            let denied = ["permission", "denied", "not allowed", "access", "forbidden"].iter().any(|w| lower.contains(w));
            let missing = ["no such", "not found", "not exist", "doesn't exist", "failed to open", "failed to change"]
                .iter()
                .any(|w| lower.contains(w));
            if denied || (!missing && phase == Phase::DataConnection && lower.contains("create")) {
                Error::new(
                    ErrorKind::PermissionDenied,
                    format!("{subject}the server refused the operation ({code} {text}); check that this certificate may use that folder"),
                )
            } else {
                Error::new(
                    ErrorKind::NotFound,
                    format!("{subject}no such file or folder on {server}, or it may not be used ({code} {text}); list the folder to check the name"),
                )
            }
        }
        421 => Error::new(ErrorKind::ConnectionLost, format!("{server} closed the session ({code} {text}); connect again")),
        425 => Error::new(
            ErrorKind::ConnectionLost,
            format!("{subject}{server} could not open the data connection ({code} {text}); a firewall may block the passive data ports"),
        ),
        426 => Error::new(
            ErrorKind::ConnectionLost,
            format!("{subject}the transfer was aborted by {server} ({code} {text}); try again"),
        ),
        452 | 552 => Error::new(
            ErrorKind::UnexpectedReply,
            format!("{subject}{server} has no room for the file ({code} {text}); try later or contact the agency"),
        ),
        _ => Error::new(
            ErrorKind::UnexpectedReply,
            format!("{subject}{server} answered {code} {text} during the {phase}"),
        ),
    }
}

/// A 425 reply although this client reached the data port: not a firewall, but the server refusing the data
/// connection's TLS. ProFTPD says so ("425 Unable to build data connection: Operation not permitted") when the
/// data connection does not resume the control connection's TLS session, where vsftpd says 522.
fn data_connection_refused(error: Error, endpoint: &Endpoint, path: Option<&str>, code: u32, text: &str) -> Error {
    let subject = path.map(|p| format!("{p}: ")).unwrap_or_default();
    Error::new(
        ErrorKind::TlsSessionReuseRequired,
        format!(
            "{subject}{endpoint} refused the data connection after this client had reached its data port ({code} \
             {text}); most likely the server requires the data connection to resume the control connection's TLS \
             session (ProFTPD answers so): this client resumes unless session resumption is turned off in its \
             TLS options, so otherwise something between here and the server (a TLS-inspecting proxy) breaks the \
             session; please report it with a -vv log"
        ),
    )
    .with_reply(code, text.to_owned())
    .with_source(error)
}

fn login_refused(error: Error, endpoint: &Endpoint, username: &str, source: UsernameSource, password_origin: Option<&str>) -> Error {
    let origin = match source {
        UsernameSource::Certificate => "derived from the certificate; if the agency registered another name, give it with --username",
        UsernameSource::Given => "as given; check it against the name the agency registered",
        UsernameSource::Anonymous => "anonymous, as the certificate implies no gateway user name",
    };
    let reply = error.server_reply().map(|r| format!(" ({r})")).unwrap_or_default();
    let mut refined = Error::new(
        ErrorKind::Authentication,
        format!(
            "{endpoint} refused the login as {username} (user name {origin}){reply}; check the password{} and that \
             the certificate is registered with the agency for this user name and environment",
            password_origin.map(|o| format!(" (it came from {o})")).unwrap_or_default()
        ),
    );
    if let Some(r) = error.server_reply() {
        refined = refined.with_reply(r.code, r.text.clone());
    }
    refined.with_source(error)
}

fn check_remote_path(path: &str) -> Result<()> {
    if path.is_empty() || path.contains(['\r', '\n', '\0']) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("the remote path {path:?} is empty or contains a line break or NUL; give a plain path"),
        ));
    }
    Ok(())
}

/// Turns bare LF into CRLF for ASCII uploads, across buffer boundaries.
#[derive(Default)]
struct CrlfEncoder {
    last_was_cr: bool,
    out: Vec<u8>,
}

impl CrlfEncoder {
    fn write(&mut self, data: &[u8], sink: &mut dyn Write) -> io::Result<()> {
        self.out.clear();
        for &byte in data {
            if byte == b'\n' && !self.last_was_cr {
                self.out.push(b'\r');
            }
            self.out.push(byte);
            self.last_was_cr = byte == b'\r';
        }
        sink.write_all(&self.out)
    }
}

/// Turns CRLF into the local line end for ASCII downloads (LF on Unix; unchanged on Windows), across buffer
/// boundaries. Returns the bytes written.
#[derive(Default)]
struct CrlfDecoder {
    pending_cr: bool,
    out: Vec<u8>,
}

impl CrlfDecoder {
    fn write(&mut self, data: &[u8], sink: &mut dyn Write) -> io::Result<usize> {
        if cfg!(windows) {
            sink.write_all(data)?;
            return Ok(data.len());
        }
        self.out.clear();
        for &byte in data {
            if self.pending_cr {
                self.pending_cr = false;
                if byte != b'\n' {
                    self.out.push(b'\r');
                }
            }
            if byte == b'\r' {
                self.pending_cr = true;
            } else {
                self.out.push(byte);
            }
        }
        sink.write_all(&self.out)?;
        Ok(self.out.len())
    }

    fn finish(&mut self, sink: &mut dyn Write) -> io::Result<usize> {
        if std::mem::take(&mut self.pending_cr) {
            sink.write_all(b"\r")?;
            return Ok(1);
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<Session>();
    }

    #[test]
    fn crlf_round_trip_across_buffers() {
        let mut enc = CrlfEncoder::default();
        let mut wire = Vec::new();
        enc.write(b"a\nb\r", &mut wire).unwrap();
        enc.write(b"\nc\n", &mut wire).unwrap();
        assert_eq!(wire, b"a\r\nb\r\nc\r\n");
        let mut dec = CrlfDecoder::default();
        let mut local = Vec::new();
        let mut n = dec.write(&wire[..5], &mut local).unwrap();
        n += dec.write(&wire[5..], &mut local).unwrap();
        n += dec.finish(&mut local).unwrap();
        if !cfg!(windows) {
            assert_eq!(local, b"a\nb\nc\n");
        }
        assert_eq!(n, local.len());
    }

    #[test]
    fn reply_codes_map_to_kinds() {
        let e = reply_error(550, "Failed to open file.", "h:1", Phase::DataConnection, Some("out/x.xml"));
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.message().contains("out/x.xml"));
        let e = reply_error(550, "Permission denied.", "h:1", Phase::DataConnection, Some("in/x.xml"));
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        let e = reply_error(553, "Could not create file.", "h:1", Phase::DataConnection, Some("in/x.xml"));
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        let e = reply_error(522, "SSL connection failed: session reuse required", "h:1", Phase::DataConnection, None);
        assert_eq!(e.kind(), ErrorKind::TlsSessionReuseRequired);
    }

    #[test]
    fn reply_text_in_errors_has_no_control_characters() {
        // Found by fuzzing (fuzz/fuzz_targets/ftp_reply.rs): the reply text went into the message as sent.
        let failures = FailureSlot::default();
        let endpoint = Endpoint::custom("gateway.invalid", 6381);
        let reply = |body: &[u8]| {
            let response = suppaftp::types::Response::new(Status::from(550), body.to_vec());
            classify(FtpError::UnexpectedResponse(response), &failures, &endpoint, Phase::DataConnection, Some("out/a"))
        };
        let e = reply(b"550 No such file\x1b[2J\x1b]0;pwned\x07\r\nINFO forged log line\r\n");
        assert!(!e.message().chars().any(char::is_control), "{:?}", e.message());
        assert!(e.message().contains("No such file\u{fffd}[2J\u{fffd}]0;pwned\u{fffd} INFO forged log line"), "{}", e.message());
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let kept = e.server_reply().unwrap();
        assert_eq!(kept.code, 550);
        assert!(!kept.text.chars().any(char::is_control), "{:?}", kept.text);
        // A multi-line reply reads as one line; the code still comes from the digits the server sent.
        let e = reply(b"550-Permission denied\r\n550 for this folder\r\n");
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert_eq!(e.server_reply().unwrap().text, "Permission denied 550 for this folder");
    }

    #[test]
    fn remote_paths_without_line_breaks() {
        assert!(check_remote_path("out/a.xml").is_ok());
        assert_eq!(check_remote_path("a\r\nDELE b").unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(check_remote_path("").unwrap_err().kind(), ErrorKind::InvalidArgument);
    }
}
