//! A real vsftpd on loopback, configured like the agency's new gateway, for interoperability tests.
//!
//! Each test gets its own server: a test PKI minted with the `openssl` command into a temporary folder, a
//! `vsftpd.conf` written there, and vsftpd running in the foreground as a child of the test. The server is
//! stopped (the server and its session processes, by id) when the [`Vsftpd`] value is dropped, also when the test panics.
//!
//! Configured like the gateway:
//! - explicit FTPS (`AUTH TLS`) required for the login and for every data connection;
//! - TLS 1.2 only. vsftpd 3.0.3 has no per-version switch beyond `ssl_tlsv1`, so an OpenSSL configuration
//!   file with `MinProtocol`/`MaxProtocol` is loaded through `OPENSSL_CONF` in vsftpd's environment;
//! - a client certificate is required and validated against the test CA (`require_cert`, `validate_cert`);
//! - the data connection must resume the control connection's TLS session (`require_ssl_reuse=YES`);
//! - passive mode only, in a port range of its own;
//! - a local user whose name is the user name derived from the client certificate, with a password.
//!
//! Variants ([`Options`]) make the server misbehave the way real servers do: TLS 1.0/1.1 only, a 227 reply
//! naming another address (`pasv_address`), a certificate from an unknown CA or for another host name, and
//! session reuse not required.
//!
//! vsftpd runs as root here (it needs to, for local users); the tests must run as root, which is how the
//! README's test command runs them (it also installs vsftpd and openssl).

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The user name the test client certificate implies (`CVR_<cvr>_UID_<uid>` from `CVR:<cvr>-UID:<uid>`).
pub const USERNAME: &str = "CVR_12345678_UID_1234567890";
/// The password of [`USERNAME`] on every test server.
pub const PASSWORD: &str = "interop-test-password";
/// The client certificate's subject: CN and serialNumber share one multi-valued RDN, as in OCES II.
const CLIENT_SUBJECT: &str =
    "/C=DK/O=Interop Test A\\/S \\/\\/ CVR:12345678/CN=Interop Test A\\/S - Gateway+serialNumber=CVR:12345678-UID:1234567890";
/// The system user's home. vsftpd changes into the home before `local_root`, so it must exist; the files
/// of each test live under that test's own `local_root`.
const HOME: &str = "/var/lib/skat-gateway-interop";
/// Serialises user creation between test processes running in parallel (useradd locks /etc/passwd and
/// fails rather than waits when another process holds it).
const USER_LOCK: &str = "/tmp/skat-gateway-interop-user.lock";
/// How many passive ports each server gets.
const PASSIVE_PORTS: u16 = 10;
/// Control and passive ports are drawn from here: below Linux's ephemeral range (32768-60999), so the
/// kernel never hands them to outgoing connections, and above the usual service ports.
const PORT_POOL: std::ops::Range<u16> = 20000..32000;

/// Which TLS versions the server accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerTls {
    /// TLS 1.2 only, like the new gateway.
    Tls12Only,
    /// TLS 1.0 only, like the legacy gateway.
    Tls10Only,
    /// TLS 1.0 and 1.1, never 1.2.
    Tls10And11,
}

/// Which certificate the server presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerCert {
    /// Issued by the test CA for `localhost` and `127.0.0.1`.
    Trusted,
    /// For `localhost` and `127.0.0.1`, but issued by a CA the client does not know.
    UnknownCa,
    /// Issued by the test CA, but for another host name only ([`OTHER_HOST`]).
    OtherHostName,
}

/// The only name in [`ServerCert::OtherHostName`]'s certificate.
pub const OTHER_HOST: &str = "other-host.invalid";

/// A documentation address (TEST-NET-3, RFC 5737) for `pasv_address`. Not 192.0.2.1: on some machines
/// (this project's CI among them) TEST-NET-1 is the real local network, and a client that followed the 227
/// reply would reach a real host there.
pub const FOREIGN_PASV_ADDRESS: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);

