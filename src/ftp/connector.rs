//! The TLS layer under suppaftp: our own `TlsConnector`/`TlsStream` pair.
//!
//! suppaftp's ready-made `RustlsConnector` turns every TLS failure into a string and defers the handshake to
//! the first read. We need more: the control connection's handshake happens right away (so a refused client
//! certificate is reported as a TLS failure, not as a broken `PBSZ`), the rustls error is kept so that the user
//! learns *why* (protocol version, unknown CA, host name, client certificate), and one stream type carries
//! both backends (rustls, and OpenSSL for the legacy gateway with the `legacy-tls` feature) so the session
//! code exists once. Data connections keep the lazy handshake: the server answers a failed data handshake
//! (e.g. `522` for a missing session reuse) on the control connection, which is read when the transfer ends.
//!
//! One step of a data connection's handshake is taken early, though: its ClientHello (see [`EarlyHello`]) is
//! sent as soon as the data socket connects, before the transfer command. Servers start TLS on a data
//! connection after their `150` reply, so the hello then waits in the server's socket buffer and the server's
//! answer follows its `150` at once: one round trip fewer per transfer at internet latency.

use crate::error::{Error, ErrorKind};
use crate::tls::{describe_tls_error, OfferedVersion};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use suppaftp::{FtpError, FtpResult, TlsConnector, TlsStream};

/// Where the hooks that suppaftp calls (TLS connector, passive data-socket builder) leave the full error of
/// a failure, since suppaftp itself only passes a string or a bare `io::Error` on.
#[derive(Clone, Default)]
pub(crate) struct FailureSlot(Arc<Mutex<Option<Error>>>);

impl FailureSlot {
    pub(crate) fn record(&self, error: Error) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(error);
        }
    }

    pub(crate) fn take(&self) -> Option<Error> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// The ClientHello of the next data connection, sent by the passive data-socket builder as soon as the socket
/// connects and picked up by [`GatewayTlsConnector::connect`], which carries on with that connection's
/// handshake on first use as before. Sending it before the transfer command (STOR, RETR, LIST) takes the
/// hello's round trip off the transfer: the server answers it right after its `150`.
///
/// Only the hello is sent early. Nothing is read from the data connection until the transfer uses it, so a
/// command the server refuses costs nothing but a closed socket, and a failed handshake is reported as before.
#[derive(Clone)]
pub(crate) struct EarlyHello {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    sent: Arc<Mutex<Option<SentHello>>>,
    /// How many data connections carried on with an early hello (for tests).
    used: Arc<AtomicU64>,
}

/// A connection whose hello went out, with its socket's addresses, to pair it with the socket suppaftp hands
/// the connector.
struct SentHello {
    local: SocketAddr,
    peer: SocketAddr,
    connection: ClientConnection,
}

impl EarlyHello {
    /// `None` where the hello cannot go early: the OpenSSL backend; a configuration that allows TLS 1.3,
    /// whose session tickets are used up by the creation of a connection (each early hello for a command the
    /// server then refuses would cost one, and a data connection without a ticket to resume is refused by a
    /// server that requires session reuse); or a host name TLS does not accept (the connector reports that
    /// one). TLS 1.2's session is only read when a connection is created, so an early hello costs nothing.
    pub(crate) fn for_backend(backend: &Backend, host: &str, tls13_allowed: bool) -> Option<EarlyHello> {
        match backend {
            Backend::Rustls(config) if !tls13_allowed => Some(EarlyHello {
                config: Arc::clone(config),
                server_name: ServerName::try_from(host.to_owned()).ok()?,
                sent: Arc::default(),
                used: Arc::default(),
            }),
            Backend::Rustls(_) => None,
            #[cfg(feature = "legacy-tls")]
            Backend::OpenSsl(_) => None,
        }
    }

