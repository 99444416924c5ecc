//! ProFTPD and Pure-FTPd on loopback, configured as close to the agency's gateway as each allows: the FTPS
//! servers a forwarder or a software house is most likely to try the tool against besides vsftpd.
//!
//! Both come from Debian's packages, but like vsftpd they declare `Conflicts: ftp-server`, so dpkg installs
//! only one of the three. `scripts/install-test-deps` therefore unpacks `proftpd-core`, `proftpd-mod-crypto`
//! (mod_tls) and `pure-ftpd` with `dpkg-deb -x` under [`UNPACKED`] (no maintainer scripts, no system daemon)
//! and installs their libraries; a machine where one of them is installed normally works too.
//!
//! What each server is configured to do, shared with the vsftpd harness (`vsftpd.rs`: the PKI, the system
//! user, ports, stopping by process id):
//! - ProFTPD 1.3.8 (mod_tls): everything the gateway does. Explicit FTPS required for login and data
//!   (`TLSRequired on`), TLS 1.2 only (`TLSProtocol TLSv1.2`), client certificate required and verified
//!   against the test CA (`TLSVerifyClient on`), the data connection must resume the control connection's
//!   TLS session (mod_tls's default without `NoSessionReuseRequired`; it refuses with 425), passive ports in
//!   a range of their own, the system user chrooted into the test's folder (`DefaultRoot`).
//! - Pure-FTPd 1.0.50: TLS required for login and data (`-Y 3`), a client certificate required and verified
//!   (`-J -C:...`; Pure-FTPd verifies against the CA certificates in its own certificate file, so the test CA
//!   follows the server certificate there), TLS 1.2 only through an OpenSSL configuration file as for vsftpd
//!   (Pure-FTPd has no version switch), passive port range. It **cannot require TLS session resumption**:
//!   that is a compile-time switch (`ONLY_ACCEPT_REUSED_SSL_SESSIONS`) off in Debian's build, so these tests
//!   cannot prove resumption against it. Users are Pure-FTPd's virtual users (`pure-pw`), so each test gets
//!   its own root: the user name is the certificate's, mapped to the system user of the vsftpd harness.
//!   Pure-FTPd logs only to syslog; [`OtherServer::log`] has its console and transfer log.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::vsftpd::{
    ensure_user, free_port_block, openssl_conf, stop, user_ids, wait_until_ready, write, Pki, ServerTls,
    PASSWORD, USERNAME,
};

/// Where `scripts/install-test-deps` unpacks the servers' packages.
pub const UNPACKED: &str = "/opt/skat-gateway-interop";

/// Which server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    ProFtpd,
    PureFtpd,
}

impl Kind {
    /// The short name used for files and messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::ProFtpd => "proftpd",
            Kind::PureFtpd => "pure-ftpd",
        }
    }
}

/// The ProFTPD binary and the folder of its modules (mod_tls is one): the unpacked copy, else an installed one.
fn proftpd_install() -> (PathBuf, PathBuf) {
    for prefix in [format!("{UNPACKED}/proftpd/usr"), "/usr".to_owned()] {
        let (binary, modules) = (Path::new(&prefix).join("sbin/proftpd"), Path::new(&prefix).join("lib/proftpd"));
        if binary.exists() && modules.join("mod_tls.so").exists() {
            return (binary, modules);
        }
    }
    panic!("ProFTPD with mod_tls is not installed: run scripts/install-test-deps");
}

/// The Pure-FTPd binary and its `pure-pw` tool.
fn pure_ftpd_install() -> (PathBuf, PathBuf) {
    for prefix in [format!("{UNPACKED}/pure-ftpd/usr"), "/usr".to_owned()] {
        let (binary, pw) = (Path::new(&prefix).join("sbin/pure-ftpd"), Path::new(&prefix).join("bin/pure-pw"));
        if binary.exists() && pw.exists() {
            return (binary, pw);
        }
    }
    panic!("Pure-FTPd is not installed: run scripts/install-test-deps");
}

