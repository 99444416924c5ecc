//! `skat-gateway submit | poll | status | services | ping | login-info`: the submission workflow. Glue only.

use gateway::gateway::client::{PollOptions, SubmitOptions, Submitted};
use gateway::gateway::config::parse_duration;
use gateway::gateway::{Client, Config, Event, GatewayChoice, PollReport};
use gateway::journal::{format_ms, Journal, Submission};
use gateway::{Error, ErrorKind, Result};
use crate::{out, output, Failure};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which settings to use: a config file's profile, then the environment (see the README for the variables).
#[derive(clap::Args, Debug, Clone)]
pub struct ProfileArgs {
    /// The configuration file (TOML with [profiles.NAME] tables): certificate, gateways, password, journal and
    /// inbox for every command that talks to the gateway.
    #[arg(long, value_name = "FILE", env = "SKAT_GATEWAY_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// The profile in the configuration file (default: its default_profile, or its only profile).
    #[arg(long, value_name = "NAME", env = "SKAT_GATEWAY_PROFILE", global = true)]
    pub profile: Option<String>,
}

impl ProfileArgs {
    pub fn load(&self) -> Result<Config> {
        Config::load(self.config.as_deref(), self.profile.as_deref())
    }
}

#[derive(clap::Args, Debug)]
pub struct SubmitArgs {
    /// The service (folder) to submit to, e.g. Manifest.AnkomstdeklarationOpret.
    #[arg(long, short)]
    service: String,
    /// The files to submit; each becomes one submission under its own unique name.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Use this filename (transaction id) instead of a generated one; only with a single file.
    #[arg(long)]
    name: Option<String>,
    /// Send a file even if the same content was already submitted to this service and did not fail (by
    /// default such a file is skipped, so re-running a command after a crash sends nothing twice).
    #[arg(long)]
    again: bool,
    /// Submit empty files too (refused by default: an empty declaration is almost always a half-written export).
    #[arg(long)]
    allow_empty: bool,
    /// The most sessions to use at once (1-8; default: the profile's `sessions`, else 4). One session is
    /// opened per 4 files, up to N: 3 files go over 1 session, 12 over 3. Each file is still sent once: the
    /// journal decides for every session as for separate processes.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=gateway::gateway::MAX_SESSIONS as i64))]
    sessions: Option<u32>,
    /// Print the submissions as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct PollArgs {
    /// Keep polling until every submission has its final status or this time has passed (e.g. 30s, 10m).
    #[arg(long, value_name = "DURATION")]
    wait: Option<String>,
    /// How often to look while waiting.
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    interval: String,
    /// Leave the files in `out` after fetching them.
    #[arg(long)]
    keep_remote: bool,
    /// Also delete files that belong to no submission in this journal (by default they are left for the
    /// system that sent them).
    #[arg(long)]
    delete_unknown: bool,
    /// The folder to fetch into (default: the profile's inbox).
    #[arg(long, value_name = "DIR")]
    inbox: Option<PathBuf>,
    /// The most sessions to fetch and delete with at once (1-8; default: the profile's `sessions`, else 4).
    /// One session is used per 4 files in `out`, up to N. Each file still lands in the inbox once.
    #[arg(long, value_name = "N", allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=gateway::gateway::MAX_SESSIONS as i64))]
    sessions: Option<u32>,
    /// Print the poll report as JSON: files fetched, receipts, unknown and invalid files, overdue submissions.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// Only these submissions (their filenames).
    names: Vec<String>,
    /// Close the submissions NAME...: stop waiting for a status that will not come (Overdue, after asking the
    /// agency: it becomes Closed), abandon an interrupted upload that will not be finished (the file was
    /// corrected and sent anew: Closed, its spool copy removed), or acknowledge a rejection (it stays Failed).
    /// `poll` then no longer exits 9 or 10 for it.
    #[arg(long, requires = "names")]
    close: bool,
    /// Why it was closed, kept in the journal (with --close).
    #[arg(long, value_name = "TEXT", requires = "close")]
    reason: Option<String>,
    /// The journal file (default: the profile's).
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// Print the submissions as JSON (the journal records).
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ServicesArgs {
    /// Ask the legacy gateway instead of the new one.
    #[arg(long)]
    legacy: bool,
    /// Print the services as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct PingArgs {
    /// How long to wait for the heartbeat's status 1.
    #[arg(long, value_name = "DURATION", default_value = "2m")]
    timeout: String,
    /// Print the heartbeat's name, receipt and round trip as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct LoginInfoArgs {
    /// Write the password to this file (created with mode 0600), ready to be the profile's password_file.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
    /// Print the password on stdout (it is never printed otherwise).
    #[arg(long)]
    show: bool,
}

/// A face for a client's events: a progress bar for big uploads when stderr is a terminal.
fn attach_progress(client: &mut Client) {
    if !std::io::stderr().is_terminal() {
        return;
    }
    let mut bar: Option<indicatif::ProgressBar> = None;
    client.set_event_handler(move |event| match event {
        Event::Uploading { sent, total, name } if *total >= 1 << 20 => {
            let bar = bar.get_or_insert_with(|| {
                let b = indicatif::ProgressBar::new(*total);
                b.set_style(
                    indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b.set_message(name.clone());
                b
            });
            bar.set_position(*sent);
        }
        Event::Uploaded { .. } | Event::Retrying { .. } => {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
        }
        _ => {}
    });
}

/// One line of `submit --json`: what happened to one file.
#[derive(serde::Serialize)]
struct SubmitResult<'a> {
    file: String,
    /// `sent`, `resumed`, `already_submitted` or `failed`.
    outcome: &'a str,
    submission: Option<&'a Submission>,
    error: Option<serde_json::Value>,
}

pub fn submit(args: SubmitArgs, profile: &ProfileArgs) -> std::result::Result<(), Failure> {
    if args.name.is_some() && args.files.len() > 1 {
        return Err(Error::new(ErrorKind::InvalidArgument, "--name names one submission: give a single FILE with it").into());
    }
    let mut config = profile.load()?;
    if let Some(sessions) = args.sessions {
        config.sessions = sessions;
    }
    let mut client = Client::connect(config)?;
    attach_progress(&mut client);
    let options = SubmitOptions { name: args.name.clone(), prefix: None, again: args.again, allow_empty: args.allow_empty };
    // Every file is tried, whatever happened to the others (and whether anyone still reads stdout).
    let mut results: Vec<(String, std::result::Result<Submitted, Error>)> = Vec::new();
    let submitted = client.submit_files(&args.service, &args.files, &options);
    for (file, result) in args.files.iter().zip(submitted) {
        let result = result.map_err(|e| {
            if e.message().contains(&file.display().to_string()) {
                e
            } else {
                e.context(file.display())
            }
        });
        let label = file.display().to_string();
        if !args.json {
            match &result {
                Ok(Submitted::AlreadySubmitted(s)) => {
                    out!("{label}: already submitted as {}, state {}; --again sends it anyway", s.name, s.state)?
                }
                Ok(done) => {
                    let s = done.submission();
                    let resumed = if matches!(done, Submitted::Resumed(_)) { "  (resumed)" } else { "" };
                    out!("{}  {}  {}  {label}{resumed}", s.name, s.state, s.service)?
                }
                // With several files each failure is reported as it happens and the end sums up; a single
                // file's error is the final error itself, printed once by main.
                Err(e) if args.files.len() > 1 => eprintln!("error: {e}"),
                Err(_) => {}
            }
        }
        results.push((label, result));
    }
    let _ = client.close();
    let failed: Vec<&Error> = results.iter().filter_map(|(_, r)| r.as_ref().err()).collect();
    if args.json {
        let lines: Vec<SubmitResult<'_>> = results
            .iter()
            .map(|(file, result)| match result {
                Ok(done) => SubmitResult { file: file.clone(), outcome: done.outcome(), submission: Some(done.submission()), error: None },
                Err(e) => SubmitResult {
                    file: file.clone(),
                    outcome: "failed",
                    submission: None,
                    error: Some(crate::error_json(e, crate::exit_code(e.kind()))),
                },
            })
            .collect();
        output::json(&lines)?;
    }
    match failed.first() {
        None => Ok(()),
        Some(first) if results.len() == 1 => Err(Failure { error: Error::new(first.kind(), first.to_string()), exit_code: None }),
        Some(first) => Err(Error::new(
            first.kind(),
            format!(
                "{} of {} files were not submitted (see {}); the others were",
                failed.len(),
                results.len(),
                if args.json { "the JSON on stdout" } else { "above" }
            ),
        )
        .into()),
    }
}

/// A duration option that must not be zero (a zero interval would poll in a busy loop; a zero time-out would
/// give up before anything could answer).
fn nonzero_duration(option: &str, text: &str) -> Result<Duration> {
    let value = parse_duration(text).map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("{option}: {e}")))?;
    if value.is_zero() {
        return Err(Error::new(ErrorKind::InvalidArgument, format!("{option} {text}: give a duration above zero, e.g. 2s")));
    }
    Ok(value)
}