    /// Starts TLS on a freshly connected data socket by sending its ClientHello. When the hello cannot be
    /// made, the socket is left untouched and the connector starts the handshake itself. When the socket
    /// refuses it, that is the data connection's failure, returned so that no transfer command is sent.
    pub(crate) fn send(&self, socket: &TcpStream) -> io::Result<()> {
        // Whatever an earlier data connection left (its command refused) must never meet a later socket.
        if let Ok(mut slot) = self.sent.lock() {
            *slot = None;
        }
        let (Ok(local), Ok(peer)) = (socket.local_addr(), socket.peer_addr()) else {
            return Ok(());
        };
        let mut connection = match ClientConnection::new(Arc::clone(&self.config), self.server_name.clone()) {
            Ok(connection) => connection,
            Err(e) => {
                log::debug!("no early TLS hello on the data connection: {e}");
                return Ok(());
            }
        };
        let mut hello = Vec::new();
        while connection.wants_write() {
            if let Err(e) = connection.write_tls(&mut hello) {
                log::debug!("no early TLS hello on the data connection: {e}");
                return Ok(());
            }
        }
        // A plain `send` of a few hundred bytes into an empty socket buffer, under the socket's write time-out.
        // No SIGPIPE from a socket the server already closed: std sends with MSG_NOSIGNAL on Linux and the BSDs,
        // and sets SO_NOSIGPIPE on the sockets it creates on macOS; Windows has no SIGPIPE.
        let mut writer = socket;
        writer.write_all(&hello).inspect_err(|_| {
            // Part of a hello may have gone out: nothing can carry on from there.
            let _ = socket.shutdown(std::net::Shutdown::Both);
        })?;
        if let Ok(mut slot) = self.sent.lock() {
            *slot = Some(SentHello { local, peer, connection });
        }
        Ok(())
    }

    /// The connection whose hello went out on `socket`, if it did.
    fn take_for(&self, socket: &TcpStream) -> Option<ClientConnection> {
        let sent = self.sent.lock().ok()?.take()?;
        let matches = socket.local_addr().ok() == Some(sent.local) && socket.peer_addr().ok() == Some(sent.peer);
        matches.then(|| {
            self.used.fetch_add(1, Ordering::Relaxed);
            sent.connection
        })
    }

    /// How many data connections so far carried on from an early hello.
    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }
}

/// How TLS is spoken on this session's connections.
pub(crate) enum Backend {
    Rustls(Arc<ClientConfig>),
    #[cfg(feature = "legacy-tls")]
    OpenSsl(super::legacy::LegacyTls),
}

pub(crate) struct GatewayTlsConnector {
    backend: Backend,
    /// host:port, for messages.
    server: String,
    legacy_endpoint: bool,
    failures: FailureSlot,
    /// The first connection secured is the control connection; the later ones are data connections.
    control_secured: AtomicBool,
    early_hello: Option<EarlyHello>,
}

impl GatewayTlsConnector {
    pub(crate) fn new(
        backend: Backend,
        server: String,
        legacy_endpoint: bool,
        failures: FailureSlot,
        early_hello: Option<EarlyHello>,
    ) -> Self {
        GatewayTlsConnector { backend, server, legacy_endpoint, failures, control_secured: AtomicBool::new(false), early_hello }
    }

    fn fail(&self, error: Error) -> FtpError {
        let text = error.message().to_owned();
        self.failures.record(error);
        FtpError::SecureError(text)
    }
}

impl fmt::Debug for GatewayTlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayTlsConnector").field("server", &self.server).finish_non_exhaustive()
    }
}

impl TlsConnector for GatewayTlsConnector {
    type Stream = GatewayTlsStream;

    fn connect(&self, domain: &str, mut socket: TcpStream) -> FtpResult<GatewayTlsStream> {
        let is_control = !self.control_secured.swap(true, Ordering::SeqCst);
        match &self.backend {
            Backend::Rustls(config) => {
                let name = ServerName::try_from(domain.to_owned()).map_err(|e| {
                    self.fail(Error::new(
                        ErrorKind::InvalidArgument,
                        format!("{domain:?} is not a valid host name for TLS ({e})"),
                    ))
                })?;
                let early = if is_control { None } else { self.early_hello.as_ref().and_then(|early| early.take_for(&socket)) };
                let mut connection = match early {
                    Some(connection) => connection,
                    None => ClientConnection::new(Arc::clone(config), name)
                        .map_err(|e| self.fail(Error::new(ErrorKind::Tls, format!("cannot start TLS with {}: {e}", self.server))))?,
                };
                if is_control {
                    let mut sniffer = HelloSniffer { socket: &mut socket, seen: Vec::with_capacity(11) };
                    while connection.is_handshaking() {
                        if let Err(error) = connection.complete_io(&mut sniffer) {
                            let offered = sniffer.offered_version();
                            let hello = sniffer.server_hello_received();
                            return Err(self.fail(describe_handshake_failure(
                                &error,
                                &self.server,
                                offered,
                                hello,
                                self.legacy_endpoint,
                            )));
                        }
                    }
                    if let Some(version) = connection.protocol_version() {
                        log::debug!("TLS with {}: {version:?}, {:?}", self.server, connection.negotiated_cipher_suite().map(|s| s.suite()));
                    }
                } else {
                    log::trace!("data connection TLS to {} (handshake on first use, resuming the session)", self.server);
                }
                let socket = NoSigPipe::new(socket)
                    .map_err(|e| self.fail(Error::new(ErrorKind::Tls, format!("cannot set up the socket to {}: {e}", self.server))))?;
                Ok(GatewayTlsStream { inner: TlsInner::Rustls(Box::new(StreamOwned::new(connection, socket))), shutdown: true })
            }
            #[cfg(feature = "legacy-tls")]
            Backend::OpenSsl(legacy) => {
                let stream = legacy
                    .connect(domain, socket, is_control, &self.server)
                    .map_err(|e| self.fail(e))?;
                Ok(GatewayTlsStream { inner: TlsInner::OpenSsl(Box::new(stream)), shutdown: true })
            }
        }
    }
}

