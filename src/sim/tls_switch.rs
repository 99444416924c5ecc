//! When libunftp is ready for a client's TLS hello after `AUTH TLS`.
//!
//! libunftp 0.24 answers `AUTH TLS` with 234 and only afterwards, through a message from a task it spawns,
//! switches its control loop to TLS. A ClientHello that reaches its socket in between is read as an FTP command
//! (answered in plain text, which the client takes for a corrupt TLS record) or lost with the line buffer. So
//! the relay in front of the control port holds a client's first bytes after the 234 until the switch.
//!
//! When the control loop has taken that message, before it reads the hello, it logs "Upgrading control channel
//! to TLS" with the connection's peer address as `source`: on the simulator's side that is the relay's own
//! socket. The simulator gives libunftp a logger ([`SwitchSpy`]) that passes every record on to `log`, as
//! libunftp's default one does, and reports that record to the relay. A fixed pause would cost every login its
//! length (it was 30 ms, 1.5 round trips at 20 ms) and still lose the race on a machine busy for longer.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// What libunftp logs once its control loop has switched a connection to TLS (libunftp 0.24,
/// `server/controlchan/control_loop.rs`; the simulator's tests notice when an upgrade changes it).
const SWITCH_RECORD: &str = "Upgrading control channel to TLS";

/// How long a hello is held when libunftp's record of the switch does not come: long enough that only a
/// changed libunftp, not a busy machine, ends a hold this way; then every login is this much slower, and
/// [`TlsSwitchCounts::after_grace`] says why.
const GRACE: Duration = Duration::from_secs(1);

/// The connections whose switch to TLS the relay is waiting for, by the address libunftp sees them from.
#[derive(Debug, Default)]
pub(crate) struct TlsSwitches {
    waiting: Mutex<HashMap<SocketAddr, oneshot::Sender<()>>>,
    prompt: AtomicU64,
    after_grace: AtomicU64,
}

/// How the relay timed the clients' TLS hellos after `AUTH TLS` (see [`crate::sim::SimHandle::tls_switches`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TlsSwitchCounts {
    /// Hellos passed on as soon as libunftp had switched the connection to TLS.
    pub prompt: u64,
    /// Hellos held for the full grace (one second) because libunftp's record of the switch did not come.
    pub after_grace: u64,
}

impl TlsSwitches {
    /// Starts watching the connection libunftp sees from `peer` (the relay's side of it). Call it before the
    /// relay passes anything on, so that the record cannot come first.
    pub(crate) fn watch(self: &Arc<Self>, peer: SocketAddr) -> SwitchWatch {
        let (sender, switched) = oneshot::channel();
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.insert(peer, sender);
        }
        SwitchWatch { switches: Arc::clone(self), peer, switched }
    }

    pub(crate) fn counts(&self) -> TlsSwitchCounts {
        TlsSwitchCounts { prompt: self.prompt.load(Ordering::Relaxed), after_grace: self.after_grace.load(Ordering::Relaxed) }
    }

    fn switched(&self, source: &str) {
        let Ok(peer) = source.parse::<SocketAddr>() else { return };
        let sender = self.waiting.lock().ok().and_then(|mut waiting| waiting.remove(&peer));
        if let Some(sender) = sender {
            let _ = sender.send(());
        }
    }
}

/// One connection's wait for its switch to TLS; stops watching when dropped.
pub(crate) struct SwitchWatch {
    switches: Arc<TlsSwitches>,
    peer: SocketAddr,
    switched: oneshot::Receiver<()>,
}

impl SwitchWatch {
    /// Returns once libunftp has switched the connection to TLS, or after the grace.
    pub(crate) async fn wait(&mut self) {
        match tokio::time::timeout(GRACE, &mut self.switched).await {
            Ok(Ok(())) => {
                self.switches.prompt.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                self.switches.after_grace.fetch_add(1, Ordering::Relaxed);
                log::warn!("simulator: libunftp did not report the switch to TLS for {}; passed the hello on after {GRACE:?}", self.peer);
            }
        }
    }
}

impl Drop for SwitchWatch {
    fn drop(&mut self) {
        if let Ok(mut waiting) = self.switches.waiting.lock() {
            waiting.remove(&self.peer);
        }
    }
}

/// libunftp's logger in the simulator: every record goes on to `log` (as with libunftp's default logger), and
/// the record of a switch to TLS also to the relay.
pub(crate) struct SwitchSpy {
    switches: Arc<TlsSwitches>,
    log: slog_stdlog::StdLog,
}

impl SwitchSpy {
    pub(crate) fn logger(switches: Arc<TlsSwitches>) -> slog::Logger {
        slog::Logger::root(SwitchSpy { switches, log: slog_stdlog::StdLog }, slog::o!())
    }
}

impl slog::Drain for SwitchSpy {
    type Ok = ();
    type Err = slog::Never;

    fn log(&self, record: &slog::Record, values: &slog::OwnedKVList) -> Result<(), slog::Never> {
        if record.level() == slog::Level::Info && record.msg().as_str() == Some(SWITCH_RECORD) {
            let mut source = SourceValue(None);
            let _ = slog::KV::serialize(values, record, &mut source);
            if let Some(source) = source.0 {
                self.switches.switched(&source);
            }
        }
        // Forwarding to `log` cannot fail.
        let _ = self.log.log(record, values);
        Ok(())
    }
}

/// Picks the `source` value out of a record's key-value pairs.
struct SourceValue(Option<String>);

impl slog::Serializer for SourceValue {
    fn emit_arguments(&mut self, key: slog::Key, value: &fmt::Arguments) -> slog::Result {
        if key == "source" {
            self.0 = Some(value.to_string());
        }
        Ok(())
    }
}
