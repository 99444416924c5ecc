//! What the new gateway last showed a certificate: its service folders. The client remembers this so that a
//! process sending one declaration need not list the gateway first: at 20 ms a round trip, that listing is a
//! fifth of a one-file session (see the client's `check_service` for when a remembered listing is trusted, and
//! what happens when it is out of date).

use super::{journal_error, now_ms, Journal};
use crate::error::Result;
use rusqlite::{params, OptionalExtension};

/// A gateway's listing as one certificate saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceListing {
    /// The names of the service folders.
    pub services: Vec<String>,
    /// When it was listed (unix milliseconds).
    pub listed_at: i64,
}

impl Journal {
    /// Records what `server` (gateway, host and port) listed for `owner` just now, replacing what was recorded.
    pub fn remember_service_listing(&self, owner: &str, server: &str, services: &[String]) -> Result<()> {
        let what = "record the gateway's services in";
        self.write(what, |tx| {
            tx.execute(
                "INSERT INTO service_listings (owner, server, services, listed_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (owner, server) DO UPDATE SET services = ?3, listed_at = ?4",
                params![owner, server, services.join("\n"), now_ms()],
            )
            .map_err(|e| journal_error(&self.path, what, e))?;
            Ok(())
        })
    }

    /// What `server` last listed for `owner`, if anything was recorded.
    pub fn service_listing(&self, owner: &str, server: &str) -> Result<Option<ServiceListing>> {
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT services, listed_at FROM service_listings WHERE owner = ?1 AND server = ?2",
                params![owner, server],
                |row| {
                    let services: String = row.get(0)?;
                    Ok(ServiceListing {
                        services: services.split('\n').filter(|s| !s.is_empty()).map(str::to_string).collect(),
                        listed_at: row.get(1)?,
                    })
                },
            )
            .optional()
        })
    }

    /// Forgets what `server` listed for `owner` (it proved out of date).
    pub fn forget_service_listing(&self, owner: &str, server: &str) -> Result<()> {
        let what = "forget the gateway's services in";
        self.write(what, |tx| {
            tx.execute("DELETE FROM service_listings WHERE owner = ?1 AND server = ?2", params![owner, server])
                .map_err(|e| journal_error(&self.path, what, e))?;
            Ok(())
        })
    }
}
