//! `skat-gateway`: the command-line face of the library. Glue only: parse arguments, call the core, print.
//!
//! Each group of commands lives in its own module; this file holds the command table, logging set-up and the
//! mapping from error kinds to exit codes.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use gateway::{Error, ErrorKind};
use std::process::ExitCode;

mod connect;
#[cfg(feature = "sim")]
mod demo;
mod identity;
mod output;
mod secrets;
#[cfg(feature = "sim")]
mod sim;
mod transfer;
mod workflow;

const EXIT_CODES: &str = "\
Exit codes:
  0   success
  1   internal error (a bug: please report it)
  2   usage error (bad arguments)
  3   configuration or argument error (also: a --name the gateway would refuse, a name not in the journal, a
      service that does not exist or that the certificate may not use: nothing was sent)
  4   certificate problem (file, password, key, kind, validity)
  5   TLS problem (version, server certificate, client certificate rejected)
  6   network problem (host not found, refused, time-out, connection lost)
  7   login refused
  8   the server refused an operation or the path does not exist
  9   a submission was rejected (status 0) and not closed since, or a filename was used before
  10  a submission is overdue (no status before the deadline), or an upload was interrupted and neither
      finished nor closed
  11  local journal or file error
  12  the simulator could not start or run (e.g. its port is in use)
  13  poll --wait ended with submissions still waiting for a status (none overdue)
With --json, stdout holds one JSON document also on failure: {\"error\": {\"kind\", \"code\", \"exit_code\",
\"message\", \"server_reply\"}}.";

/// A command's failure: the error, and the exit code when it is not the one its kind maps to.
pub struct Failure {
    pub error: Error,
    pub exit_code: Option<u8>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure { error, exit_code: None }
    }
}

/// Exit code 13 (see EXIT_CODES).
pub const EXIT_STILL_WAITING: u8 = 13;

#[derive(Parser)]
#[command(name = "skat-gateway", version, about = "Talk to the Danish customs agency's FTPS Gateway (ICS and Manifest)")]
#[command(after_help = EXIT_CODES, propagate_version = true)]
struct Cli {
    /// More log output (-v info, -vv debug, -vvv trace); logs go to stderr and never contain secrets.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(flatten)]
    profile: workflow::ProfileArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect a certificate or export its public part for registration with the agency.
    #[command(subcommand)]
    Identity(identity::IdentityCommand),
    /// List a remote folder: size and name per line, folders end in /.
    Ls(transfer::LsArgs),
    /// Upload one file under the name given (low level: no unique name, nothing journaled).
    Put(transfer::PutArgs),
    /// Download one file; it appears under its final name only when complete.
    Get(transfer::GetArgs),
    /// Delete one remote file.
    Rm(transfer::RmArgs),
    /// Run the gateway simulator in a folder until Ctrl-C / SIGTERM (writes client.toml and ready.json there).
    #[cfg(feature = "sim")]
    Sim(sim::SimArgs),
    /// The main job end to end against a built-in simulator: identity, connect, submit, receipts, reuse refused.
    #[cfg(feature = "sim")]
    Demo,
    /// Submit files to a service: unique names, journal, upload (retried under the same name).
    Submit(workflow::SubmitArgs),
    /// Fetch status and response files from `out` into the inbox and advance the submissions.
    Poll(workflow::PollArgs),
    /// Show submissions and their states from the journal (no network).
    Status(workflow::StatusArgs),
    /// List the services this certificate may use.
    Services(workflow::ServicesArgs),
    /// Send a heartbeat to FTPSGW.Heartbeat and wait for its status 1.
    Ping(workflow::PingArgs),
    /// Migration: fetch the new gateway password from the legacy gateway.
    LoginInfo(workflow::LoginInfoArgs),
}

