//! Faults on request, for tests: the failures a client meets at night.
//!
//! The control port a client connects to is a small TCP relay in front of the FTP server; it passes bytes through
//! unchanged (TLS stays end to end) and is where control-connection faults happen: a drop after N bytes, delayed
//! replies, and restarts (every connection cut, the port closed for a while, then open again). Data-connection
//! faults happen in the storage layer (the transfer breaks after N bytes), and refused passive connections in the
//! passive-port binder (PASV/EPSV answered `425`).

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use super::tls_switch::TlsSwitches;

/// A fault to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Cut the control connection (abruptly, both ways) once this many bytes have passed in either direction,
    /// counted from the connection's start (the TLS handshake and login take roughly 3-5 KB).
    DropControlAfter(u64),
    /// Hold back every piece of data the server sends on the control connection for this long.
    DelayReplies(Duration),
    /// Break the data connection of a transfer (upload or download) after this many bytes of file content.
    DropDataAfter(u64),
    /// Answer PASV/EPSV with `425 No data connection established`.
    RefusePassive,
}

impl Fault {
    pub(crate) const DROP_CONTROL: u8 = 0;
    pub(crate) const DELAY_REPLIES: u8 = 1;
    pub(crate) const DROP_DATA: u8 = 2;
    pub(crate) const REFUSE_PASSIVE: u8 = 3;

    fn kind(&self) -> u8 {
        match self {
            Fault::DropControlAfter(_) => Self::DROP_CONTROL,
            Fault::DelayReplies(_) => Self::DELAY_REPLIES,
            Fault::DropDataAfter(_) => Self::DROP_DATA,
            Fault::RefusePassive => Self::REFUSE_PASSIVE,
        }
    }
}

#[derive(Debug)]
struct Armed {
    fault: Fault,
    /// How many more connections or transfers it hits; `None`: until cleared.
    remaining: Option<u32>,
}

/// The faults armed now. Each connection or transfer takes the fault that applies to it when it starts.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    armed: Mutex<VecDeque<Armed>>,
}

impl FaultState {
    pub(crate) fn arm(&self, fault: Fault, times: Option<u32>) {
        if let Ok(mut armed) = self.armed.lock() {
            armed.retain(|a| a.fault.kind() != fault.kind());
            armed.push_back(Armed { fault, remaining: times });
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut armed) = self.armed.lock() {
            armed.clear();
        }
    }

    /// The armed fault of that kind, counting one use.
    pub(crate) fn take(&self, kind: u8) -> Option<Fault> {
        let mut armed = self.armed.lock().ok()?;
        let index = armed.iter().position(|a| a.fault.kind() == kind)?;
        let entry = &mut armed[index];
        let fault = entry.fault;
        match entry.remaining.as_mut() {
            Some(0) => {
                armed.remove(index);
                return None;
            }
            Some(n) => {
                *n -= 1;
                if *n == 0 {
                    armed.remove(index);
                }
            }
            None => {}
        }
        Some(fault)
    }
}

/// A reader that fails with "connection reset" after `limit` bytes: a transfer cut off midway.
pub(crate) struct LimitedReader<R> {
    inner: R,
    remaining: u64,
}

impl<R> LimitedReader<R> {
    pub(crate) fn new(inner: R, limit: u64) -> Self {
        LimitedReader { inner, remaining: limit }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for LimitedReader<R> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.remaining == 0 {
            log::info!("simulator fault: data connection dropped");
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::ConnectionReset, "simulated fault: data connection dropped")));
        }
        let allowed = usize::try_from(self.remaining).unwrap_or(usize::MAX).min(buf.remaining()).min(16 * 1024);
        let mut chunk = vec![0u8; allowed];
        let mut limited = ReadBuf::new(&mut chunk);
        let result = Pin::new(&mut self.inner).poll_read(cx, &mut limited);
        if let Poll::Ready(Ok(())) = result {
            let filled = limited.filled();
            buf.put_slice(filled);
            self.remaining -= filled.len() as u64;
        }
        result
    }
}