pub fn poll(args: PollArgs, profile: &ProfileArgs) -> std::result::Result<(), Failure> {
    let mut config = profile.load()?;
    if let Some(sessions) = args.sessions {
        config.sessions = sessions;
    }
    let inbox = args.inbox.clone().unwrap_or_else(|| config.inbox.clone());
    let options = PollOptions { keep_remote: args.keep_remote, delete_unknown: args.delete_unknown };
    let wait = args.wait.as_deref().map(|w| parse_duration(w).map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("--wait: {e}")))).transpose()?;
    let interval = nonzero_duration("--interval", &args.interval)?.max(Duration::from_millis(100));
    let report = match wait {
        Some(wait) => {
            // Connects with the first poll, so that a gateway that is down for a moment at the start is
            // waited for like one that goes down later.
            let mut client = Client::offline(config)?;
            let report = client.poll_until_settled(&inbox, &options, wait, interval);
            let _ = client.close();
            report?
        }
        None => {
            let mut client = Client::connect(config)?;
            let report = client.poll(&inbox, &options);
            let _ = client.close();
            report?
        }
    };
    if args.json {
        output::json(&report)?;
    } else {
        print_poll(&report, &inbox)?;
    }
    if !report.rejected.is_empty() {
        return Err(Error::new(
            ErrorKind::SubmissionRejected,
            format!(
                "{} submission(s) rejected and not closed: {}; `skat-gateway status NAME` shows the gateway's error and \
                 what to do; `status NAME --close` acknowledges one",
                report.rejected.len(),
                names(&report.rejected)
            ),
        )
        .into());
    }
    if !report.stale.is_empty() {
        return Err(Error::new(
            ErrorKind::SubmissionOverdue,
            format!(
                "{} upload(s) were interrupted and never finished: {}; submit the same file(s) again to finish them, or \
                 `status NAME --close` to abandon one",
                report.stale.len(),
                names(&report.stale)
            ),
        )
        .into());
    }
    if !report.overdue.is_empty() {
        return Err(Error::new(
            ErrorKind::SubmissionOverdue,
            format!(
                "{} submission(s) got no status before their deadline: {}; the backend may be down. Keep polling; if \
                 nothing comes, ask the agency before sending again under a new name",
                report.overdue.len(),
                names(&report.overdue)
            ),
        )
        .into());
    }
    if wait.is_some() && !report.pending.is_empty() {
        return Err(Failure {
            error: Error::new(
                ErrorKind::SubmissionOverdue,
                format!(
                    "the wait ended with {} submission(s) still waiting for a status (none overdue yet): {}; poll again later",
                    report.pending.len(),
                    report.pending.join(", ")
                ),
            ),
            exit_code: Some(crate::EXIT_STILL_WAITING),
        });
    }
    Ok(())
}