fn main() -> ExitCode {
    report_unwritable_output_as_an_error();
    // The exit codes under every subcommand's help too, where a script's author looks.
    let matches = Cli::command().mut_subcommands(|command| command.after_help(EXIT_CODES)).try_get_matches();
    let cli = match matches.and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        Err(e) => refuse_command_line(e),
    };
    init_logging(cli.verbose, cli.quiet);
    let json = cli.command.json();
    let result: Result<(), Failure> = match cli.command {
        Command::Identity(cmd) => identity::run(cmd).map_err(Failure::from),
        Command::Ls(args) => transfer::ls(args, &cli.profile).map_err(Failure::from),
        Command::Put(args) => transfer::put(args, &cli.profile, cli.quiet).map_err(Failure::from),
        Command::Get(args) => transfer::get(args, &cli.profile, cli.quiet).map_err(Failure::from),
        Command::Rm(args) => transfer::rm(args, &cli.profile).map_err(Failure::from),
        #[cfg(feature = "sim")]
        Command::Sim(args) => sim::run(args).map_err(Failure::from),
        #[cfg(feature = "sim")]
        Command::Demo => demo::run().map_err(Failure::from),
        Command::Submit(args) => workflow::submit(args, &cli.profile),
        Command::Poll(args) => workflow::poll(args, &cli.profile),
        Command::Status(args) => workflow::status(args, &cli.profile).map_err(Failure::from),
        Command::Services(args) => workflow::services(args, &cli.profile).map_err(Failure::from),
        Command::Ping(args) => workflow::ping(args, &cli.profile).map_err(Failure::from),
        Command::LoginInfo(args) => workflow::login_info(args, &cli.profile).map_err(Failure::from),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { error, exit_code: code }) => {
            let code = code.unwrap_or_else(|| exit_code(error.kind()));
            eprintln!("error: {error}");
            if json && !output::json_printed() {
                let _ = output::json(&serde_json::json!({ "error": error_json(&error, code) }));
            }
            ExitCode::from(code)
        }
    }
}

/// A command line clap refuses: its message on stderr and exit code 2, as clap does, and with `--json`
/// anywhere among the arguments also the JSON error document on stdout, which scripts rely on even when
/// the command line itself is wrong. Help and version requests are printed as usual.
fn refuse_command_line(e: clap::Error) -> ! {
    let wants_json = std::env::args_os().skip(1).any(|a| a == "--json");
    if e.use_stderr() && wants_json {
        let rendered = e.render().to_string();
        let message = rendered.lines().next().unwrap_or_default().trim_start_matches("error: ");
        let error = Error::new(ErrorKind::InvalidArgument, format!("{message}; see --help"));
        let _ = output::json(&serde_json::json!({ "error": error_json(&error, 2) }));
    }
    e.exit()
}

/// An error as scripts read it in `--json` output.
pub fn error_json(error: &Error, exit_code: u8) -> serde_json::Value {
    serde_json::json!({
        "kind": format!("{:?}", error.kind()),
        "code": error.kind().code(),
        "exit_code": exit_code,
        "message": error.to_string(),
        "server_reply": error.server_reply().map(|r| serde_json::json!({ "code": r.code, "text": r.text })),
    })
}

impl Command {
    /// True when the command was asked for JSON output.
    fn json(&self) -> bool {
        match self {
            Command::Identity(identity::IdentityCommand::Show { json, .. }) => *json,
            Command::Submit(args) => args.json,
            Command::Poll(args) => args.json,
            Command::Status(args) => args.json,
            Command::Services(args) => args.json,
            Command::Ping(args) => args.json,
            _ => false,
        }
    }
}

/// Output that cannot be written (a full disk behind `> file`, /dev/full) makes `println!` panic (clap's own
/// help and version output; everything else goes through [`output`]): say what happened and exit with the code
/// for local file errors instead of a backtrace and 101. A reader that went away ends the program quietly.
fn report_unwritable_output_as_an_error() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        if message.starts_with("failed printing to stdout") {
            eprintln!("error: {message}; check the free space of the file or device the output goes to");
            std::process::exit(i32::from(exit_code(ErrorKind::Io)));
        }
        default_hook(info);
    }));
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => log::LevelFilter::Error,
        (false, 0) => log::LevelFilter::Warn,
        (false, 1) => log::LevelFilter::Info,
        (false, 2) => log::LevelFilter::Debug,
        (false, _) => log::LevelFilter::Trace,
    };
    // suppaftp logs, at error level, failures this program reports itself with advice: only its debug and
    // trace lines (-vv, -vvv) add anything.
    let suppaftp = if level >= log::LevelFilter::Debug { level } else { log::LevelFilter::Off };
    env_logger::Builder::new()
        .filter_level(level)
        .filter_module("suppaftp", suppaftp)
        .format_timestamp(None)
        .target(env_logger::Target::Stderr)
        .init();
}

/// Groups error kinds into the exit codes documented in `--help`.
fn exit_code(kind: ErrorKind) -> u8 {
    if kind == ErrorKind::Io {
        return 11;
    }
    match kind.code() {
        100..=102 | 600 | 602 | 605 => 3,
        200..=299 => 4,
        300..=399 | 503 => 5,
        400..=499 => 6,
        500 => 7,
        501..=599 => 8,
        601 | 603 | 606 => 9,
        604 => 10,
        700..=799 => 11,
        800..=899 => 12,
        _ => 1,
    }
}

/// An error for problems found by the CLI itself (before the core is called).
#[allow(dead_code)]
fn usage_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}
