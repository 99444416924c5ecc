//! The connection options every command that talks to the gateway takes, and the session configuration they
//! make.

use crate::identity::CertificateArgs;
use crate::secrets::SecretSource;
use crate::workflow::ProfileArgs;
use gateway::gateway::config::{environment_address, parse_duration};
use gateway::gateway::{Config, GatewayChoice};
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

/// How long to wait for an answer when neither --timeout nor a profile says.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// A connection that is not accepted within this time will not be: --timeout beyond it only affects answers.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

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

/// Without a --config profile, --env or --host and --cert are needed; with one, each option given replaces
/// the profile's setting for this command.
#[derive(clap::Args, Debug)]
pub struct ConnectArgs {
    /// The agency's environment to connect to.
    #[arg(long = "env", value_enum, value_name = "ENV")]
    pub environment: Option<EnvArg>,
    /// The gateway generation: the new one (6381) or the legacy one (6371, for old replies during the
    /// migration). Default: new, or the profile's default_gateway.
    #[arg(long, value_enum)]
    pub gateway: Option<GatewayArg>,
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
    /// A file holding only the gateway password. Otherwise the environment variable SKAT_GATEWAY_PASSWORD,
    /// the profile's password_file, or a hidden prompt when stdin is a terminal. The legacy gateway needs none.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// How long to wait for any answer from the server: seconds, or e.g. 90s, 2m (default: 60s, or the
    /// profile's io_timeout).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Also allow TLS 1.3 (for servers other than the gateway, which speaks TLS 1.2 only).
    #[arg(long)]
    pub allow_tls13: bool,
}

impl ConnectArgs {
    /// The session these options describe, on top of the --config profile when one is given.
    pub fn session_config(&self, profile: &ProfileArgs) -> Result<SessionConfig> {
        if self.timeout.is_some_and(|t| t < Duration::from_secs(1)) {
            return Err(Error::new(ErrorKind::InvalidArgument, "--timeout must be at least 1 second"));
        }
        if profile.config.is_none() {
            return self.session_config_without_profile();
        }
        let mut config = profile.load()?;
        let gateway = match self.gateway {
            Some(GatewayArg::New) => GatewayChoice::New,
            Some(GatewayArg::Legacy) => GatewayChoice::Legacy,
            None => config.default_gateway,
        };
        self.override_profile(&mut config, gateway);
        let identity = match self.certificate.cert {
            Some(_) => self.certificate.load()?,
            None => config.load_identity()?,
        };
        if gateway == GatewayChoice::New && config.gateway_password()?.is_none() {
            config.password = Some(GATEWAY_PASSWORD.read(None)?);
            config.password_source = Some(GATEWAY_PASSWORD.origin());
        }
        let mut session = config.session_config(gateway, Arc::new(identity))?;
        session.tls.allow_tls13 = self.allow_tls13;
        Ok(session)
    }

    /// Replaces the profile's settings with the options given.
    fn override_profile(&self, config: &mut Config, gateway: GatewayChoice) {
        let address = config.address_mut(gateway);
        if let Some(environment) = self.environment {
            let name = match environment {
                EnvArg::Tfe => "tfe",
                EnvArg::Production => "production",
            };
            if let Some(agency) = environment_address(name, gateway) {
                *address = agency;
            }
        }
        if let Some(host) = &self.host {
            address.host = host.clone();
            if self.environment.is_none() {
                address.data_ports = None;
            }
        }
        if let Some(port) = self.port {
            address.port = port;
        }
        if self.certificate.cert.is_some() {
            config.key = None;
        }
        if let Some(ca_file) = &self.ca_file {
            config.ca_file = Some(ca_file.clone());
        }
        if let Some(username) = &self.username {
            config.username = Some(username.clone());
        }
        if let Some(file) = &self.password_file {
            config.password_file = Some(file.clone());
            config.password = None;
        }
        if let Some(timeout) = self.timeout {
            config.io_timeout = timeout;
            config.connect_timeout = timeout.min(MAX_CONNECT_TIMEOUT);
        }
    }

    /// The endpoint these options name.
    fn endpoint(&self) -> Result<Endpoint> {
        let generation = match self.gateway {
            None | Some(GatewayArg::New) => Generation::New,
            Some(GatewayArg::Legacy) => Generation::Legacy,
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
                    "no gateway given: use --env tfe or --env production (and --gateway legacy for the old one), \
                     --host, or a profile with --config",
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
    fn session_config_without_profile(&self) -> Result<SessionConfig> {
        let endpoint = self.endpoint()?;
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
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let timeouts = Timeouts { io: timeout, connect: timeout.min(MAX_CONNECT_TIMEOUT) };
        Ok(SessionConfig::new(endpoint, identity, login).with_tls(tls).with_timeouts(timeouts))
    }

    fn password_given(&self) -> bool {
        self.password_file.is_some() || std::env::var_os(GATEWAY_PASSWORD.env_var).is_some_and(|v| !v.is_empty())
    }
}
