//! The core's `log` records, delivered to Python's `logging` under the `skat_gateway` logger.
//!
//! Records come from any thread: the caller's (inside `py.detach`, without the GIL), the simulator's runtime,
//! the core's helpers. A thread that logs never waits for the GIL, because the thread holding it may be
//! waiting for that thread (a lock, a join): that would be a deadlock. So [`Bridge::log`] only formats the
//! record and queues it; records reach `logging` with the GIL held, either
//! - at the end of every call into the package, in the calling thread ([`flush`]), so a call's records are
//!   handled before it returns (what `caplog` and a user reading their log expect), or
//! - from a delivery thread, for records logged while no call is running (the simulator's background work).
//!
//! Only one thread delivers at a time (records keep their order); the queue's lock is never held while
//! waiting for the GIL or calling Python. Filtering is one atomic load: the lowest level any `skat_gateway`
//! logger accepts is read from `logging` at each call ([`refresh_level`]).
//!
//! `log`'s global maximum stays at `Trace` and is never changed from here: the core lowers it for the moment
//! of a login (so that no library traces the `PASS` command) and must find it as it left it.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Records kept while nobody delivers; beyond this the oldest are dropped (and the loss is logged).
const QUEUE_LIMIT: usize = 10_000;
/// How long a call waits, at its end, for another thread that is delivering its records.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

struct Record {
    seq: u64,
    level: log::Level,
    target: String,
    message: String,
    file: Option<String>,
    line: Option<u32>,
    /// Seconds since the epoch, when it was logged (not when it was delivered).
    created: f64,
    thread: Option<String>,
}

struct Bridge {
    queue: Mutex<VecDeque<Record>>,
    /// Signalled when a record is queued (wakes the delivery thread) or the bridge stops.
    queued: Condvar,
    /// Sequence numbers: of the last record queued, and of the last one handed to `logging`.
    last_queued: AtomicU64,
    delivered: Mutex<u64>,
    delivered_changed: Condvar,
    delivering: AtomicBool,
    dropped: AtomicU64,
    /// The lowest level delivered, as a `log::LevelFilter` discriminant (0: off).
    level: AtomicUsize,
    stop: AtomicBool,
}

static BRIDGE: Bridge = Bridge {
    queue: Mutex::new(VecDeque::new()),
    queued: Condvar::new(),
    last_queued: AtomicU64::new(0),
    delivered: Mutex::new(0),
    delivered_changed: Condvar::new(),
    delivering: AtomicBool::new(false),
    dropped: AtomicU64::new(0),
    level: AtomicUsize::new(log::LevelFilter::Warn as usize),
    stop: AtomicBool::new(false),
};

static DELIVERY_THREAD: Mutex<Option<std::thread::JoinHandle<()>>> = Mutex::new(None);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Forwarder;

impl log::Log for Forwarder {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() as usize <= BRIDGE.level.load(Ordering::Relaxed)
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) || BRIDGE.stop.load(Ordering::Relaxed) {
            return;
        }
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        let mut queue = lock(&BRIDGE.queue);
        let seq = BRIDGE.last_queued.fetch_add(1, Ordering::SeqCst) + 1;
        if queue.len() >= QUEUE_LIMIT {
            queue.pop_front();
            BRIDGE.dropped.fetch_add(1, Ordering::Relaxed);
        }
        queue.push_back(Record {
            seq,
            level: record.level(),
            target: record.target().to_string(),
            message: record.args().to_string(),
            file: record.file().map(str::to_string),
            line: record.line(),
            created,
            thread: std::thread::current().name().map(str::to_string),
        });
        drop(queue);
        BRIDGE.queued.notify_one();
    }

    fn flush(&self) {}
}

/// Installs the forwarder (unless another logger owns `log` in this process) and starts the delivery thread.
pub fn install(py: Python<'_>) -> PyResult<()> {
    if log::set_logger(&Forwarder).is_ok() {
        log::set_max_level(log::LevelFilter::Trace);
    } else {
        // Another extension module set its logger first: our records go there.
        let logger = python_logger(py, "skat_gateway")?;
        logger.call_method1("debug", ("another Rust logger is installed in this process; skat_gateway's records go to it",))?;
    }
    refresh_level(py);
    start_delivery_thread();
    // Before the interpreter shuts down (and a thread may no longer attach to it), stop the delivery thread.
    let shutdown = wrap_pyfunction!(shutdown, py)?;
    py.import("atexit")?.call_method1("register", (shutdown,))?;
    Ok(())
}

