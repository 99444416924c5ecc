//! The gateway's folder rules, as a storage back-end wrapped around `unftp-sbe-fs`.
//!
//! Each certificate has its own root (`users/<username>/` for the new gateway, `legacy/<username>/` for the
//! legacy one) holding `out` and the service folders of its roles; other certificates' roots are out of reach.
//! Bookkeeping (the names used, received files, temporary files) lives in `.gateway/` in that root and is hidden
//! from FTP. libunftp gives storage errors fixed reply texts ("550 Permission denied"), so the reason for a
//! refusal is logged (`-v`) rather than sent.

use super::auth::SimUser;
use super::faults::{Fault, LimitedReader};
use super::{Generation, SimShared, LOGIN_INFO_FILE, LOGIN_INFO_SERVICE};
use async_trait::async_trait;
use std::fmt::Debug;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use tokio::io::AsyncRead;
use unftp_core::storage::{Error, ErrorKind, Fileinfo, Metadata, Result, StorageBackend};
use unftp_sbe_fs::{Filesystem, Meta};

/// The folder in each user root that FTP never shows.
pub(crate) const HIDDEN: &str = ".gateway";

#[derive(Debug)]
pub(crate) struct GatewayStorage {
    inner: Option<Filesystem>,
    shared: Arc<SimShared>,
    generation: Generation,
}

/// What a path means under the gateway's rules.
#[derive(Debug, PartialEq, Eq)]
enum Place {
    Root,
    Out,
    OutFile(String),
    /// The legacy gateway's per-certificate folder (`UID_<uid>`) that holds the service folders.
    IdFolder,
    Service(String),
    ServiceFile { service: String, name: String },
    /// Anything else (hidden, deeper, or unknown).
    Elsewhere,
}

fn denied(why: &str) -> Error {
    log::info!("simulator: refused: {why}");
    Error::from(ErrorKind::PermissionDenied)
}

fn not_found() -> Error {
    Error::from(ErrorKind::PermanentFileNotAvailable)
}

/// The path's parts, with `.` and `..` resolved inside the root (never above it).
fn parts(path: &Path) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    parts
}

async fn drain<R: AsyncRead + Unpin>(input: &mut R) {
    let _ = tokio::io::copy(input, &mut tokio::io::sink()).await;
}

impl GatewayStorage {
    pub(crate) fn new(shared: Arc<SimShared>, generation: Generation) -> Self {
        let inner = match Filesystem::new(shared.users_dir(generation)) {
            Ok(fs) => Some(fs),
            Err(e) => {
                log::error!("simulator: cannot open {}: {e}", shared.users_dir(generation).display());
                None
            }
        };
        GatewayStorage { inner, shared, generation }
    }

    fn fs(&self) -> Result<&Filesystem> {
        self.inner.as_ref().ok_or_else(|| Error::from(ErrorKind::LocalError))
    }

    fn roles(&self, user: &SimUser) -> Vec<String> {
        self.shared.client_by_username(&user.username).map(|c| c.roles.clone()).unwrap_or_default()
    }

    fn classify(&self, user: &SimUser, path: &Path) -> Place {
        let parts = parts(path);
        let roles = self.roles(user);
        let is_service = |name: &str| roles.iter().any(|r| r == name);
        let mut rest: &[String] = &parts;
        if rest.first().map(String::as_str) == Some(HIDDEN) {
            return Place::Elsewhere;
        }
        match rest.first().map(String::as_str) {
            None => return Place::Root,
            Some("out") => {
                return match rest.len() {
                    1 => Place::Out,
                    2 => Place::OutFile(rest[1].clone()),
                    _ => Place::Elsewhere,
                }
            }
            _ => {}
        }
        if self.generation == Generation::Legacy {
            // Legacy: the service folders sit inside the certificate's own folder.
            let id_folder = self.shared.client_by_username(&user.username).map(|c| c.id_folder.clone()).unwrap_or_default();
            if rest[0] != id_folder {
                return Place::Elsewhere;
            }
            rest = &rest[1..];
            match rest.len() {
                0 => return Place::IdFolder,
                1 => return Place::Service(rest[0].clone()),
                2 => return Place::ServiceFile { service: rest[0].clone(), name: rest[1].clone() },
                _ => return Place::Elsewhere,
            }
        }
        match rest.len() {
            1 if is_service(&rest[0]) => Place::Service(rest[0].clone()),
            2 if is_service(&rest[0]) => Place::ServiceFile { service: rest[0].clone(), name: rest[1].clone() },
            _ => Place::Elsewhere,
        }
    }

