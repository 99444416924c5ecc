//! Login rules: which certificate is registered, which user name it implies, which password it has.
//!
//! New gateway: the client certificate is required and must be registered, the user name must be the one derived
//! from it, and the password must match. Legacy gateway: the registered certificate alone logs in; the user name
//! and password sent are ignored (any, or anonymous), in the usual USER/PASS exchange.

use super::{Generation, SimShared};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use unftp_core::auth::{AuthenticationError, Authenticator, Credentials, Principal, UserDetail, UserDetailError, UserDetailProvider};

/// The gateway user name implied by an OCES certificate (DER), or `None` when it is not one: the library's own
/// reading of the subject, so the simulator and the client can never disagree.
pub(crate) fn username_from_certificate(der: &[u8]) -> Option<String> {
    crate::identity::CertificateInfo::from_der(der).and_then(|info| info.username)
}

/// The logged-in certificate, as the storage rules see it.
#[derive(Debug)]
pub struct SimUser {
    pub(crate) username: String,
    pub(crate) home: PathBuf,
}

impl std::fmt::Display for SimUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.username)
    }
}

impl UserDetail for SimUser {
    fn home(&self) -> Option<&Path> {
        Some(&self.home)
    }
}

#[derive(Debug)]
pub(crate) struct GatewayAuthenticator {
    pub(crate) shared: Arc<SimShared>,
    pub(crate) generation: Generation,
}

#[async_trait]
impl Authenticator for GatewayAuthenticator {
    async fn authenticate(&self, username: &str, creds: &Credentials) -> Result<Principal, AuthenticationError> {
        let leaf = creds.certificate_chain.as_ref().and_then(|chain| chain.first()).ok_or(AuthenticationError::BadCert)?;
        let Some(client) = self.shared.registered_client(leaf.as_ref()) else {
            log::info!("simulator: login refused: the certificate presented is not registered");
            return Err(AuthenticationError::BadCert);
        };
        if self.generation == Generation::Legacy {
            // The certificate alone identifies the user on the legacy gateway.
            return Ok(Principal { username: client.username.clone() });
        }
        if username != client.username {
            log::info!("simulator: login refused: user name {username:?} does not belong to the certificate of {}", client.username);
            return Err(AuthenticationError::BadUser);
        }
        if creds.password.as_deref() != Some(client.gateway_password.expose()) {
            log::info!("simulator: login refused for {username}: wrong password");
            return Err(AuthenticationError::BadPassword);
        }
        Ok(Principal { username: client.username.clone() })
    }

    // Not libunftp's certificate-only shortcut (a `232` reply to USER, which clients rarely expect): like the
    // agency's legacy gateway, USER gets `331` and any password `230`, the certificate deciding who logs in.

    fn name(&self) -> &str {
        "skat-gateway simulator"
    }
}

#[derive(Debug)]
pub(crate) struct SimUserProvider {
    pub(crate) shared: Arc<SimShared>,
    pub(crate) generation: Generation,
}

#[async_trait]
impl UserDetailProvider for SimUserProvider {
    type User = SimUser;

    async fn provide_user_detail(&self, principal: &Principal) -> Result<SimUser, UserDetailError> {
        let client = self.shared.client_by_username(&principal.username).ok_or(UserDetailError::UserNotFound {
            username: principal.username.clone(),
        })?;
        Ok(SimUser { username: client.username.clone(), home: self.shared.user_root(self.generation, &client.username) })
    }
}