fn start_delivery_thread() {
    let mut slot = lock(&DELIVERY_THREAD);
    if slot.is_some() {
        return;
    }
    let spawned = std::thread::Builder::new().name("skat-gateway-log".into()).spawn(|| loop {
        {
            let mut queue = lock(&BRIDGE.queue);
            while queue.is_empty() && !BRIDGE.stop.load(Ordering::SeqCst) {
                queue = BRIDGE.queued.wait(queue).unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        }
        if BRIDGE.stop.load(Ordering::SeqCst) {
            return;
        }
        // None: the interpreter is finalizing; the records can no longer be handled.
        match Python::try_attach(deliver) {
            Some(true) => {}
            // Another thread is delivering: let it finish before looking again.
            Some(false) => std::thread::sleep(Duration::from_millis(5)),
            None => return,
        }
    });
    *slot = spawned.ok();
}

/// Stops the delivery thread (registered with `atexit`); records of the last moments are delivered first.
#[pyfunction]
fn shutdown(py: Python<'_>) {
    flush(py);
    BRIDGE.stop.store(true, Ordering::SeqCst);
    BRIDGE.queued.notify_all();
    let handle = lock(&DELIVERY_THREAD).take();
    if let Some(handle) = handle {
        // It may be waiting for the GIL: give it up while it ends.
        py.detach(|| {
            let _ = handle.join();
        });
    }
}

/// Reads from `logging` the lowest level any `skat_gateway` logger (the package's or a child's) would
/// handle, so that records nobody wants are dropped at the source. Called at each call into the package.
pub fn refresh_level(py: Python<'_>) {
    let level = lowest_enabled_level(py).unwrap_or(levels::WARNING);
    BRIDGE.level.store(level_filter(level) as usize, Ordering::Relaxed);
}

mod levels {
    pub const TRACE: i64 = 5;
    pub const DEBUG: i64 = 10;
    pub const INFO: i64 = 20;
    pub const WARNING: i64 = 30;
    pub const ERROR: i64 = 40;
}

fn lowest_enabled_level(py: Python<'_>) -> PyResult<i64> {
    static HELPER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    HELPER.import(py, "skat_gateway._log", "lowest_enabled_level")?.call0()?.extract()
}

fn level_filter(python_level: i64) -> log::LevelFilter {
    if python_level <= levels::TRACE {
        log::LevelFilter::Trace
    } else if python_level <= levels::DEBUG {
        log::LevelFilter::Debug
    } else if python_level <= levels::INFO {
        log::LevelFilter::Info
    } else if python_level <= levels::WARNING {
        log::LevelFilter::Warn
    } else if python_level <= levels::ERROR {
        log::LevelFilter::Error
    } else {
        log::LevelFilter::Off
    }
}

fn python_level(level: log::Level) -> i64 {
    match level {
        log::Level::Error => levels::ERROR,
        log::Level::Warn => levels::WARNING,
        log::Level::Info => levels::INFO,
        log::Level::Debug => levels::DEBUG,
        log::Level::Trace => levels::TRACE,
    }
}

/// The logger a target logs to: `gateway::ftp::connector` -> `skat_gateway.ftp`, `rustls::client` ->
/// `skat_gateway.rustls` (records of the libraries skat-gateway uses are its records too), and the FTP
/// server inside the simulator (`libunftp`, `unftp_*`) -> `skat_gateway.sim.libunftp`, so that
/// `skat_gateway.sim` quiets the whole simulator.
fn logger_name(target: &str) -> String {
    let mut parts = target.split("::");
    let first = parts.next().unwrap_or_default();
    if first == "libunftp" || first.starts_with("unftp") {
        return format!("skat_gateway.sim.{first}");
    }
    let area = if first == "gateway" { parts.next() } else { Some(first) };
    match area {
        Some(area) if !area.is_empty() => format!("skat_gateway.{area}"),
        _ => "skat_gateway".to_string(),
    }
}

fn python_logger<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    static GET_LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    GET_LOGGER.import(py, "logging", "getLogger")?.call1((name,))
}

/// Hands the queued records to `logging`, unless another thread is doing so. True when this thread did.
fn deliver(py: Python<'_>) -> bool {
    if BRIDGE.delivering.swap(true, Ordering::SeqCst) {
        return false;
    }
    loop {
        let batch: Vec<Record> = lock(&BRIDGE.queue).drain(..).collect();
        let Some(last) = batch.last().map(|r| r.seq) else { break };
        let dropped = BRIDGE.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let _ = emit_text(py, "skat_gateway", levels::WARNING, &format!("{dropped} log records were dropped (too many queued)"));
        }
        for record in batch {
            // A failing handler is logging's own business (it prints it); the rest still go out.
            if let Err(e) = emit(py, &record) {
                e.print(py);
            }
        }
        *lock(&BRIDGE.delivered) = last;
        BRIDGE.delivered_changed.notify_all();
    }
    BRIDGE.delivering.store(false, Ordering::SeqCst);
    BRIDGE.delivered_changed.notify_all();
    true
}

fn emit(py: Python<'_>, record: &Record) -> PyResult<()> {
    let name = logger_name(&record.target);
    let level = python_level(record.level);
    let logger = python_logger(py, &name)?;
    if !logger.call_method1("isEnabledFor", (level,))?.is_truthy()? {
        return Ok(());
    }
    let file = record.file.as_deref().unwrap_or("<rust>");
    let made = logger.call_method1(
        "makeRecord",
        (&name, level, file, record.line.unwrap_or(0), &record.message, pyo3::types::PyTuple::empty(py), py.None()),
    )?;
    made.setattr("created", record.created)?;
    made.setattr("msecs", (record.created.fract() * 1000.0).floor())?;
    made.setattr("rust_target", &record.target)?;
    if let Some(thread) = &record.thread {
        made.setattr("threadName", thread)?;
    }
    logger.call_method1("handle", (made,))?;
    Ok(())
}

fn emit_text(py: Python<'_>, name: &str, level: i64, message: &str) -> PyResult<()> {
    python_logger(py, name)?.call_method1("log", (level, message))?;
    Ok(())
}

/// Delivers every record queued so far before the caller goes back to Python. If another thread is
/// delivering, waits for it (without the GIL, which it needs) to get past them, for at most a second.
pub fn flush(py: Python<'_>) {
    let wanted = BRIDGE.last_queued.load(Ordering::SeqCst);
    if *lock(&BRIDGE.delivered) >= wanted || deliver(py) {
        return;
    }
    py.detach(|| {
        let delivered = lock(&BRIDGE.delivered);
        let _ = BRIDGE.delivered_changed.wait_timeout_while(delivered, FLUSH_WAIT, |d| *d < wanted);
    });
}