    fn visible(&self, user: &SimUser, place: &Place) -> bool {
        let roles = self.roles(user);
        match place {
            Place::Root | Place::Out | Place::OutFile(_) | Place::IdFolder => true,
            Place::Service(s) | Place::ServiceFile { service: s, .. } => {
                roles.contains(s) || (self.generation == Generation::Legacy && s == LOGIN_INFO_SERVICE)
            }
            Place::Elsewhere => false,
        }
    }
}

#[async_trait]
impl StorageBackend<SimUser> for GatewayStorage {
    type Metadata = Meta;

    fn enter(&mut self, user: &SimUser) -> io::Result<()> {
        match self.inner.as_mut() {
            Some(fs) => StorageBackend::<SimUser>::enter(fs, user),
            None => Err(io::Error::other("the simulator folder could not be opened")),
        }
    }

    fn supported_features(&self) -> u32 {
        // No REST: the gateway takes whole files; a broken upload is sent again under a new name.
        0
    }

    async fn metadata<P: AsRef<Path> + Send + Debug>(&self, user: &SimUser, path: P) -> Result<Self::Metadata> {
        let place = self.classify(user, path.as_ref());
        if !self.visible(user, &place) {
            return Err(not_found());
        }
        self.fs()?.metadata(user, path).await
    }

    async fn list<P: AsRef<Path> + Send + Debug>(&self, user: &SimUser, path: P) -> Result<Vec<Fileinfo<PathBuf, Self::Metadata>>>
    where
        <Self as StorageBackend<SimUser>>::Metadata: Metadata,
    {
        let place = self.classify(user, path.as_ref());
        if !self.visible(user, &place) || matches!(place, Place::OutFile(_) | Place::ServiceFile { .. }) {
            return Err(Error::from(ErrorKind::PermanentDirectoryNotAvailable));
        }
        let base = parts(path.as_ref());
        let entries = self.fs()?.list(user, path).await?;
        Ok(entries
            .into_iter()
            .filter(|entry| {
                let mut child = base.clone();
                child.push(entry.path.to_string_lossy().into_owned());
                let child_path: PathBuf = std::iter::once("/".to_string()).chain(child).collect();
                let child_place = self.classify(user, &child_path);
                self.visible(user, &child_place)
            })
            .collect())
    }

    async fn get<P: AsRef<Path> + Send + Debug>(&self, user: &SimUser, path: P, start_pos: u64) -> Result<Box<dyn AsyncRead + Send + Sync + Unpin>> {
        let place = self.classify(user, path.as_ref());
        let allowed = match &place {
            Place::OutFile(_) => true,
            Place::ServiceFile { service, name } => {
                self.generation == Generation::Legacy && service == LOGIN_INFO_SERVICE && name == LOGIN_INFO_FILE
            }
            _ => false,
        };
        if !allowed {
            return Err(denied(&format!("{}: download only from out", path.as_ref().display())));
        }
        let reader = self.fs()?.get(user, path, start_pos).await?;
        Ok(match self.shared.faults.take(Fault::DROP_DATA) {
            Some(Fault::DropDataAfter(bytes)) => Box::new(LimitedReader::new(reader, bytes)),
            _ => reader,
        })
    }

