"""Every exception class, raised by a real cause: a real file, a real server reply, a real fault at the
simulator. The classes come from the core's one table (ErrorKind::ALL); these tests check both."""

from __future__ import annotations

import pickle
import socket
from pathlib import Path
from typing import Callable

import pytest

import skat_gateway as gw
from conftest import OCES2_PASSWORD, SERVICE


def test_the_table_and_the_exceptions_module_agree() -> None:
    table = gw._native.error_table()  # type: ignore[attr-defined]
    classes = {python_class for _, _, python_class, _ in table}
    assert set(gw.exceptions.__all__) == classes | {"GatewayError"}
    for code, c_name, python_class, summary in table:
        cls = getattr(gw.exceptions, python_class)
        assert issubclass(cls, gw.GatewayError), python_class
        assert getattr(gw, python_class) is cls
        assert c_name.isupper() and summary
    assert len({code for code, *_ in table}) == len(table)
    # The contract's names, and the builtins they also are.
    assert issubclass(gw.CertificatePasswordError, gw.CertificateError)
    assert issubclass(gw.GatewayConnectionError, ConnectionError)
    assert issubclass(gw.GatewayTimeoutError, gw.GatewayConnectionError) and issubclass(gw.GatewayTimeoutError, TimeoutError)
    assert issubclass(gw.ConnectionLostError, gw.GatewayConnectionError)
    assert issubclass(gw.InvalidArgumentError, ValueError) and issubclass(gw.LocalIoError, OSError)
    assert issubclass(gw.UnknownSubmissionError, LookupError)


class Setting:
    """What the causes need: a running simulator, its client files, a scratch folder."""

    def __init__(self, sim: gw.Simulator, tmp: Path) -> None:
        self.sim = sim
        self.tmp = tmp
        self.password = sim.gateway_password_file.read_text().strip()
        self.identity = gw.Identity.from_file(sim.certificate, sim.certificate_password_file.read_text().strip())

    def session(self, **options: object) -> gw.Session:
        return gw.Session.connect(
            self.sim.host, self.sim.port, identity=self.identity, password=self.password, ca_file=self.sim.ca_file,
            system_roots=False, **options  # type: ignore[arg-type]
        )

    def client(self, **config: object) -> gw.Client:
        settings: dict[str, object] = dict(
            certificate=self.sim.certificate,
            certificate_password=self.sim.certificate_password_file.read_text().strip(),
            password=self.password,
            host=self.sim.host,
            port=self.sim.port,
            legacy_host=self.sim.host,
            legacy_port=self.sim.legacy_port,
            ca_file=self.sim.ca_file,
            system_roots=False,
            journal=self.tmp / "journal.sqlite",
        )
        settings.update(config)
        return gw.Client(gw.Config(**settings))  # type: ignore[arg-type]

    def file(self, name: str, content: bytes) -> Path:
        path = self.tmp / name
        path.write_bytes(content)
        return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def invalid_argument(s: Setting) -> None:
    with s.client() as c:
        c.submit(SERVICE, s.file("empty.xml", b""))


def local_io(s: Setting) -> None:
    with s.client() as c:
        c.submit(SERVICE, s.tmp / "does-not-exist.xml")


def config(s: Setting) -> None:
    gw.Client.from_config(s.tmp / "no-such-client.toml")


def certificate(s: Setting) -> None:
    gw.Identity.from_file(s.file("damaged.p12", b"\x30\x82\x05\x00 damaged"), "x")


def certificate_password(s: Setting) -> None:
    gw.Identity.from_file(s.sim.certificate, "not the password")


def tls(s: Setting) -> None:
    # The simulator's CA is not among the system's trust roots.
    gw.Session.connect(s.sim.host, s.sim.port, identity=s.identity, password=s.password)


def connection_refused(s: Setting) -> None:
    gw.Session.connect("127.0.0.1", free_port(), identity=s.identity, password=s.password, ca_file=s.sim.ca_file)


def timeout(s: Setting) -> None:
    s.sim.inject_fault("delay_replies", 3.0, times=1)
    s.session(io_timeout=0.5)


def connection_lost(s: Setting) -> None:
    s.sim.inject_fault("drop_data_after", 10, times=1)
    with s.session() as session:
        session.put_bytes(b"x" * 100_000, f"{SERVICE}/cut-off.xml")


def authentication(s: Setting) -> None:
    gw.Session.connect(s.sim.host, s.sim.port, identity=s.identity, password="wrong", ca_file=s.sim.ca_file, system_roots=False)


def permission_denied(s: Setting) -> None:
    with s.session() as session:
        session.put_bytes(b"<x/>", "out/not-here.xml")


def remote_not_found(s: Setting) -> None:
    with s.session() as session:
        session.get_bytes("out/no-such-file.xml")


def protocol(s: Setting) -> None:
    gw.StatusFile.parse(f"status_{SERVICE}_x.xml_1.xml", b"this is not XML")


def service_not_available(s: Setting) -> None:
    with s.client() as c:
        c.submit("Manifest.NoSuchService", s.file("decl.xml", b"<x/>"))


