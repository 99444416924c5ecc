//! What the gateway means: services, filenames as transaction ids, status-file receipts, configuration.

pub mod catalogue;
pub mod client;
pub mod config;
pub mod migration;
pub mod names;
pub mod receipt;

pub use catalogue::{Service, System, TransferType, HEARTBEAT_SERVICE};
pub use config::{Config, ConfigFile, GatewayAddress, GatewayChoice, DEFAULT_SESSIONS, MAX_SESSIONS};
pub use receipt::{Receipt, ReceiptError, StatusCode};
pub use client::{Client, Event, PollOptions, PollReport, SubmitOptions, Submitted};