    async fn put<P: AsRef<Path> + Send + Debug, R: AsyncRead + Send + Sync + Unpin + 'static>(
        &self,
        user: &SimUser,
        input: R,
        path: P,
        start_pos: u64,
    ) -> Result<u64> {
        // libunftp has already answered 150 when this runs, so a refusal reads the data first: the client then
        // gets the 550 reply instead of a broken pipe in the middle of sending.
        let mut input = input;
        let place = self.classify(user, path.as_ref());
        let Place::ServiceFile { service, name } = place else {
            drain(&mut input).await;
            return Err(denied(&format!("{}: upload only into a service folder", path.as_ref().display())));
        };
        if start_pos != 0 {
            drain(&mut input).await;
            return Err(Error::from(ErrorKind::CommandNotImplemented));
        }
        let known_service = self.roles(user).contains(&service);
        if !known_service && (self.generation == Generation::New || service == LOGIN_INFO_SERVICE) {
            drain(&mut input).await;
            return Err(denied(&format!("{}: no such service folder for this certificate", path.as_ref().display())));
        }
        let input: Box<dyn AsyncRead + Send + Sync + Unpin> = match self.shared.faults.take(Fault::DROP_DATA) {
            Some(Fault::DropDataAfter(bytes)) => Box::new(LimitedReader::new(input, bytes)),
            _ => Box::new(input),
        };
        // Store into the hidden incoming folder first: the service folder never shows a half-received file, and
        // a legacy upload to a service that does not exist still has somewhere to go.
        let incoming = format!("/{HIDDEN}/incoming/{}-{name}", self.shared.next_sequence());
        let stored = self.fs()?.put(user, input, &incoming, 0).await;
        let home = self.shared.user_root(self.generation, &user.username);
        let incoming_path = home.join(incoming.trim_start_matches('/'));
        match stored {
            Ok(bytes) => {
                // In a task of its own: a session cut now (a restart, a client gone) cancels this future, and an
                // acceptance cut in half would record the name but lose the file.
                let (shared, generation, username) = (self.shared.clone(), self.generation, user.username.clone());
                let accepted = tokio::spawn(async move { shared.accept_upload(generation, &username, &service, &name, incoming_path).await });
                let _ = accepted.await;
                Ok(bytes)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&incoming_path).await;
                Err(e)
            }
        }
    }

    async fn del<P: AsRef<Path> + Send + Debug>(&self, user: &SimUser, path: P) -> Result<()> {
        match self.classify(user, path.as_ref()) {
            Place::OutFile(name) => {
                let home = self.shared.user_root(self.generation, &user.username);
                let contents = tokio::fs::read(home.join("out").join(&name)).await.unwrap_or_default();
                self.fs()?.del(user, path).await?;
                self.shared.audit(super::AuditEvent::Deleted, self.generation, &user.username, &name, &contents).await;
                Ok(())
            }
            _ => Err(denied(&format!("{}: delete only in out", path.as_ref().display()))),
        }
    }

    async fn mkd<P: AsRef<Path> + Send + Debug>(&self, _user: &SimUser, path: P) -> Result<()> {
        Err(denied(&format!("{}: the gateway does not allow creating folders", path.as_ref().display())))
    }

    async fn rename<P: AsRef<Path> + Send + Debug>(&self, user: &SimUser, from: P, to: P) -> Result<()> {
        match (self.classify(user, from.as_ref()), self.classify(user, to.as_ref())) {
            (Place::OutFile(_), Place::OutFile(_)) => self.fs()?.rename(user, from, to).await,
            _ => Err(denied("rename only within out")),
        }
    }

    async fn rmd<P: AsRef<Path> + Send + Debug>(&self, _user: &SimUser, path: P) -> Result<()> {
        Err(denied(&format!("{}: the gateway does not allow removing folders", path.as_ref().display())))
    }

    async fn cwd<P: AsRef<Path> + Send + Debug>(&self, user: &SimUser, path: P) -> Result<()> {
        let place = self.classify(user, path.as_ref());
        match place {
            Place::Root | Place::Out | Place::IdFolder | Place::Service(_) if self.visible(user, &place) => {
                self.fs()?.cwd(user, path).await
            }
            _ => Err(Error::from(ErrorKind::PermanentDirectoryNotAvailable)),
        }
    }
}
