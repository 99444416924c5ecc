//! `skat-gateway submit | poll | status | services | ping | login-info`: the submission workflow. Glue only.

use gateway::gateway::client::{PollOptions, SubmitOptions, Submitted};
use gateway::gateway::config::parse_duration;
use gateway::gateway::{Client, Config, Event, GatewayChoice, PollReport};
use gateway::journal::{format_ms, Journal, Submission, SubmissionState};
use gateway::{Error, ErrorKind, Result};
use std::io::{IsTerminal, Write};
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
    /// Print the submissions as JSON.
    #[arg(long)]
    json: bool,
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
    /// Print the poll report as JSON: files fetched, receipts, unknown and invalid files, overdue submissions.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// Only this submission (its filename).
    name: Option<String>,
    /// Close the submission NAME: stop waiting for its status (e.g. Overdue, after asking the agency); it
    /// becomes Closed in the journal and `poll` no longer exits 10 for it.
    #[arg(long, requires = "name")]
    close: bool,
    /// Why it was closed, kept in the journal (with --close).
    #[arg(long, value_name = "TEXT", requires = "close")]
    reason: Option<String>,
    /// The journal file (default: the profile's).
    #[arg(long, value_name = "FILE")]
    journal: Option<PathBuf>,
    /// Print the submissions as JSON (the journal records).
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ServicesArgs {
    /// Ask the legacy gateway instead of the new one.
    #[arg(long)]
    legacy: bool,
    /// Print the services as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct PingArgs {
    /// How long to wait for the heartbeat's status 1.
    #[arg(long, value_name = "DURATION", default_value = "2m")]
    timeout: String,
    /// Print the heartbeat's name, receipt and round trip as JSON.
    #[arg(long)]
    json: bool,
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

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot format JSON: {e}")))?;
    println!("{text}");
    Ok(())
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

pub fn submit(args: SubmitArgs, profile: &ProfileArgs) -> Result<()> {
    if args.name.is_some() && args.files.len() > 1 {
        return Err(Error::new(ErrorKind::InvalidArgument, "--name names one submission: give a single FILE with it"));
    }
    let config = profile.load()?;
    let mut client = Client::connect(config)?;
    attach_progress(&mut client);
    let options = SubmitOptions { name: args.name.clone(), prefix: None, again: args.again, allow_empty: args.allow_empty };
    let mut done = Vec::new();
    let mut first_error = None;
    let mut failed = 0;
    for file in &args.files {
        match client.submit_file(&args.service, file, &options) {
            Ok(Submitted::Sent(s)) => {
                if !args.json {
                    println!("{}  {}  {}  {}", s.name, s.state, s.service, file.display());
                }
                done.push(s);
            }
            Ok(Submitted::AlreadySubmitted(s)) => {
                if !args.json {
                    println!("{}: already submitted as {}, state {}; --again sends it anyway", file.display(), s.name, s.state);
                }
                done.push(s);
            }
            Err(e) => {
                // With several files each failure is reported as it happens and the end sums up; a single
                // file's error is the final error itself, printed once by main.
                let e = if e.message().contains(&file.display().to_string()) { e } else { e.context(file.display()) };
                if args.files.len() > 1 {
                    eprintln!("error: {e}");
                }
                failed += 1;
                first_error.get_or_insert(e);
            }
        }
    }
    if args.json {
        print_json(&done)?;
    }
    let _ = client.close();
    match first_error {
        Some(e) if args.files.len() > 1 => Err(Error::new(
            e.kind(),
            format!("{failed} of {} files were not submitted (see above); the others were", args.files.len()),
        )),
        Some(e) => Err(e),
        None => Ok(()),
    }
}

pub fn poll(args: PollArgs, profile: &ProfileArgs) -> Result<()> {
    let config = profile.load()?;
    let inbox = args.inbox.clone().unwrap_or_else(|| config.inbox.clone());
    let mut client = Client::connect(config)?;
    let options = PollOptions { keep_remote: args.keep_remote, delete_unknown: args.delete_unknown };
    let report = match &args.wait {
        Some(wait) => {
            let wait = parse_duration(wait).map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("--wait: {e}")))?;
            let interval = parse_duration(&args.interval)
                .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("--interval: {e}")))?
                .max(Duration::from_millis(100));
            client.poll_until_settled(&inbox, &options, wait, interval)?
        }
        None => client.poll(&inbox, &options)?,
    };
    let failed = report.receipts.iter().any(|r| matches!(r.outcome, gateway::journal::ReceiptOutcome::Applied { state: SubmissionState::Failed }));
    let overdue: Vec<Submission> = client
        .journal()
        .submissions(Some(client.username()))?
        .into_iter()
        .filter(|s| s.state == SubmissionState::Overdue)
        .collect();
    if args.json {
        print_json(&report)?;
    } else {
        print_poll(&report, &inbox);
    }
    let _ = client.close();
    if failed {
        return Err(Error::new(ErrorKind::SubmissionRejected, "a submission was rejected (status 0): `skat-gateway status` shows the gateway's error and what to do"));
    }
    if !report.stale.is_empty() {
        let names: Vec<&str> = report.stale.iter().map(|s| s.name.as_str()).collect();
        return Err(Error::new(
            ErrorKind::SubmissionOverdue,
            format!(
                "{} upload(s) were interrupted and never finished: {}; submit the same file(s) again to finish them",
                names.len(),
                names.join(", ")
            ),
        ));
    }
    if !overdue.is_empty() {
        let names: Vec<&str> = overdue.iter().map(|s| s.name.as_str()).collect();
        return Err(Error::new(
            ErrorKind::SubmissionOverdue,
            format!(
                "{} submission(s) got no status before their deadline: {}; the backend may be down. Keep polling; if \
                 nothing comes, ask the agency before sending again under a new name",
                names.len(),
                names.join(", ")
            ),
        ));
    }
    Ok(())
}