/// Explains a failed control-connection handshake.
pub(crate) fn describe_handshake_failure(
    error: &io::Error,
    server: &str,
    offered: Option<OfferedVersion>,
    server_hello_received: bool,
    legacy: bool,
) -> Error {
    if let Some(tls) = error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        return describe_tls_error(tls, server, offered, legacy);
    }
    let broken_off = matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe
    );
    if broken_off && server_hello_received {
        // The server accepted our hello, then hung up while our certificate flight was on its way. A server that
        // rejects a client certificate sends an alert and closes at once; with our Finished message still
        // unread in its buffer, its kernel answers with a reset that can overtake the alert. So the alert is
        // often lost, and this is what a rejected certificate looks like.
        return Error::new(
            ErrorKind::TlsClientCertificateRejected,
            format!(
                "{server} broke off the TLS handshake after our client certificate was sent ({error}): it most \
                 likely rejected the certificate; check that it is valid and registered with the agency for this \
                 environment, and that the whole chain is in the certificate file"
            ),
        )
        .with_source(io::Error::new(error.kind(), error.to_string()));
    }
    match error.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::new(
            ErrorKind::Timeout,
            format!("the TLS handshake with {server} timed out; the server may not speak FTPS on this port"),
        ),
        _ => Error::new(
            ErrorKind::ConnectionLost,
            format!(
                "{server} closed the connection during the TLS handshake ({error}); it may have refused our TLS \
                 version or our client certificate"
            ),
        ),
    }
    .with_source(io::Error::new(error.kind(), error.to_string()))
}

/// Passes the socket through and keeps the first bytes the server sends: the ServerHello's record header
/// and version, so that a refused version can be named ("the server offered TLS 1.0").
struct HelloSniffer<'a> {
    socket: &'a mut TcpStream,
    seen: Vec<u8>,
}

impl HelloSniffer<'_> {
    fn server_hello_received(&self) -> bool {
        matches!(self.seen.as_slice(), [22, _, _, _, _, 2, ..])
    }

    fn offered_version(&self) -> Option<OfferedVersion> {
        // TLS record: type 22 (handshake), version(2), length(2); handshake: type 2 (ServerHello), length(3),
        // then the server's version (2).
        match self.seen.as_slice() {
            [22, _, _, _, _, 2, _, _, _, major, minor, ..] => Some(OfferedVersion(*major, *minor)),
            // A bare alert record still carries the record version the server speaks.
            [21, major, minor, ..] => Some(OfferedVersion(*major, *minor)),
            _ => None,
        }
    }
}

impl Read for HelloSniffer<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.socket.read(buf)?;
        let room = 11usize.saturating_sub(self.seen.len()).min(n);
        self.seen.extend_from_slice(&buf[..room]);
        Ok(n)
    }
}

impl Write for HelloSniffer<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.socket.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.socket.flush()
    }
}

/// A TCP socket whose writes never raise SIGPIPE.
///
/// Writing to a socket the peer has closed raises SIGPIPE, which kills a process that has not ignored it: a C,
/// .NET or Python program that loads this library keeps the default, and would die silently when the gateway
/// drops a connection mid-transfer. std's `write` passes `MSG_NOSIGNAL`, but `write_vectored` (`writev`, which
/// rustls uses to send its records) cannot; this sends vectored writes with `sendmsg` and `MSG_NOSIGNAL`, so a
/// closed connection is an `EPIPE` error like any other. (macOS has no `MSG_NOSIGNAL`: there the socket gets
/// `SO_NOSIGPIPE`; Windows has no SIGPIPE.)
#[derive(Debug)]
pub struct NoSigPipe(pub(crate) TcpStream);

