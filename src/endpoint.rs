//! Where the gateway is: environment (TFE, production) x generation (legacy, new), or a custom host.
//!
//! The agency runs two gateway generations side by side during the migration, each in a test ("TFE") and a
//! production environment. They differ in control port, passive data-port range and TLS version, so an
//! [`Endpoint`] carries all three facts; a firewall rule or a support ticket can be written from its
//! [`Display`](fmt::Display) and [`Endpoint::data_ports`].

use std::fmt;
use std::ops::RangeInclusive;

/// The agency's environments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Environment {
    /// The test environment ("TFE"): `secureftpgatewaytest.skat.dk`.
    Tfe,
    /// Production: `secureftpgateway.skat.dk`.
    Production,
}

impl Environment {
    /// The gateway's host name in this environment.
    pub fn host(self) -> &'static str {
        match self {
            Environment::Tfe => "secureftpgatewaytest.skat.dk",
            Environment::Production => "secureftpgateway.skat.dk",
        }
    }
}

/// The two gateway generations that run side by side during the migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Generation {
    /// The old gateway: port 6371, passive data ports 35000-35100, TLS 1.0, certificate-only login.
    Legacy,
    /// The new gateway: port 6381, passive data ports 36000-39999, TLS 1.2 only, certificate + password.
    New,
}

impl Generation {
    /// The control port.
    pub fn port(self) -> u16 {
        match self {
            Generation::Legacy => 6371,
            Generation::New => 6381,
        }
    }

    /// The passive data ports the gateway hands out (the range a customer firewall must allow).
    pub fn data_ports(self) -> RangeInclusive<u16> {
        match self {
            Generation::Legacy => 35000..=35100,
            // Published as 36000-36100 at launch and widened in 2021.
            Generation::New => 36000..=39999,
        }
    }
}

/// A gateway address: host, control port, the passive data-port range to expect, and the generation (which
/// decides the TLS version and the login rules).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    host: String,
    port: u16,
    data_ports: Option<RangeInclusive<u16>>,
    generation: Generation,
}

impl Endpoint {
    /// One of the agency's four published endpoints.
    pub fn new(environment: Environment, generation: Generation) -> Self {
        Endpoint {
            host: environment.host().to_owned(),
            port: generation.port(),
            data_ports: Some(generation.data_ports()),
            generation,
        }
    }

    /// Any other server (a simulator, a test server, a proxy). It is treated as the new gateway (TLS 1.2,
    /// password login) and no data-port range is expected unless set with [`Endpoint::with_data_ports`].
    pub fn custom(host: impl Into<String>, port: u16) -> Self {
        Endpoint { host: host.into(), port, data_ports: None, generation: Generation::New }
    }

    /// The same endpoint, expecting passive data ports in `ports` (a warning is logged for any other port).
    pub fn with_data_ports(mut self, ports: RangeInclusive<u16>) -> Self {
        self.data_ports = Some(ports);
        self
    }

    /// The same endpoint, following the rules of `generation` (legacy: TLS 1.0 allowed with the `legacy-tls`
    /// feature, certificate-only login possible). The data-port range is left as it is.
    pub fn with_generation(mut self, generation: Generation) -> Self {
        self.generation = generation;
        self
    }

    /// The same endpoint on another host (e.g. a proxy or a fixed IP address), keeping port and ranges.
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// The same endpoint on another control port, keeping host and ranges.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The passive data-port range this endpoint is expected to use, if known.
    pub fn data_ports(&self) -> Option<&RangeInclusive<u16>> {
        self.data_ports.as_ref()
    }

    pub fn generation(&self) -> Generation {
        self.generation
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // IPv6 literals need brackets, or "::1:6381" would be ambiguous.
        if self.host.contains(':') && !self.host.starts_with('[') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_endpoints() {
        let new_prod = Endpoint::new(Environment::Production, Generation::New);
        assert_eq!(new_prod.to_string(), "secureftpgateway.skat.dk:6381");
        assert_eq!(new_prod.data_ports(), Some(&(36000..=39999)));
        assert_eq!(new_prod.generation(), Generation::New);

        let legacy_tfe = Endpoint::new(Environment::Tfe, Generation::Legacy);
        assert_eq!(legacy_tfe.to_string(), "secureftpgatewaytest.skat.dk:6371");
        assert_eq!(legacy_tfe.data_ports(), Some(&(35000..=35100)));
        assert_eq!(legacy_tfe.generation(), Generation::Legacy);
    }

    #[test]
    fn custom_endpoints() {
        let local = Endpoint::custom("127.0.0.1", 2121);
        assert_eq!(local.to_string(), "127.0.0.1:2121");
        assert_eq!(local.data_ports(), None);
        assert_eq!(local.generation(), Generation::New);
        assert_eq!(Endpoint::custom("::1", 21).to_string(), "[::1]:21");
        let ranged = local.with_data_ports(50000..=50010).with_generation(Generation::Legacy);
        assert_eq!(ranged.data_ports(), Some(&(50000..=50010)));
        assert_eq!(ranged.generation(), Generation::Legacy);
    }
}