fn names(list: &[Submission]) -> String {
    list.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
}

fn print_poll(report: &PollReport, inbox: &Path) -> Result<()> {
    for r in &report.receipts {
        let error = r
            .receipt
            .first_error()
            .map(|e| format!("  {} {}", e.code.as_deref().unwrap_or(""), e.message.as_deref().unwrap_or("")))
            .unwrap_or_default();
        out!("status {}  {}  {}{error}", r.receipt.code.as_digit(), r.receipt.transaction_id, r.outcome)?;
    }
    for r in &report.unknown {
        out!("unknown  {}  (status {} {}; left in out)", r.receipt.status_file, r.receipt.code.as_digit(), r.outcome)?;
    }
    for f in &report.unknown_files {
        let kept = if f.deleted_remote { "deleted in out" } else { "left in out" };
        out!("unknown  {}  (a file for no submission of this journal; copy in {}; {kept})", f.remote_name, f.local_path.display())?;
    }
    for f in &report.invalid {
        out!("invalid  {}  (copy in {}): {}", f.remote_name, f.local_path.display(), f.reason)?;
    }
    for f in &report.skipped {
        out!("skipped  {:?}  ({}; left in out)", f.remote_name, f.reason)?;
    }
    for s in &report.rejected {
        let error = s.error.as_ref().and_then(|e| e.code.clone()).unwrap_or_default();
        out!("rejected  {}  {}  {error}", s.name, s.service)?;
    }
    for s in &report.overdue {
        out!("overdue  {}  {}", s.name, s.service)?;
    }
    for s in &report.stale {
        let file = s.local_path.as_deref().map(|p| p.display().to_string()).unwrap_or_else(|| "the file".into());
        out!("stale  {}  {}  (upload interrupted {}; resubmit {file} to finish it)", s.name, s.service, format_ms(s.updated_at))?;
    }
    let new = report.files.iter().filter(|f| f.new).count();
    out!("{new} new file(s) in {}; {} submission(s) waiting for a status", inbox.display(), report.pending.len())
}