fn proftpd_conf(dir: &Path, pki: &Pki, modules: &Path, port: u16, passive: &std::ops::RangeInclusive<u16>) -> String {
    let d = |name: &str| dir.join(name).display().to_string();
    format!(
        "# written by tests/interop/other_servers.rs
ServerType standalone
ServerName \"skat-gateway interop (ProFTPD)\"
DefaultAddress 127.0.0.1
SocketBindTight on
UseIPv6 off
Port {port}
User root
Group root
PidFile {pid}
ScoreboardFile {scoreboard}
DelayTable none
WtmpLog off
UseReverseDNS off
# the system user of the certificate's user name, with its password, in this test's folder
AuthOrder mod_auth_unix.c
RequireValidShell off
DefaultRoot {root}
Umask 022
AllowOverwrite on
# passive mode, in this server's own range
PassivePorts {pmin} {pmax}
SystemLog {system_log}
TransferLog {transfer_log}
ModulePath {modules}
LoadModule mod_tls.c
# explicit FTPS, required for login and data; TLS 1.2 only; a client certificate from the test CA. Without
# TLSOptions NoSessionReuseRequired, data connections must resume the control connection's TLS session.
TLSEngine on
TLSLog {tls_log}
TLSRequired on
TLSProtocol TLSv1.2
TLSRSACertificateFile {cert}
TLSRSACertificateKeyFile {key}
TLSCACertificateFile {ca}
TLSVerifyClient on
TLSRenegotiate none
",
        pid = d("proftpd.pid"),
        scoreboard = d("proftpd.scoreboard"),
        root = d("root"),
        pmin = passive.start(),
        pmax = passive.end(),
        system_log = d("proftpd.log"),
        transfer_log = d("proftpd.xferlog"),
        modules = modules.display(),
        tls_log = d("proftpd.tls.log"),
        cert = pki.server_cert.display(),
        key = pki.server_key.display(),
        ca = pki.ca_cert.display(),
    )
}