impl NoSigPipe {
    pub(crate) fn new(socket: TcpStream) -> io::Result<NoSigPipe> {
        #[cfg(any(target_os = "macos", target_os = "ios"))]
        socket2::SockRef::from(&socket).set_nosigpipe(true)?;
        Ok(NoSigPipe(socket))
    }
}

impl Read for NoSigPipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for NoSigPipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // std's write is send(..., MSG_NOSIGNAL) on Linux.
        self.0.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd", target_os = "netbsd", target_os = "openbsd"))]
        {
            socket2::SockRef::from(&self.0).send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd", target_os = "netbsd", target_os = "openbsd")))]
        {
            self.0.write_vectored(bufs)
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// A TLS connection of either backend.
#[derive(Debug)]
pub enum TlsInner {
    Rustls(Box<StreamOwned<ClientConnection, NoSigPipe>>),
    #[cfg(feature = "legacy-tls")]
    OpenSsl(Box<openssl::ssl::SslStream<TcpStream>>),
}

impl Read for TlsInner {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            TlsInner::Rustls(s) => s.read(buf),
            #[cfg(feature = "legacy-tls")]
            TlsInner::OpenSsl(s) => s.read(buf),
        }
    }
}

impl Write for TlsInner {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            // Once the handshake is done, not `StreamOwned::write`: it ignores a failed send after taking the
            // data and then waits on the socket twice more (a write and a read) before it reports the failure,
            // so a server that stopped reading cost three time-outs instead of one.
            TlsInner::Rustls(s) if !s.conn.is_handshaking() => {
                let taken = s.conn.writer().write(buf)?;
                while s.conn.wants_write() {
                    s.conn.write_tls(&mut s.sock)?;
                }
                Ok(taken)
            }
            TlsInner::Rustls(s) => s.write(buf),
            #[cfg(feature = "legacy-tls")]
            TlsInner::OpenSsl(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            TlsInner::Rustls(s) => s.flush(),
            #[cfg(feature = "legacy-tls")]
            TlsInner::OpenSsl(s) => s.flush(),
        }
    }
}

/// The stream suppaftp keeps for the control connection and hands out for data connections. Dropping it ends
/// TLS properly (close_notify), which servers check before they confirm an upload.
#[derive(Debug)]
pub struct GatewayTlsStream {
    inner: TlsInner,
    shutdown: bool,
}

impl TlsStream for GatewayTlsStream {
    type InnerStream = TlsInner;

    fn tcp_stream(mut self) -> FtpResult<TcpStream> {
        self.shutdown = false;
        self.get_ref().try_clone().map_err(FtpError::ConnectionError)
    }

    fn get_ref(&self) -> &TcpStream {
        match &self.inner {
            TlsInner::Rustls(s) => &s.get_ref().0,
            #[cfg(feature = "legacy-tls")]
            TlsInner::OpenSsl(s) => s.get_ref(),
        }
    }

    fn mut_ref(&mut self) -> &mut TlsInner {
        &mut self.inner
    }
}

impl Drop for GatewayTlsStream {
    fn drop(&mut self) {
        if !self.shutdown {
            return;
        }
        match &mut self.inner {
            TlsInner::Rustls(s) => {
                if s.conn.is_handshaking() {
                    // Nothing was exchanged (or the handshake failed): there is no session to close.
                    return;
                }
                if let Err(e) = s.flush() {
                    log::debug!("flushing TLS before close failed: {e}");
                }
                s.conn.send_close_notify();
                while s.conn.wants_write() {
                    if let Err(e) = s.conn.write_tls(&mut s.sock) {
                        log::debug!("sending TLS close_notify failed: {e}");
                        break;
                    }
                }
            }
            #[cfg(feature = "legacy-tls")]
            TlsInner::OpenSsl(s) => {
                if let Err(e) = s.shutdown() {
                    log::debug!("sending TLS close_notify failed: {e}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_after_the_server_hello_reads_as_a_rejected_client_certificate() {
        let reset = io::Error::new(io::ErrorKind::ConnectionReset, "Connection reset by peer");
        let error = describe_handshake_failure(&reset, "gateway.example", None, true, false);
        assert_eq!(error.kind(), ErrorKind::TlsClientCertificateRejected);
        assert!(error.message().starts_with("gateway.example broke off the TLS handshake"), "{error}");
        assert!(!error.message().contains("  "), "one space between words: {error}");
        // Before the server's hello, a reset says nothing about the certificate.
        let early = describe_handshake_failure(&reset, "gateway.example", None, false, false);
        assert_ne!(early.kind(), ErrorKind::TlsClientCertificateRejected, "{early}");
    }
}