pub fn status(args: StatusArgs, profile: &ProfileArgs) -> Result<()> {
    let journal_path = match &args.journal {
        Some(path) => path.clone(),
        None => profile.load()?.journal,
    };
    if !journal_path.exists() {
        return Err(Error::new(
            ErrorKind::Journal,
            format!("there is no journal at {}: nothing was submitted with this profile yet (or give --journal)", journal_path.display()),
        ));
    }
    // Only --close writes; a monitoring user who may only read the journal can look at it.
    let journal = if args.close { Journal::open(&journal_path)? } else { Journal::open_read_only(&journal_path)? };
    let mut list = Vec::new();
    for name in &args.names {
        let found = journal.submissions_named(name)?;
        if found.is_empty() {
            return Err(Error::new(
                ErrorKind::UnknownSubmission,
                format!("the journal {} has no submission named {name}; `skat-gateway status` lists them all", journal_path.display()),
            ));
        }
        if args.close {
            // A name is unique per certificate; close it for each certificate that used it.
            for s in found {
                list.push(journal.close(&s.owner, name, args.reason.as_deref())?);
            }
        } else {
            list.extend(found);
        }
    }
    if args.names.is_empty() {
        list = journal.submissions(None)?;
    }
    if args.json {
        return output::json(&list);
    }
    if list.is_empty() {
        out!("no submissions in {}", journal_path.display())?;
    }
    for s in &list {
        out!("{}  {}  {}  attempts {}  updated {}", s.name, s.state, s.service, s.attempts, format_ms(s.updated_at))?;
        if let Some(at) = s.closed_at {
            out!("    closed {}{}", format_ms(at), s.close_reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())?;
        }
        if let Some(e) = &s.error {
            out!(
                "    error {}: {}{}",
                e.code.as_deref().unwrap_or("?"),
                e.message.as_deref().unwrap_or(""),
                e.resolution.as_deref().map(|r| format!(" -- {r}")).unwrap_or_default()
            )?;
        }
        for r in &s.receipts {
            let at = r.local_path.as_deref().map(|p| format!("  {}", p.display())).unwrap_or_default();
            out!("    receipt  {}{at}", r.status_file)?;
        }
        for r in &s.response_files {
            let at = r.local_path.as_deref().map(|p| format!("  {}", p.display())).unwrap_or_default();
            out!("    response {}{at}", r.remote_name)?;
        }
    }
    Ok(())
}

pub fn services(args: ServicesArgs, profile: &ProfileArgs) -> Result<()> {
    let config = profile.load()?;
    let mut client = Client::offline(config)?;
    let gateway = if args.legacy { GatewayChoice::Legacy } else { client.config().default_gateway };
    let services = client.services_on(gateway)?;
    if args.json {
        output::json(&services)?;
    } else {
        for s in &services {
            out!("{}  ({:?}, {:?}{})", s.name, s.system, s.transfer_type, if s.known { "" } else { ", not in the catalogue" })?;
        }
    }
    let _ = client.close();
    Ok(())
}

pub fn ping(args: PingArgs, profile: &ProfileArgs) -> Result<()> {
    let config = profile.load()?;
    let timeout = nonzero_duration("--timeout", &args.timeout)?;
    let inbox = config.inbox.clone();
    let mut client = Client::connect(config)?;
    let ping = client.ping(&inbox, timeout)?;
    if args.json {
        output::json(&ping)?;
    } else {
        out!("{}: status 1 after {:.3} s ({})", ping.name, ping.round_trip.as_secs_f64(), ping.receipt.status_text.as_deref().unwrap_or(""))?;
    }
    let _ = client.close();
    Ok(())
}

pub fn login_info(args: LoginInfoArgs, profile: &ProfileArgs) -> Result<()> {
    if args.save.is_none() && !args.show {
        return Err(Error::new(ErrorKind::InvalidArgument, "say what to do with the password: --save FILE (mode 0600) and/or --show"));
    }
    let mut config = profile.load()?;
    // The legacy gateway takes the certificate alone; no password is needed (or known yet).
    config.password = None;
    config.password_file = None;
    let mut client = Client::offline(config)?;
    let password = client.fetch_login_info()?;
    if let Some(path) = &args.save {
        gateway::gateway::migration::save_password(path, &password, args.force)?;
        eprintln!("saved the new gateway password for {} to {} (mode 0600)", client.username(), path.display());
    }
    if args.show {
        out!("{}", password.expose())?;
    }
    let _ = client.close();
    Ok(())
}