/// How the server differs from the gateway-like default.
#[derive(Clone, Debug)]
pub struct Options {
    pub tls: ServerTls,
    pub cert: ServerCert,
    /// `require_ssl_reuse`: the data connection must resume the control connection's TLS session.
    pub require_ssl_reuse: bool,
    /// `pasv_address`: the address vsftpd names in its 227 reply instead of its own.
    pub pasv_address: Option<Ipv4Addr>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tls: ServerTls::Tls12Only,
            cert: ServerCert::Trusted,
            require_ssl_reuse: true,
            pasv_address: None,
        }
    }
}

/// The test PKI, minted with the `openssl` command for one test. All files are PEM.
#[derive(Clone, Debug)]
pub struct Pki {
    /// The CA the client trusts and vsftpd validates client certificates against.
    pub ca_cert: PathBuf,
    /// A second CA nobody trusts.
    pub unknown_ca_cert: PathBuf,
    /// Server key (shared by every server certificate below).
    pub server_key: PathBuf,
    /// Test CA, `localhost` + IP `127.0.0.1`.
    pub server_cert: PathBuf,
    /// Unknown CA, `localhost` + IP `127.0.0.1`.
    pub server_cert_unknown_ca: PathBuf,
    /// Test CA, [`OTHER_HOST`] only.
    pub server_cert_other_host: PathBuf,
    /// The client's key (RSA 2048, like an OCES certificate's).
    pub client_key: PathBuf,
    /// The VOCES-shaped client certificate, issued by the test CA.
    pub client_cert: PathBuf,
    /// The same subject and key, issued by the unknown CA: vsftpd rejects it.
    pub client_cert_unknown_ca: PathBuf,
    /// The client certificate and key as PKCS#12, password [`Pki::P12_PASSWORD`].
    pub client_p12: PathBuf,
}

impl Pki {
    pub const P12_PASSWORD: &'static str = "Test1234";

    /// Mints the PKI into `dir`.
    pub fn mint(dir: &Path) -> Pki {
        fs::create_dir_all(dir).expect("create the PKI folder");
        let p = |name: &str| dir.join(name);
        let pki = Pki {
            ca_cert: p("ca.pem"),
            unknown_ca_cert: p("unknown-ca.pem"),
            server_key: p("server.key"),
            server_cert: p("server.pem"),
            server_cert_unknown_ca: p("server-unknown-ca.pem"),
            server_cert_other_host: p("server-other-host.pem"),
            client_key: p("client.key"),
            client_cert: p("client.pem"),
            client_cert_unknown_ca: p("client-unknown-ca.pem"),
            client_p12: p("client.p12"),
        };
        let server_ext = |names: &str| {
            format!(
                "basicConstraints=critical,CA:FALSE\n\
                 keyUsage=critical,digitalSignature,keyEncipherment\n\
                 extendedKeyUsage=serverAuth\n\
                 subjectAltName={names}\n"
            )
        };
        let client_ext = "basicConstraints=critical,CA:FALSE\n\
                          keyUsage=critical,digitalSignature,keyEncipherment\n\
                          extendedKeyUsage=clientAuth\n";
        write(&p("server.ext"), &server_ext("DNS:localhost,IP:127.0.0.1"));
        write(
            &p("server-other.ext"),
            &server_ext(&format!("DNS:{OTHER_HOST}")),
        );
        write(&p("client.ext"), client_ext);

        self_signed_ca(dir, "ca", "skat-gateway interop test CA");
        self_signed_ca(dir, "unknown-ca", "skat-gateway interop unknown CA");
        key_and_request(dir, "server", "/CN=localhost");
        key_and_request(dir, "client", CLIENT_SUBJECT);
        issue(dir, "server", "ca", "server.ext", "server.pem");
        issue(
            dir,
            "server",
            "unknown-ca",
            "server.ext",
            "server-unknown-ca.pem",
        );
        issue(
            dir,
            "server",
            "ca",
            "server-other.ext",
            "server-other-host.pem",
        );
        issue(dir, "client", "ca", "client.ext", "client.pem");
        issue(
            dir,
            "client",
            "unknown-ca",
            "client.ext",
            "client-unknown-ca.pem",
        );
        let pass = format!("pass:{}", Pki::P12_PASSWORD);
        #[rustfmt::skip]
        openssl(dir, &["pkcs12", "-export", "-in", "client.pem", "-inkey", "client.key",
                       "-out", "client.p12", "-passout", &pass]);
        pki
    }
}