/// Pure-FTPd's virtual user: the certificate's user name and password, the test user's ids, chrooted into
/// `root` (the `/./` in the home). Writes `pureftpd.passwd` and its database `pureftpd.pdb` into `dir`.
///
/// The passwd line is written here rather than by `pure-pw useradd`, whose argon2 hash (`t=127`) takes a
/// second or more per login on a loaded machine: a SHA-512 crypt hash from `openssl passwd` is accepted too.
fn pure_ftpd_user(pure_pw: &Path, dir: &Path, root: &Path) {
    let mut hasher = Command::new("openssl")
        .args(["passwd", "-6", "-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run openssl passwd");
    std::io::Write::write_all(hasher.stdin.as_mut().unwrap(), format!("{PASSWORD}\n").as_bytes())
        .expect("give openssl the password");
    let hashed = hasher.wait_with_output().expect("wait for openssl passwd");
    assert!(hashed.status.success(), "openssl passwd failed");
    let hash = String::from_utf8(hashed.stdout).expect("a crypt hash is ASCII");
    let (uid, gid) = user_ids();
    // user:hash:uid:gid:gecos:home, then the unused limits (quotas, bandwidth, allowed hosts, times).
    let line = format!("{USERNAME}:{}:{uid}:{gid}::{}/./::::::::::::\n", hash.trim(), root.display());
    write(&dir.join("pureftpd.passwd"), &line);
    let output = Command::new(pure_pw)
        .arg("mkdb")
        .arg(dir.join("pureftpd.pdb"))
        .arg("-f")
        .arg(dir.join("pureftpd.passwd"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", pure_pw.display()));
    assert!(output.status.success(), "pure-pw mkdb failed: {}", String::from_utf8_lossy(&output.stderr));
}

/// A running ProFTPD or Pure-FTPd. Dropping it stops the server and its session processes, by id.
pub struct OtherServer {
    kind: Kind,
    child: Option<Child>,
    port: u16,
    passive_ports: std::ops::RangeInclusive<u16>,
    dir: PathBuf,
    root: PathBuf,
    pki: Pki,
    /// Declared last: the folder is removed after the server has been stopped.
    _tmp: tempfile::TempDir,
}

impl OtherServer {
    /// Starts a gateway-like server of this kind (see the module documentation).
    pub fn start(kind: Kind) -> OtherServer {
        ensure_user();
        let tmp = tempfile::Builder::new()
            .prefix(&format!("skat-gateway-{}-", kind.name()))
            .tempdir()
            .expect("create a temporary folder");
        let dir = tmp.path().to_path_buf();
        // The user's session process must reach `root/` below this folder (tempdir makes it 0700).
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod the test folder");
        let pki = Pki::mint(&dir.join("pki"));
        let root = dir.join("root");
        fs::create_dir(&root).expect("create the FTP root");
        let (uid, gid) = user_ids();
        std::os::unix::fs::chown(&root, Some(uid), Some(gid)).expect("chown the FTP root to the test user");

        if kind == Kind::PureFtpd {
            let (_, pure_pw) = pure_ftpd_install();
            pure_ftpd_user(&pure_pw, &dir, &root);
            // The certificate file: the server certificate, then the CA that client certificates are checked against.
            let chain = format!(
                "{}{}",
                fs::read_to_string(&pki.server_cert).expect("read the server certificate"),
                fs::read_to_string(&pki.ca_cert).expect("read the CA certificate")
            );
            write(&dir.join("pure-ftpd.pem"), &chain);
            write(&dir.join("openssl.cnf"), &openssl_conf(ServerTls::Tls12Only));
        }
        let mut failures = Vec::new();
        for _attempt in 0..5 {
            let (port, passive_ports) = free_port_block();
            let mut attempt = match kind {
                Kind::ProFtpd => {
                    let (binary, modules) = proftpd_install();
                    write(&dir.join("proftpd.conf"), &proftpd_conf(&dir, &pki, &modules, port, &passive_ports));
                    let mut command = with_pdeathsig(&binary);
                    // -n: stay in the foreground, as our child.
                    command.arg("-n").arg("-c").arg(dir.join("proftpd.conf"));
                    command
                }
                Kind::PureFtpd => {
                    let (binary, _) = pure_ftpd_install();
                    let mut command = with_pdeathsig(&binary);
                    #[rustfmt::skip]
                    command
                        .env("OPENSSL_CONF", dir.join("openssl.cnf"))
                        .arg("-S").arg(format!("127.0.0.1,{port}"))
                        .arg("-l").arg(format!("puredb:{}", dir.join("pureftpd.pdb").display()))
                        // no anonymous logins, everyone chrooted, no reverse DNS, files rw-r--r--, no syslog
                        .args(["-E", "-A", "-H", "-U", "133:022", "-c", "20", "-C", "20", "-f", "none"])
                        .arg("-p").arg(format!("{}:{}", passive_ports.start(), passive_ports.end()))
                        // TLS required for login and data; the certificate file; client certificates required
                        .args(["-Y", "3"])
                        .arg("-2").arg(format!("{},{}", dir.join("pure-ftpd.pem").display(), pki.server_key.display()))
                        .args(["-J", "-C:HIGH:!aNULL"])
                        .arg("-O").arg(format!("clf:{}", dir.join("pure-ftpd.xferlog").display()));
                    command
                }
            };
            let console = fs::File::create(dir.join(format!("{}.console", kind.name()))).expect("create the console log");
            attempt
                .stdin(Stdio::null())
                .stdout(console.try_clone().expect("duplicate the console log handle"))
                .stderr(console);
            let mut child = attempt.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", kind.name()));
            match wait_until_ready(&mut child, kind.name(), port, &dir, Duration::from_secs(15)) {
                Ok(()) => {
                    return OtherServer { kind, child: Some(child), port, passive_ports, dir, root, pki, _tmp: tmp };
                }
                Err(failure) => {
                    stop(&mut child);
                    // Only a port taken by a parallel test in the meantime is worth another attempt.
                    let retry = failure.to_ascii_lowercase().contains("address already in use")
                        || failure.contains("bind");
                    failures.push(failure);
                    if !retry {
                        break;
                    }
                }
            }
        }
        panic!("{} did not start: {}", kind.name(), failures.join(" / "));
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The control port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    pub fn passive_ports(&self) -> std::ops::RangeInclusive<u16> {
        self.passive_ports.clone()
    }

    /// The folder the test user sees as `/`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// This test's folder (PKI, configuration, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    /// Makes a folder in the FTP root, owned by the test user.
    pub fn make_dir(&self, name: &str) -> PathBuf {
        let path = self.root.join(name);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        let (uid, gid) = user_ids();
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).expect("chown a served folder");
        path
    }

    /// The server's logs so far: ProFTPD's system, TLS and transfer logs; Pure-FTPd's console and transfer log.
    pub fn log(&self) -> String {
        let files: &[&str] = match self.kind {
            Kind::ProFtpd => &["proftpd.console", "proftpd.log", "proftpd.tls.log", "proftpd.xferlog"],
            Kind::PureFtpd => &["pure-ftpd.console", "pure-ftpd.xferlog"],
        };
        files
            .iter()
            .map(|f| format!("--- {f}\n{}", fs::read_to_string(self.dir.join(f)).unwrap_or_default()))
            .collect()
    }

    /// The server's process id and those of its session processes.
    pub fn process_ids(&self) -> Vec<u32> {
        let Some(server) = self.child.as_ref().map(Child::id) else {
            return Vec::new();
        };
        let mut ids = vec![server];
        ids.extend(crate::vsftpd::descendants(server));
        ids
    }

    /// ProFTPD's TLS log (versions, client certificates, session reuse on data connections).
    pub fn tls_log(&self) -> String {
        fs::read_to_string(self.dir.join("proftpd.tls.log")).unwrap_or_default()
    }

    /// `ftp://127.0.0.1:PORT/` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("ftp://127.0.0.1:{}/{}", self.port, path.trim_start_matches('/'))
    }

    /// curl set up like a gateway client (FTPS required, TLS 1.2 at least, the test CA, the credentials) with
    /// the client certificate when `with_cert` is true. Add the URL and anything else.
    pub fn curl(&self, with_cert: bool) -> Command {
        let mut curl = self.curl_without_ftps(with_cert);
        curl.arg("--ssl-reqd");
        curl
    }

    /// As [`OtherServer::curl`], without `--ssl-reqd`: add how much TLS to use (`--ftp-ssl-control`).
    pub fn curl_without_ftps(&self, with_cert: bool) -> Command {
        let mut curl = Command::new("curl");
        curl.args(["--silent", "--show-error", "--tlsv1.2", "--max-time", "30"])
            .arg("--cacert")
            .arg(&self.pki.ca_cert)
            .args(["--user", &format!("{USERNAME}:{PASSWORD}")])
            .stdin(Stdio::null());
        if with_cert {
            curl.arg("--cert").arg(&self.pki.client_cert).arg("--key").arg(&self.pki.client_key);
        }
        curl
    }
}

impl Drop for OtherServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child);
        }
        if std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            eprintln!("--- {} logs (last lines) ---\n{}", self.kind.name(), lines[lines.len().saturating_sub(60)..].join("\n"));
        }
    }
}

/// `binary` run through `setpriv --pdeathsig KILL` when available: if the test process dies without running
/// Drop (a time-out kills it), the kernel kills the server too. setpriv execs, so the child's id stays the server's.
fn with_pdeathsig(binary: &Path) -> Command {
    if Path::new("/usr/bin/setpriv").exists() {
        let mut setpriv = Command::new("/usr/bin/setpriv");
        setpriv.args(["--pdeathsig", "KILL"]).arg(binary);
        setpriv
    } else {
        Command::new(binary)
    }
}