def filename_reused(s: Setting) -> None:
    with s.client() as c:
        c.submit(SERVICE, s.file("a.xml", b"<a/>"), name="once.xml")
        c.submit(SERVICE, s.file("b.xml", b"<b/>"), name="once.xml")


def invalid_filename(s: Setting) -> None:
    with s.client() as c:
        c.submit(SERVICE, s.file("decl.xml", b"<x/>"), name="no spaces.xml")


def submission_rejected(s: Setting) -> None:
    # The legacy gateway answers status 0 (BACKEND_SYSTEM_NOT_AVAILABLE) while the backend is down.
    with s.client(routes={gw.HEARTBEAT_SERVICE: "legacy"}) as c:
        s.sim.set_backend_available(False)
        c.ping(timeout=20)


def submission_overdue(s: Setting) -> None:
    with s.client() as c:
        s.sim.set_backend_available(False)
        c.ping(timeout=0.5)


def unknown_submission(s: Setting) -> None:
    with s.client() as c:
        c.submission("never-submitted.xml")


def journal(s: Setting) -> None:
    gw.Journal(s.file("not-a-journal.sqlite", b"SQLite? no." * 500))


def simulator(s: Setting) -> None:
    gw.Simulator(port=s.sim.port)


CAUSES: dict[str, tuple[Callable[[Setting], None], str, int | None]] = {
    # class: (cause, the kind expected, the server's reply code if one caused it)
    "InvalidArgumentError": (invalid_argument, "INVALID_ARGUMENT", None),
    "LocalIoError": (local_io, "IO", None),
    "ConfigError": (config, "CONFIG", None),
    "CertificateError": (certificate, "CERTIFICATE_FORMAT", None),
    "CertificatePasswordError": (certificate_password, "CERTIFICATE_PASSWORD", None),
    "TlsError": (tls, "TLS_UNKNOWN_CA", None),
    "GatewayConnectionError": (connection_refused, "CONNECTION_REFUSED", None),
    "GatewayTimeoutError": (timeout, "TIMEOUT", None),
    "ConnectionLostError": (connection_lost, "CONNECTION_LOST", 426),
    "AuthenticationError": (authentication, "AUTHENTICATION", 530),
    "PermissionDeniedError": (permission_denied, "PERMISSION_DENIED", 550),
    "RemoteNotFoundError": (remote_not_found, "NOT_FOUND", 550),
    "ProtocolError": (protocol, "INVALID_STATUS_FILE", None),
    "ServiceNotAvailableError": (service_not_available, "SERVICE_NOT_AVAILABLE", None),
    "FilenameReusedError": (filename_reused, "FILENAME_REUSED", None),
    "InvalidFilenameError": (invalid_filename, "INVALID_FILENAME", None),
    "SubmissionRejectedError": (submission_rejected, "SUBMISSION_REJECTED", None),
    "SubmissionOverdueError": (submission_overdue, "SUBMISSION_OVERDUE", None),
    "UnknownSubmissionError": (unknown_submission, "UNKNOWN_SUBMISSION", None),
    "JournalError": (journal, "JOURNAL", None),
    "SimulatorError": (simulator, "SIMULATOR", None),
}

# A bug in skat-gateway has no cause a test could set up.
WITHOUT_A_CAUSE = {"InternalError"}


def test_every_class_has_a_real_cause_here() -> None:
    assert set(CAUSES) | WITHOUT_A_CAUSE == set(gw.exceptions.__all__) - {"GatewayError"}


@pytest.mark.parametrize("class_name", sorted(CAUSES))
def test_each_class_is_raised_by_its_cause(class_name: str, sim: gw.Simulator, tmp_path: Path) -> None:
    cause, kind, reply_code = CAUSES[class_name]
    setting = Setting(sim, tmp_path)
    cls = getattr(gw, class_name)
    with pytest.raises(cls) as raised:
        cause(setting)
    error = raised.value
    assert type(error) is cls, f"{type(error).__name__}: {error}"
    assert isinstance(error, gw.GatewayError)
    assert error.kind == kind, str(error)
    codes = {c_name: code for code, c_name, _, _ in gw._native.error_table()}  # type: ignore[attr-defined]
    assert error.code == codes[kind]
    assert error.reply_code == reply_code, str(error)
    if reply_code is not None:
        assert error.reply_text and str(reply_code) in str(error)
    # Says what to do, and never shows a password.
    assert len(str(error)) > 20 and str(error) == error.message
    assert setting.password not in str(error) and setting.password not in repr(error)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls and copy.code == error.code and copy.reply_code == error.reply_code


def test_an_expired_certificate_loads_but_connecting_with_it_raises(oces2: Path, sim: gw.Simulator, tmp_path: Path) -> None:
    config = gw.Config(
        certificate=oces2 / "VOCES_gyldig.p12",
        certificate_password=OCES2_PASSWORD,
        password="irrelevant",
        host=sim.host,
        port=sim.port,
        ca_file=sim.ca_file,
        system_roots=False,
        journal=tmp_path / "journal.sqlite",
    )
    with pytest.raises(gw.CertificateError) as raised:
        gw.Client(config)
    assert raised.value.kind == "CERTIFICATE_EXPIRED"
    assert "expired on 2020-03-13" in str(raised.value) and "renew" in str(raised.value)