fn print_poll(report: &PollReport, inbox: &Path) {
    for r in &report.receipts {
        let error = r
            .receipt
            .first_error()
            .map(|e| format!("  {} {}", e.code.as_deref().unwrap_or(""), e.message.as_deref().unwrap_or("")))
            .unwrap_or_default();
        println!("status {}  {}  {}{error}", r.receipt.code.as_digit(), r.receipt.transaction_id, r.outcome);
    }
    for r in &report.unknown {
        println!("unknown  {}  (status {} for a name this journal never sent; left in out)", r.receipt.status_file, r.receipt.code.as_digit());
    }
    for f in &report.unknown_files {
        let kept = if f.deleted_remote { "deleted in out" } else { "left in out" };
        println!("unknown  {}  (a file for no submission of this journal; copy in {}; {kept})", f.remote_name, f.local_path.display());
    }
    for (name, local, why) in &report.invalid {
        println!("invalid  {name}  (copy in {}): {why}", local.display());
    }
    for s in &report.overdue {
        println!("overdue  {}  {}", s.name, s.service);
    }
    for s in &report.stale {
        let file = s.local_path.as_deref().map(|p| p.display().to_string()).unwrap_or_else(|| "the file".into());
        println!("stale  {}  {}  (upload interrupted {}; resubmit {file} to finish it)", s.name, s.service, format_ms(s.updated_at));
    }
    let new = report.files.iter().filter(|f| f.new).count();
    println!("{new} new file(s) in {}", inbox.display());
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
    let journal = Journal::open(&journal_path)?;
    let list = match &args.name {
        Some(name) => {
            let found = journal.submissions_named(name)?;
            if found.is_empty() {
                return Err(Error::new(
                    ErrorKind::UnknownSubmission,
                    format!("the journal {} has no submission named {name}", journal_path.display()),
                ));
            }
            if args.close {
                // A name is unique per certificate; close it for each certificate that used it.
                let mut closed = Vec::new();
                for s in found {
                    closed.push(journal.close(&s.owner, name, args.reason.as_deref())?);
                }
                closed
            } else {
                found
            }
        }
        None => journal.submissions(None)?,
    };
    if args.json {
        return print_json(&list);
    }
    if list.is_empty() {
        println!("no submissions in {}", journal_path.display());
    }
    for s in &list {
        println!("{}  {}  {}  attempts {}  updated {}", s.name, s.state, s.service, s.attempts, format_ms(s.updated_at));
        if let Some(at) = s.closed_at {
            println!("    closed {}{}", format_ms(at), s.close_reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default());
        }
        if let Some(e) = &s.error {
            println!(
                "    error {}: {}{}",
                e.code.as_deref().unwrap_or("?"),
                e.message.as_deref().unwrap_or(""),
                e.resolution.as_deref().map(|r| format!(" -- {r}")).unwrap_or_default()
            );
        }
        for r in &s.receipts {
            println!("    receipt  {r}");
        }
        for r in &s.response_files {
            println!("    response {r}");
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
        print_json(&services)?;
    } else {
        for s in &services {
            println!("{}  ({:?}, {:?}{})", s.name, s.system, s.transfer_type, if s.known { "" } else { ", not in the catalogue" });
        }
    }
    let _ = client.close();
    Ok(())
}

pub fn ping(args: PingArgs, profile: &ProfileArgs) -> Result<()> {
    let config = profile.load()?;
    let timeout = parse_duration(&args.timeout).map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("--timeout: {e}")))?;
    let inbox = config.inbox.clone();
    let mut client = Client::connect(config)?;
    let ping = client.ping(&inbox, timeout)?;
    if args.json {
        print_json(&ping)?;
    } else {
        println!("{}: status 1 after {:.3} s ({})", ping.name, ping.round_trip.as_secs_f64(), ping.receipt.status_text.as_deref().unwrap_or(""));
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
        let mut out = std::io::stdout();
        let _ = writeln!(out, "{}", password.expose());
    }
    let _ = client.close();
    Ok(())
}
