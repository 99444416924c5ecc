//! Parallel sessions for bulk work (`submit` and `poll` of many files): helper clients for the same
//! certificate and journal, and the work shared out among them and the client itself.
//!
//! A helper is a [`Client`] of its own (its own journal connection, its own sessions), so every decision it
//! takes goes through the journal exactly as a separate process's would: parallel sessions add no rule of
//! their own, and exactly-once holds for the same reasons as between processes.

use super::{Client, Event};
use crate::error::Result;
use crate::journal::Journal;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Files one more session has to take for its login to pay off: a login (TCP, TLS, USER, PASS, PBSZ, PROT)
/// costs about as many round trips as four small transfers, and a helper that logs in to find the work done
/// only loads the gateway.
pub(super) const FILES_PER_SESSION: usize = 4;

/// The clients that share out one call's work besides the client itself; closed (logged out) when the call
/// is done.
#[derive(Default)]
pub(super) struct Crew {
    helpers: Vec<Client>,
}

impl Crew {
    /// Logs every helper out. A failed QUIT only costs the gateway a connection it closes itself.
    pub(super) fn dismiss(self) {
        for helper in self.helpers {
            if let Err(e) = helper.close() {
                log::debug!("closing a parallel session: {e}");
            }
        }
    }
}

impl Client {
    /// How many sessions to use for `files` files: one more for each [`FILES_PER_SESSION`] files, never more
    /// than [`crate::gateway::Config::sessions`].
    pub(super) fn sessions_for(&self, files: usize) -> usize {
        (files / FILES_PER_SESSION).clamp(1, self.config.sessions.max(1) as usize)
    }

    /// Adds helpers to `crew` until, with this client, there are `sessions`. A helper that cannot open the
    /// journal is left out (logged): its share goes to the others.
    pub(super) fn enlist(&self, crew: &mut Crew, sessions: usize) {
        while crew.helpers.len() + 1 < sessions {
            match self.helper() {
                Ok(helper) => crew.helpers.push(helper),
                Err(e) => {
                    log::warn!("one of the parallel sessions could not start: {e}");
                    return;
                }
            }
        }
    }

    /// Another client for the same certificate and journal. It connects when it first needs a gateway.
    fn helper(&self) -> Result<Client> {
        Ok(Client {
            config: self.config.clone(),
            identity: Arc::clone(&self.identity),
            journal: Arc::new(Journal::open(&self.config.journal)?),
            owner: self.owner.clone(),
            new_session: None,
            legacy_session: None,
            visible: self.visible.clone(),
            legacy_root: self.legacy_root.clone(),
            events: None,
            keep_waiting: None,
        })
    }

    /// Runs `work` on every item, on this client and each helper of `crew` at once: each takes the next item
    /// when it is done with its last, so a slow file holds up one session only. The results come in the order
    /// of `items`, whatever the order they were done in. Once a result satisfies `gives_up` (the gateway is
    /// gone, not one file), no further item is started: those items' slots are `None`, so that a dead line
    /// costs one failure, not one per file.
    ///
    /// This client's hooks are lent to the helpers for the call: events from every session reach its handler
    /// (one at a time), and its keep-waiting hook is asked by all of them.
    pub(super) fn share_out<I: Sync, T: Send>(
        &mut self,
        crew: &mut Crew,
        items: &[I],
        work: impl Fn(&mut Client, &I) -> T + Sync,
        gives_up: impl Fn(&T) -> bool + Sync,
    ) -> Vec<Option<T>> {
        let stopped = AtomicBool::new(false);
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<T>>> = Mutex::new((0..items.len()).map(|_| None).collect());
        let run = |client: &mut Client| {
            while !stopped.load(Ordering::SeqCst) {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(index) else { break };
                let result = work(client, item);
                if gives_up(&result) {
                    stopped.store(true, Ordering::SeqCst);
                }
                results.lock().unwrap_or_else(|p| p.into_inner())[index] = Some(result);
            }
        };
        if crew.helpers.is_empty() || items.len() < 2 {
            run(self);
            return results.into_inner().unwrap_or_else(|p| p.into_inner());
        }
        let events = Arc::new(Mutex::new(self.events.take()));
        let keep_waiting = Arc::new(Mutex::new(self.keep_waiting.take()));
        let lend = |client: &mut Client| {
            let events = Arc::clone(&events);
            client.events = Some(Box::new(move |event: &Event| {
                if let Some(handler) = events.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                    handler(event);
                }
            }));
            let keep_waiting = Arc::clone(&keep_waiting);
            client.keep_waiting = Some(Box::new(move || {
                keep_waiting.lock().unwrap_or_else(|p| p.into_inner()).as_mut().is_none_or(|keep| keep())
            }));
        };
        lend(self);
        for helper in crew.helpers.iter_mut() {
            lend(helper);
        }

        std::thread::scope(|scope| {
            for helper in crew.helpers.iter_mut() {
                scope.spawn(|| run(helper));
            }
            run(self);
        });

        // The forwarding hooks go first, so that the lent ones have one owner again and come back.
        self.events = None;
        self.keep_waiting = None;
        for helper in crew.helpers.iter_mut() {
            helper.events = None;
            helper.keep_waiting = None;
        }
        self.events = Arc::try_unwrap(events).ok().and_then(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()));
        self.keep_waiting = Arc::try_unwrap(keep_waiting).ok().and_then(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()));
        results.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}
