//! Python code called from inside the core while it runs without the GIL: event handlers, progress
//! callbacks, and the check for Ctrl-C.
//!
//! While the core works, the GIL is released, so Python's signal handler cannot run: a Ctrl-C only sets a
//! flag. The core asks [`Hooks`] at its safe points (each event, each slice of a wait); the hooks take the
//! GIL for a moment, run any pending signal handler (`check_signals`) and the user's callback. An exception
//! from either (a `KeyboardInterrupt`, a bug in a callback) is kept, the core is told to stop waiting, and the
//! exception is raised when the core has returned: the core is never cut off in the middle of a transfer or
//! a journal update, so the journal stays consistent.

use crate::gateway::Event;
use pyo3::prelude::*;
use std::sync::{Mutex, MutexGuard};

/// The callbacks of one object (a client or a session) and the first exception they raised.
#[derive(Default)]
pub struct Hooks {
    /// The user's handler for every event (`Client.on_event`).
    handler: Mutex<Option<Py<PyAny>>>,
    /// The current call's progress callback (`submit(progress=...)`, `Session.put(progress=...)`).
    progress: Mutex<Option<Py<PyAny>>>,
    error: Mutex<Option<PyErr>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Hooks {
    pub fn handler(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        lock(&self.handler).as_ref().map(|h| h.clone_ref(py))
    }

    pub fn set_handler(&self, handler: Option<Py<PyAny>>) {
        *lock(&self.handler) = handler;
    }

    pub fn set_progress(&self, progress: Option<Py<PyAny>>) {
        *lock(&self.progress) = progress;
    }

    /// The exception a callback or a signal handler raised during the call, if any (taken: the next call
    /// starts clean).
    pub fn take_error(&self) -> Option<PyErr> {
        lock(&self.error).take()
    }

    fn failed(&self) -> bool {
        lock(&self.error).is_some()
    }

    fn keep(&self, error: PyErr) {
        let mut slot = lock(&self.error);
        if slot.is_none() {
            *slot = Some(error);
        }
    }

    /// Runs pending signal handlers; false (and the exception kept) when one raised, e.g. Ctrl-C.
    fn signals_ok(&self, py: Python<'_>) -> bool {
        match py.check_signals() {
            Ok(()) => true,
            Err(e) => {
                self.keep(e);
                false
            }
        }
    }

    /// For the core's keep-waiting hook: false once a signal handler or a callback raised.
    pub fn keep_waiting(&self) -> bool {
        Python::attach(|py| {
            super::logging::flush(py);
            !self.failed() && self.signals_ok(py)
        })
    }

    /// Calls the progress callback with `(done, total)`; for transfers the core cannot stop half-way.
    pub fn progress(&self, done: u64, total: Option<u64>) {
        Python::attach(|py| {
            if self.failed() || !self.signals_ok(py) {
                return;
            }
            let progress = lock(&self.progress).as_ref().map(|p| p.clone_ref(py));
            if let Some(progress) = progress {
                if let Err(e) = progress.call1(py, (done, total)) {
                    self.keep(e);
                }
            }
        })
    }

    /// For a low-level transfer, which may be cut off: calls the progress callback and says whether to go on.
    pub fn transfer_may_continue(&self, done: u64, total: Option<u64>) -> bool {
        self.progress(done, total);
        !self.failed()
    }

    /// The core's event handler: hands the event to the user's handler and, for uploads, to the progress
    /// callback. Once a signal or a callback raised, later events are not shown.
    pub fn on_event(&self, event: &Event) {
        Python::attach(|py| {
            super::logging::flush(py);
            if self.failed() {
                return;
            }
            if !self.signals_ok(py) {
                if let Event::Uploading { name, .. } = event {
                    log::warn!("interrupted: finishing the upload of {name} first, so that the gateway gets all of it");
                }
                return;
            }
            if let Some(handler) = self.handler(py) {
                let result = Py::new(py, super::records::PyEvent(event.clone())).and_then(|e| handler.call1(py, (e,)));
                if let Err(e) = result {
                    self.keep(e);
                    return;
                }
            }
            if let Event::Uploading { sent, total, .. } = event {
                let progress = lock(&self.progress).as_ref().map(|p| p.clone_ref(py));
                if let Some(progress) = progress {
                    if let Err(e) = progress.call1(py, (*sent, Some(*total))) {
                        self.keep(e);
                    }
                }
            }
        })
    }
}
