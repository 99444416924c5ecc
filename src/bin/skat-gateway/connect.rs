//! The connection options every command that talks to the gateway takes, and the session configuration they
//! make.

use crate::identity::CertificateArgs;
use crate::secrets::SecretSource;
use gateway::ftp::{Login, SessionConfig, Timeouts};
use gateway::tls::TlsOptions;
use gateway::{Endpoint, Environment, Error, ErrorKind, Generation, Result};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where the gateway password may come from (never from a plain argument).
pub const GATEWAY_PASSWORD: SecretSource<'static> = SecretSource {
    what: "gateway password",
    env_var: "SKAT_GATEWAY_PASSWORD",
    file_option: "--password-file",
};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvArg {
    /// The test environment, secureftpgatewaytest.skat.dk.
    Tfe,
    /// Production, secureftpgateway.skat.dk.
    Production,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatewayArg {
    /// Port 6381, TLS 1.2, certificate + user name + password.
    New,
    /// Port 6371, TLS 1.0 (needs the legacy-tls build), certificate only.
    Legacy,
}

#[derive(clap::Args, Debug)]
pub struct ConnectArgs {
    /// The agency's environment to connect to.
    #[arg(long = "env", value_enum, value_name = "ENV")]
    pub environment: Option<EnvArg>,
    /// The gateway generation: the new one (6381) or the legacy one (6371, for old replies during the migration).
    #[arg(long, value_enum, default_value = "new")]
    pub gateway: GatewayArg,
    /// Another host (a simulator, a test server); without --env it gets no expected data-port range.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Another control port (default: 6381 for the new gateway, 6371 for the legacy one).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    #[command(flatten)]
    pub certificate: CertificateArgs,
    /// A PEM file of CA certificates to trust besides the system's (a test server's CA).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// The gateway user name, when the one derived from the certificate is not the registered one.
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,
    /// A file holding only the gateway password. Otherwise the environment variable SKAT_GATEWAY_PASSWORD, or
    /// a hidden prompt when stdin is a terminal. The legacy gateway needs none.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Seconds to wait for any answer from the server.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub timeout: u64,
    /// Also allow TLS 1.3 (for servers other than the gateway, which speaks TLS 1.2 only).
    #[arg(long)]
    pub allow_tls13: bool,
}

impl ConnectArgs {
    /// The endpoint these options name.
    pub fn endpoint(&self) -> Result<Endpoint> {
        let generation = match self.gateway {
            GatewayArg::New => Generation::New,
            GatewayArg::Legacy => Generation::Legacy,
        };
        let mut endpoint = match (self.environment, &self.host) {
            (Some(env), _) => {
                let environment = match env {
                    EnvArg::Tfe => Environment::Tfe,
                    EnvArg::Production => Environment::Production,
                };
                Endpoint::new(environment, generation)
            }
            (None, Some(host)) => Endpoint::custom(host.clone(), generation.port()).with_generation(generation),
            (None, None) => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "no gateway given: use --env tfe or --env production (and --gateway legacy for the old one), or --host",
                ))
            }
        };
        if let (Some(_), Some(host)) = (self.environment, &self.host) {
            endpoint = endpoint.with_host(host.clone());
        }
        if let Some(port) = self.port {
            endpoint = endpoint.with_port(port);
        }
        Ok(endpoint)
    }

    /// Loads the certificate, reads the password where one is needed, and builds the session configuration.
    pub fn session_config(&self) -> Result<SessionConfig> {
        let endpoint = self.endpoint()?;
        if self.timeout == 0 {
            return Err(Error::new(ErrorKind::InvalidArgument, "--timeout must be at least 1 second"));
        }
        let identity = Arc::new(self.certificate.load()?);
        let login = if endpoint.generation() == Generation::Legacy && !self.password_given() {
            Login::CertificateOnly { username: self.username.clone() }
        } else {
            Login::Password {
                username: self.username.clone(),
                password: GATEWAY_PASSWORD.read(self.password_file.as_deref())?,
            }
        };
        let tls = TlsOptions { ca_file: self.ca_file.clone(), allow_tls13: self.allow_tls13, ..TlsOptions::default() };
        let timeouts =
            Timeouts { io: Duration::from_secs(self.timeout), connect: Duration::from_secs(self.timeout.min(30)) };
        Ok(SessionConfig::new(endpoint, identity, login).with_tls(tls).with_timeouts(timeouts))
    }

    fn password_given(&self) -> bool {
        self.password_file.is_some() || std::env::var_os(GATEWAY_PASSWORD.env_var).is_some_and(|v| !v.is_empty())
    }
}