/// Chooses passive ports like libunftp does (random within the range), unless passive connections are to be
/// refused.
#[derive(Debug)]
pub(crate) struct PassiveBinder {
    pub(crate) faults: Arc<FaultState>,
}

#[async_trait::async_trait]
impl libunftp::options::Binder for PassiveBinder {
    async fn bind(&mut self, local_addr: std::net::IpAddr, ports: RangeInclusive<u16>) -> io::Result<TcpSocket> {
        if self.faults.take(Fault::REFUSE_PASSIVE).is_some() {
            log::info!("simulator fault: passive connection refused");
            return Err(io::Error::new(io::ErrorKind::AddrNotAvailable, "simulated fault: passive connections refused"));
        }
        let span = u32::from(ports.end().saturating_sub(*ports.start())) + 1;
        let mut last_error = io::Error::new(io::ErrorKind::AddrInUse, "no free passive port in the range");
        for _ in 0..32 {
            let port = *ports.start() as u32 + rand::random_range(0..span);
            let socket = if local_addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
            socket.set_reuseaddr(true)?;
            // Accepted data connections inherit it (Linux and Windows): without it a download's last short
            // record and the TLS close_notify wait for the client's delayed ACK.
            socket.set_nodelay(true)?;
            match socket.bind(SocketAddr::new(local_addr, port as u16)) {
                Ok(()) => return Ok(socket),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }
}

/// The relay in front of the FTP server's control port.
pub(crate) struct Relay {
    public: SocketAddr,
    /// Bumped on every restart: open connections watch it and close.
    epoch: watch::Sender<u64>,
    commands: mpsc::UnboundedSender<RelayCommand>,
}

enum RelayCommand {
    /// Stop accepting and drop the listener (acknowledged once dropped).
    Close(oneshot::Sender<()>),
    /// Accept on this listener again.
    Open(TcpListener),
}

impl Relay {
    /// Starts relaying `listener` (the public port) to `upstream` (the FTP server).
    pub(crate) fn start(
        listener: TcpListener,
        upstream: SocketAddr,
        faults: Arc<FaultState>,
        tls_switches: Arc<TlsSwitches>,
    ) -> io::Result<Arc<Relay>> {
        let public = listener.local_addr()?;
        let (commands, mut command_rx) = mpsc::unbounded_channel();
        let relay = Arc::new(Relay { public, epoch: watch::channel(0).0, commands });
        let epoch = relay.epoch.clone();
        tokio::spawn(async move {
            let mut listener = Some(listener);
            loop {
                let command = match listener.as_ref() {
                    Some(active) => tokio::select! {
                        accepted = active.accept() => {
                            if let Ok((client, _)) = accepted {
                                let connection = relay_connection(client, upstream, faults.clone(), tls_switches.clone(), epoch.subscribe());
                                tokio::spawn(connection);
                            }
                            continue;
                        }
                        command = command_rx.recv() => command,
                    },
                    None => command_rx.recv().await,
                };
                match command {
                    None => return,
                    Some(RelayCommand::Close(done)) => {
                        listener = None;
                        let _ = done.send(());
                    }
                    Some(RelayCommand::Open(new)) => listener = Some(new),
                }
            }
        });
        Ok(relay)
    }

    /// Cuts every open connection, closes the port for `downtime`, then opens it again (returns once it accepts).
    pub(crate) async fn restart(&self, downtime: Duration) -> io::Result<()> {
        let (done, closed) = oneshot::channel();
        if self.commands.send(RelayCommand::Close(done)).is_err() {
            return Err(io::Error::other("the simulator is stopping"));
        }
        let _ = closed.await;
        self.epoch.send_modify(|e| *e += 1);
        tokio::time::sleep(downtime).await;
        let mut attempts = 0;
        let listener = loop {
            match TcpListener::bind(self.public).await {
                Ok(l) => break l,
                Err(e) if attempts < 50 => {
                    attempts += 1;
                    log::debug!("simulator: rebinding {} after a restart: {e}", self.public);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => return Err(e),
            }
        };
        self.commands.send(RelayCommand::Open(listener)).map_err(|_| io::Error::other("the simulator is stopping"))
    }
}

async fn relay_connection(
    client: TcpStream,
    upstream: SocketAddr,
    faults: Arc<FaultState>,
    tls_switches: Arc<TlsSwitches>,
    mut epoch: watch::Receiver<u64>,
) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let Ok(seen_from) = server.local_addr() else {
        return;
    };
    let mut tls_switch = tls_switches.watch(seen_from);
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let drop_after = match faults.take(Fault::DROP_CONTROL) {
        Some(Fault::DropControlAfter(n)) => Some(n),
        _ => None,
    };
    let delay = match faults.take(Fault::DELAY_REPLIES) {
        Some(Fault::DelayReplies(d)) => Some(d),
        _ => None,
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let budget = Arc::new(std::sync::atomic::AtomicU64::new(drop_after.unwrap_or(u64::MAX)));
    let upstream_budget = budget.clone();
    // After libunftp's 234 to AUTH TLS the client's first bytes wait until libunftp has switched to TLS (see
    // `tls_switch`).
    let auth_accepted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let auth_seen = auth_accepted.clone();
    let to_server = async move {
        let mut buf = vec![0u8; 16 * 1024];
        let mut held_for_tls = false;
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if !held_for_tls && auth_accepted.load(std::sync::atomic::Ordering::SeqCst) {
                held_for_tls = true;
                tls_switch.wait().await;
            }
            let (n, spent) = spend(&upstream_budget, n);
            if server_write.write_all(&buf[..n]).await.is_err() || spent {
                return;
            }
        }
    };
    let to_client = async move {
        let mut buf = vec![0u8; 16 * 1024];
        let mut plaintext = true;
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if plaintext && buf[..n].windows(4).any(|w| w == b"234 ") {
                plaintext = false;
                auth_seen.store(true, std::sync::atomic::Ordering::SeqCst);
            }
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            let (n, spent) = spend(&budget, n);
            if client_write.write_all(&buf[..n]).await.is_err() || spent {
                return;
            }
        }
    };
    // Whichever side ends (or a restart), both sockets are dropped: the client sees the connection cut.
    tokio::select! {
        _ = to_server => {}
        _ = to_client => {}
        _ = epoch.changed() => { log::info!("simulator: restart cuts a control connection"); }
    }
}

/// Takes up to `n` bytes from the budget: how many to pass on, and whether the budget is spent (then the
/// connection is cut right after passing them, so the cut happens after exactly the configured count).
fn spend(budget: &std::sync::atomic::AtomicU64, n: usize) -> (usize, bool) {
    use std::sync::atomic::Ordering;
    let left = budget.load(Ordering::SeqCst);
    if left == u64::MAX {
        return (n, false);
    }
    let allowed = (n as u64).min(left);
    budget.fetch_sub(allowed, Ordering::SeqCst);
    let spent = allowed == left;
    if spent {
        log::info!("simulator fault: control connection dropped");
    }
    (allowed as usize, spent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use libunftp::options::Binder;

    #[tokio::test]
    async fn passive_connections_are_accepted_without_nagle() {
        let mut binder = PassiveBinder { faults: Arc::new(FaultState::default()) };
        let listener = binder.bind("127.0.0.1".parse().unwrap(), 47200..=47299).await.unwrap().listen(1).unwrap();
        let address = listener.local_addr().unwrap();
        let (accepted, connected) = tokio::join!(listener.accept(), TcpStream::connect(address));
        let (accepted, _) = accepted.unwrap();
        connected.unwrap();
        assert!(accepted.nodelay().unwrap(), "a data connection must not wait for the client's delayed ACK");
    }
}
