//! Standard output for results, as scripts read it.
//!
//! A reader that goes away (`skat-gateway status | head -1`) ends the output, not the work: `submit a b c | head
//! -1` still submits all three files, and its exit code still says how that went. (The process ignores SIGPIPE,
//! as Rust programs do; a write to the closed pipe fails with EPIPE, and from then on output is dropped.) Any
//! other failure to write (a full disk behind `> file`) is an error, since the output was wanted.
//!
//! With `--json` every command prints exactly one JSON document on stdout, also when it fails: `main` prints
//! the error as JSON unless the command printed its own document already (see [`json`]).

use gateway::{Error, ErrorKind, Result};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// The reader of stdout has gone: everything further is dropped.
static CLOSED: AtomicBool = AtomicBool::new(false);
/// A JSON document went out: an error after it must not print a second one.
static JSON_PRINTED: AtomicBool = AtomicBool::new(false);

/// Writes one line to stdout (see the module documentation). Use it through [`out!`](crate::out).
pub fn line(args: std::fmt::Arguments<'_>) -> Result<()> {
    write_all(format!("{args}\n").as_bytes())
}

/// Writes text as it is (no line end added).
pub fn text(text: &str) -> Result<()> {
    write_all(text.as_bytes())
}

fn write_all(bytes: &[u8]) -> Result<()> {
    if CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    match lock.write_all(bytes).and_then(|()| lock.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        Err(e) => Err(Error::new(
            ErrorKind::Io,
            format!("cannot write the output: {e}; check the free space of the file or device it goes to"),
        )
        .with_source(e)),
    }
}

/// Prints `value` as one pretty JSON document.
pub fn json(value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot format JSON: {e}")))?;
    JSON_PRINTED.store(true, Ordering::Relaxed);
    line(format_args!("{text}"))
}

/// True once a JSON document was printed.
pub fn json_printed() -> bool {
    JSON_PRINTED.load(Ordering::Relaxed)
}

/// `println!` for results: `out!("{name}  {state}")?`.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}