/// `NAME.key` and a self-signed CA certificate `NAME.pem` (RSA 2048, valid two days).
fn self_signed_ca(dir: &Path, name: &str, common_name: &str) {
    let (key, cert, subject) = (
        format!("{name}.key"),
        format!("{name}.pem"),
        format!("/CN={common_name}"),
    );
    #[rustfmt::skip]
    openssl(dir, &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                   "-keyout", &key, "-out", &cert, "-subj", &subject,
                   "-addext", "basicConstraints=critical,CA:TRUE",
                   "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
}

/// `NAME.key` (RSA 2048, like an OCES certificate's) and a certificate request `NAME.csr` for `subject`.
fn key_and_request(dir: &Path, name: &str, subject: &str) {
    let (key, csr) = (format!("{name}.key"), format!("{name}.csr"));
    #[rustfmt::skip]
    openssl(dir, &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj", subject]);
}

/// Issues `out` for the request `NAME.csr`, signed by the CA `CA.pem`/`CA.key`, with the extensions file.
fn issue(dir: &Path, name: &str, ca: &str, extensions: &str, out: &str) {
    let (csr, ca_cert, ca_key) = (
        format!("{name}.csr"),
        format!("{ca}.pem"),
        format!("{ca}.key"),
    );
    let serial = random_serial();
    #[rustfmt::skip]
    openssl(dir, &["x509", "-req", "-in", &csr, "-CA", &ca_cert, "-CAkey", &ca_key, "-set_serial", &serial,
                   "-days", "2", "-extfile", extensions, "-out", out]);
}

fn random_serial() -> String {
    format!("0x{:016x}", rand::random::<u64>() | 1 << 62)
}

pub fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Runs `openssl ARGS` in `dir` and panics with its output when it fails.
fn openssl(dir: &Path, args: &[&str]) -> Output {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl ({e}): run scripts/install-test-deps"));
    assert!(
        output.status.success(),
        "openssl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Creates the system user [`USERNAME`] with [`PASSWORD`] if needed (idempotent, safe in parallel).
pub fn ensure_user() {
    // One shell script under flock(1): check, create, set the password, make the home. `--badname` because
    // Debian's useradd refuses upper-case names by default, and gateway user names are upper case.
    let script = format!(
        "set -e
         id -u {USERNAME} >/dev/null 2>&1 || useradd --badname --no-create-home --home-dir {HOME} --shell /bin/sh {USERNAME}
         echo '{USERNAME}:{PASSWORD}' | chpasswd
         mkdir -p {HOME}
         chown {USERNAME} {HOME}"
    );
    let output = Command::new("flock")
        .args([USER_LOCK, "sh", "-c", &script])
        .stdin(Stdio::null())
        .output()
        .expect("run flock (util-linux)");
    assert!(
        output.status.success(),
        "cannot create the test user {USERNAME} (the interop tests must run as root): {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

pub fn user_ids() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, USERNAME])
            .output()
            .expect("run id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("numeric id")
    };
    (id("-u"), id("-g"))
}

fn vsftpd_binary() -> PathBuf {
    for candidate in ["/usr/sbin/vsftpd", "/usr/local/sbin/vsftpd"] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    panic!("vsftpd is not installed: run scripts/install-test-deps (or apt-get install vsftpd)");
}

/// Picks a control port and a block of passive ports that are free right now: a random block from
/// [`PORT_POOL`], every port probed by binding it. Parallel test processes draw different blocks with high
/// probability; a clash that slips through makes vsftpd fail to bind, and [`Vsftpd::start`] retries.
pub fn free_port_block() -> (u16, std::ops::RangeInclusive<u16>) {
    let block = PASSIVE_PORTS + 1;
    for _ in 0..200 {
        let base = rand::random_range(PORT_POOL.start..PORT_POOL.end - block);
        let all_free =
            (base..base + block).all(|port| TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok());
        if all_free {
            return (base, base + 1..=base + PASSIVE_PORTS);
        }
    }
    panic!("no free block of {block} ports in {PORT_POOL:?} on 127.0.0.1");
}

/// The OpenSSL configuration vsftpd loads through `OPENSSL_CONF`: it pins the protocol versions.
pub fn openssl_conf(tls: ServerTls) -> String {
    let (min, max) = match tls {
        ServerTls::Tls12Only => ("TLSv1.2", "TLSv1.2"),
        ServerTls::Tls10Only => ("TLSv1", "TLSv1"),
        ServerTls::Tls10And11 => ("TLSv1", "TLSv1.1"),
    };
    format!(
        "openssl_conf = openssl_init\n\
         [openssl_init]\nssl_conf = ssl_sect\n\
         [ssl_sect]\nsystem_default = system_default_sect\n\
         [system_default_sect]\nMinProtocol = {min}\nMaxProtocol = {max}\n"
    )
}

fn vsftpd_conf(
    dir: &Path,
    pki: &Pki,
    options: &Options,
    port: u16,
    passive: &std::ops::RangeInclusive<u16>,
) -> String {
    let cert = match options.cert {
        ServerCert::Trusted => &pki.server_cert,
        ServerCert::UnknownCa => &pki.server_cert_unknown_ca,
        ServerCert::OtherHostName => &pki.server_cert_other_host,
    };
    // OpenSSL 3 allows TLS 1.0/1.1 only at security level 0; vsftpd's own default cipher list (3DES only)
    // is refused by OpenSSL 3, so the list is always given.
    let ciphers = match options.tls {
        ServerTls::Tls12Only => "HIGH:!aNULL",
        ServerTls::Tls10Only | ServerTls::Tls10And11 => "DEFAULT:@SECLEVEL=0",
    };
    let yes_no = |b: bool| if b { "YES" } else { "NO" };
    let mut conf = format!(
        "# written by tests/interop/vsftpd.rs
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port={port}
background=NO
# accounts: local users only, writable, files created rw-r--r--
anonymous_enable=NO
local_enable=YES
write_enable=YES
local_umask=022
local_root={root}
# explicit FTPS, required for login and data, client certificate required and checked against the test CA
ssl_enable=YES
allow_anon_ssl=NO
force_local_logins_ssl=YES
force_local_data_ssl=YES
ssl_sslv2=NO
ssl_sslv3=NO
ssl_tlsv1=YES
ssl_ciphers={ciphers}
rsa_cert_file={cert}
rsa_private_key_file={key}
require_cert=YES
validate_cert=YES
ca_certs_file={ca}
require_ssl_reuse={reuse}
# passive mode only, in this server's own range
port_enable=NO
pasv_enable=YES
pasv_min_port={pmin}
pasv_max_port={pmax}
# containers: no seccomp filter, no new namespaces; a secure_chroot_dir that exists
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
secure_chroot_dir={empty}
# logs for diagnosis (passwords are logged as <password>)
vsftpd_log_file={log}
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
debug_ssl=YES
",
        root = dir.join("root").display(),
        cert = cert.display(),
        key = pki.server_key.display(),
        ca = pki.ca_cert.display(),
        reuse = yes_no(options.require_ssl_reuse),
        pmin = passive.start(),
        pmax = passive.end(),
        empty = dir.join("empty").display(),
        log = dir.join("vsftpd.log").display(),
    );
    if let Some(address) = options.pasv_address {
        let _ = writeln!(conf, "pasv_address={address}");
    }
    conf
}

/// A running vsftpd. Dropping it stops the server (and its session processes).
pub struct Vsftpd {
    child: Option<Child>,
    port: u16,
    passive_ports: std::ops::RangeInclusive<u16>,
    dir: PathBuf,
    root: PathBuf,
    pki: Pki,
    options: Options,
    /// Declared last: the folder is removed after the server has been stopped.
    _tmp: tempfile::TempDir,
}

impl Vsftpd {
    /// Starts a gateway-like server (see the module documentation).
    pub fn start() -> Vsftpd {
        Vsftpd::start_with(Options::default())
    }

    /// Starts a server with the given differences from the gateway-like default.
    pub fn start_with(options: Options) -> Vsftpd {
        let vsftpd = vsftpd_binary();
        ensure_user();
        let tmp = tempfile::Builder::new()
            .prefix("skat-gateway-vsftpd-")
            .tempdir()
            .expect("create a temporary folder");
        let dir = tmp.path().to_path_buf();
        // The user's session process must reach `root/` below this folder (tempdir makes it 0700).
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
            .expect("chmod the test folder");
        let pki = Pki::mint(&dir.join("pki"));
        let root = dir.join("root");
        fs::create_dir(&root).expect("create the FTP root");
        fs::create_dir(dir.join("empty")).expect("create the secure_chroot_dir");
        let (uid, gid) = user_ids();
        std::os::unix::fs::chown(&root, Some(uid), Some(gid))
            .expect("chown the FTP root to the test user");
        write(&dir.join("openssl.cnf"), &openssl_conf(options.tls));

        let mut failures = Vec::new();
        for _attempt in 0..5 {
            let (port, passive_ports) = free_port_block();
            write(
                &dir.join("vsftpd.conf"),
                &vsftpd_conf(&dir, &pki, &options, port, &passive_ports),
            );
            let mut child = launch(&vsftpd, &dir);
            match wait_until_ready(&mut child, "vsftpd", port, &dir, Duration::from_secs(15)) {
                Ok(()) => {
                    return Vsftpd {
                        child: Some(child),
                        port,
                        passive_ports,
                        dir,
                        root,
                        pki,
                        options,
                        _tmp: tmp,
                    };
                }
                Err(failure) => {
                    stop(&mut child);
                    // Only a port taken by a parallel test in the meantime is worth another attempt.
                    let retry = failure.contains("bind");
                    failures.push(failure);
                    if !retry {
                        break;
                    }
                }
            }
        }
        panic!("vsftpd did not start: {}", failures.join(" / "));
    }

    /// The control port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The passive data ports this server uses.
    pub fn passive_ports(&self) -> std::ops::RangeInclusive<u16> {
        self.passive_ports.clone()
    }

    /// The folder the test user sees as `/` (its `local_root`): put files here to download them, find uploads here.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// This test's folder (PKI, configuration, logs); a good place for local files of the test.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Puts a file into the FTP root, owned by the test user (so the user may delete or overwrite it).
    pub fn put_file(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.root.join(name);
        fs::write(&path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        let (uid, gid) = user_ids();
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).expect("chown a served file");
        path
    }

    /// Makes a folder in the FTP root, owned by the test user.
    pub fn make_dir(&self, name: &str) -> PathBuf {
        let path = self.root.join(name);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        let (uid, gid) = user_ids();
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).expect("chown a served folder");
        path
    }

    /// vsftpd's log so far: connections, FTP commands and replies, TLS versions and session reuse, transfers.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("vsftpd.log")).unwrap_or_default()
    }

    /// Asserts that the server's log shows it announcing `address` in a 227 reply: proof that a PASV test
    /// really faced a foreign address, so its "never connected there" check means something.
    pub fn assert_announced_pasv_address(&self, address: std::net::Ipv4Addr) {
        let octets = address.octets().map(|o| o.to_string()).join(",");
        let log = self.log();
        assert!(log.contains(&format!("227 Entering Passive Mode ({octets},")), "{log}");
    }

    /// `ftp://127.0.0.1:PORT/` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "ftp://127.0.0.1:{}/{}",
            self.port,
            path.trim_start_matches('/')
        )
    }

    /// A curl command set up like a gateway client: TLS 1.2 only, the client certificate, the test CA and
    /// the user's credentials. Add the URL and anything else.
    pub fn curl(&self) -> Command {
        let mut curl = Command::new("curl");
        curl.args([
            "--silent",
            "--show-error",
            "--ssl-reqd",
            "--tlsv1.2",
            "--tls-max",
            "1.2",
            "--max-time",
            "60",
        ])
        .arg("--cert")
        .arg(&self.pki.client_cert)
        .arg("--key")
        .arg(&self.pki.client_key)
        .arg("--cacert")
        .arg(&self.pki.ca_cert)
        .args(["--user", &format!("{USERNAME}:{PASSWORD}")])
        .stdin(Stdio::null());
        curl
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The server's process id and those of its session processes.
    pub fn process_ids(&self) -> Vec<u32> {
        let Some(server) = self.pid() else {
            return Vec::new();
        };
        let mut ids = vec![server];
        ids.extend(descendants(server));
        ids
    }
}

