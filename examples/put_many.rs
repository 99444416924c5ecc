//! Uploads several files in one FTPS session: what a nightly job does with a batch of declarations (and
//! what `bench/small-files.sh` measures, as the CLI's `put` takes one file per session).
//!
//! ```text
//! SKAT_GATEWAY_PASSWORD=... cargo run --release --example put_many -- \
//!     --host HOST --port PORT --cert CERT.pem --key KEY.pem [--ca-file CA.pem] [--remote-dir DIR] FILE...
//! ```
//!
//! `--cert` may also be a PKCS#12 file (then without `--key`, its password in SKAT_GATEWAY_CERT_PASSWORD).
//! Each file keeps its name on the server. The gateway password comes from SKAT_GATEWAY_PASSWORD.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use gateway::ftp::{Login, Session, SessionConfig, TransferType};
use gateway::tls::TlsOptions;
use gateway::{Endpoint, Error, ErrorKind, Identity, Result, Secret};

fn main() -> ExitCode {
    match run() {
        Ok(count) => {
            eprintln!("uploaded {count} files in one session");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Default)]
struct Args {
    host: Option<String>,
    port: Option<u16>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    remote_dir: Option<String>,
    files: Vec<PathBuf>,
}

fn parse_args() -> Result<Args> {
    let usage = |what: &str| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "{what}; usage: put_many --host HOST --port PORT --cert CERT [--key KEY] [--ca-file CA] \
                 [--remote-dir DIR] FILE..."
            ),
        )
    };
    let mut args = Args::default();
    let mut input = std::env::args().skip(1);
    while let Some(arg) = input.next() {
        let mut value = || input.next().ok_or_else(|| usage(&format!("{arg} needs a value")));
        match arg.as_str() {
            "--host" => args.host = Some(value()?),
            "--port" => args.port = Some(value()?.parse().map_err(|_| usage("--port must be a number"))?),
            "--cert" => args.cert = Some(value()?.into()),
            "--key" => args.key = Some(value()?.into()),
            "--ca-file" => args.ca_file = Some(value()?.into()),
            "--remote-dir" => args.remote_dir = Some(value()?),
            option if option.starts_with("--") => return Err(usage(&format!("unknown option {option}"))),
            file => args.files.push(file.into()),
        }
    }
    if args.files.is_empty() {
        return Err(usage("no files given"));
    }
    Ok(args)
}

fn run() -> Result<usize> {
    let args = parse_args()?;
    let missing = |what: &str| Error::new(ErrorKind::InvalidArgument, format!("{what} is required"));
    let host = args.host.ok_or_else(|| missing("--host"))?;
    let port = args.port.ok_or_else(|| missing("--port"))?;
    let cert = args.cert.ok_or_else(|| missing("--cert"))?;
    let identity = match &args.key {
        Some(key) => Identity::from_pem_files(&cert, Some(key))?,
        None => {
            let password = std::env::var("SKAT_GATEWAY_CERT_PASSWORD").ok().map(Secret::new);
            Identity::from_file(&cert, password.as_ref())?
        }
    };
    let password = std::env::var("SKAT_GATEWAY_PASSWORD").map_err(|_| {
        Error::new(ErrorKind::Config, "set SKAT_GATEWAY_PASSWORD to the gateway password")
    })?;
    let tls = TlsOptions { ca_file: args.ca_file, ..TlsOptions::default() };
    let config = SessionConfig::new(Endpoint::custom(host, port), Arc::new(identity), Login::password(password))
        .with_tls(tls);

    let mut session = Session::connect(&config)?;
    for file in &args.files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, format!("{} has no usable file name", file.display())))?;
        let remote = match &args.remote_dir {
            Some(dir) => format!("{}/{name}", dir.trim_end_matches('/')),
            None => name.to_owned(),
        };
        session.upload_file(file, &remote, TransferType::Binary, None)?;
    }
    session.quit()?;
    Ok(args.files.len())
}
