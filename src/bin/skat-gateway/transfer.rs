//! The low-level file commands: `ls`, `put`, `get`, `rm`. One session per command.

use crate::connect::ConnectArgs;
use crate::workflow::ProfileArgs;
use gateway::ftp::{Durability, Session, TransferType};
use gateway::{Error, ErrorKind, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct LsArgs {
    /// The remote folder (default: the folder the gateway shows after login).
    pub path: Option<String>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(clap::Args, Debug)]
pub struct PutArgs {
    /// The local file to upload.
    pub local: PathBuf,
    /// The remote name or path (default: the local file's name; a path ending in / gets that name appended).
    pub remote: Option<String>,
    /// Transfer as text (TYPE A: LF becomes CRLF), for services that require ASCII mode.
    #[arg(long)]
    pub ascii: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(clap::Args, Debug)]
pub struct GetArgs {
    /// The remote file to download.
    pub remote: String,
    /// The local file or folder (default: the remote file's name in the current folder), or - for standard
    /// output. A file appears only once the transfer is complete (an existing one is replaced then); a device
    /// or named pipe such as /dev/null is written to, and a symbolic link keeps pointing where it did.
    pub local: Option<PathBuf>,
    /// Transfer as text (TYPE A: CRLF becomes the local line end).
    #[arg(long)]
    pub ascii: bool,
    /// Have the file on disk (fsync) before exiting, so that it survives a power cut: use it when you delete
    /// the remote copy afterwards. Slower for large files. `poll` always does this before it deletes.
    #[arg(long)]
    pub sync: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(clap::Args, Debug)]
pub struct RmArgs {
    /// The remote file to delete.
    pub remote: String,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn ls(args: LsArgs, profile: &ProfileArgs) -> Result<()> {
    let mut session = Session::connect(&args.connect.session_config(profile)?)?;
    let mut entries = session.list(args.path.as_deref())?;
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    for entry in &entries {
        let size = entry.size.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
        let suffix = if entry.is_dir { "/" } else { "" };
        crate::out!("{size:>12}  {}{suffix}", entry.name)?;
    }
    session.quit()
}

pub fn put(args: PutArgs, profile: &ProfileArgs, quiet: bool) -> Result<()> {
    let file_name = args
        .local
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, format!("{} is not a file", args.local.display())))?;
    let remote = match args.remote {
        None => file_name,
        Some(r) if r.ends_with('/') => format!("{r}{file_name}"),
        Some(r) => r,
    };
    let length = std::fs::metadata(&args.local)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot read {}: {e}", args.local.display())).with_source(e))?
        .len();
    let mut session = Session::connect(&args.connect.session_config(profile)?)?;
    let bar = progress_bar(Some(length), &remote, quiet);
    let mut report = |n: u64| bar.set_position(n);
    let sent = session.upload_file(&args.local, &remote, transfer_type(args.ascii), Some(&mut report))?;
    bar.finish_and_clear();
    log::info!("{} -> {remote}: {sent} bytes", args.local.display());
    session.quit()
}

pub fn get(args: GetArgs, profile: &ProfileArgs, quiet: bool) -> Result<()> {
    let remote_name = args.remote.rsplit('/').next().unwrap_or(&args.remote).to_owned();
    if remote_name.is_empty() || remote_name == "." || remote_name == ".." {
        return Err(Error::new(ErrorKind::InvalidArgument, format!("{} names no file to download", args.remote)));
    }
    let mut session;
    let local = match args.local {
        None => PathBuf::from(&remote_name),
        // `-` is standard output, as for curl -o - and most tools.
        Some(dash) if dash.as_os_str() == "-" => {
            session = Session::connect(&args.connect.session_config(profile)?)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
            let received = session.get(&args.remote, &mut out, transfer_type(args.ascii), None)?;
            log::info!("{} -> standard output: {received} bytes", args.remote);
            return session.quit();
        }
        Some(dir) if dir.is_dir() => dir.join(&remote_name),
        Some(path) => path,
    };
    session = Session::connect(&args.connect.session_config(profile)?)?;
    // SIZE lets the bar show a total; servers that do not answer it just get a bar without one.
    let total = if show_progress(quiet) { session.size(&args.remote).ok() } else { None };
    let bar = progress_bar(total, &args.remote, quiet);
    let mut report = |n: u64| bar.set_position(n);
    let durability = if args.sync { Durability::Synced } else { Durability::Atomic };
    let received =
        session.download_file(&args.remote, &local, transfer_type(args.ascii), durability, Some(&mut report))?;
    bar.finish_and_clear();
    log::info!("{} -> {}: {received} bytes", args.remote, display(&local));
    session.quit()
}

pub fn rm(args: RmArgs, profile: &ProfileArgs) -> Result<()> {
    let mut session = Session::connect(&args.connect.session_config(profile)?)?;
    session.delete(&args.remote)?;
    session.quit()
}

fn transfer_type(ascii: bool) -> TransferType {
    if ascii {
        TransferType::Ascii
    } else {
        TransferType::Binary
    }
}

fn show_progress(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

/// A progress bar on stderr, or a hidden one when stderr is not a terminal (logs, pipes, cron) or -q is given.
fn progress_bar(total: Option<u64>, name: &str, quiet: bool) -> ProgressBar {
    if !show_progress(quiet) {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{msg} {bytes} {bytes_per_sec}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr());
    bar.set_message(name.to_owned());
    bar
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