impl Drop for Vsftpd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child);
        }
        if std::thread::panicking() {
            let tail = |text: String| {
                text.lines()
                    .rev()
                    .take(40)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            eprintln!("--- vsftpd log (last lines) ---\n{}", tail(self.log()));
            let console = fs::read_to_string(self.dir.join("vsftpd.console")).unwrap_or_default();
            if !console.trim().is_empty() {
                eprintln!("--- vsftpd console ---\n{}", tail(console));
            }
        }
    }
}

fn launch(vsftpd: &Path, dir: &Path) -> Child {
    let console = fs::File::create(dir.join("vsftpd.console")).expect("create the console log");
    let mut command = if Path::new("/usr/bin/setpriv").exists() {
        // If the test process dies without running Drop (a time-out kills it), the kernel kills the server
        // too. setpriv execs vsftpd, so the child's id stays the server's.
        let mut setpriv = Command::new("/usr/bin/setpriv");
        setpriv.args(["--pdeathsig", "KILL"]).arg(vsftpd);
        setpriv
    } else {
        Command::new(vsftpd)
    };
    command
        .arg(dir.join("vsftpd.conf"))
        .env("OPENSSL_CONF", dir.join("openssl.cnf"))
        .stdin(Stdio::null())
        .stdout(
            console
                .try_clone()
                .expect("duplicate the console log handle"),
        )
        .stderr(console);
    command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", vsftpd.display()))
}

/// Waits for the 220 greeting; an early exit or a time-out gives the server's own complaint from its console
/// file (`NAME.console` in `dir`). Shared with the other servers' harness (`others.rs`).
pub fn wait_until_ready(
    child: &mut Child,
    name: &str,
    port: u16,
    dir: &Path,
    limit: Duration,
) -> Result<(), String> {
    let console = || fs::read_to_string(dir.join(format!("{name}.console"))).unwrap_or_default();
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{name} exited ({status}): {}", console().trim()));
        }
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        if let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut greeting = String::new();
            let _ = BufReader::new(stream).read_line(&mut greeting);
            if greeting.starts_with("220") {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "{name} did not greet on 127.0.0.1:{port} within {limit:?}: {}",
        console().trim()
    ))
}

/// Stops the server and every session process it forked, by their ids, and reaps the server.
///
/// vsftpd's session processes call setsid(), so they are not in the server's process group: they are found
/// as the server's descendants in /proc. The server is stopped first (SIGSTOP) so it cannot fork while they
/// are collected.
pub fn stop(child: &mut Child) {
    let server = child.id();
    signal("STOP", &[server]);
    let mut doomed = descendants(server);
    doomed.push(server);
    signal("KILL", &doomed);
    let _ = child.kill();
    let _ = child.wait();
    // SIGKILL is delivered asynchronously: wait until the session processes are really gone, so that a test
    // that ends next leaves nothing behind (and a busy machine does not see them still running).
    let deadline = Instant::now() + Duration::from_secs(10);
    while doomed.iter().any(|&pid| process_alive(pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `signal` to the processes (ids only, never names).
fn signal(signal: &str, pids: &[u32]) {
    let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
    let _ = Command::new("sh")
        .args(["-c", "kill -s \"$0\" -- \"$@\" 2>/dev/null", signal])
        .args(&pids)
        .status();
}

/// The parent and state of a process, from /proc/PID/stat; None when it is gone.
pub fn process_status(pid: u32) -> Option<(u32, char)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may contain anything, so split after the last ')'.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((ppid, state))
}

/// Whether the process exists and has not finished (a zombie has finished).
pub fn process_alive(pid: u32) -> bool {
    process_status(pid).is_some_and(|(_, state)| state != 'Z' && state != 'X')
}

/// Every process below `root` in the process tree.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            if let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            {
                if let Some((ppid, _)) = process_status(pid) {
                    parent_of.push((pid, ppid));
                }
            }
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parent_of
                .iter()
                .filter(|(_, ppid)| *ppid == parent)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    found.remove(0);
    found
}
