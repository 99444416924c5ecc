"""The low-level session: list, put, get, delete, rename, size, with progress; from a profile or by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

import skat_gateway as gw
from conftest import SERVICE, partial_files, write_file


def connect(sim: gw.Simulator) -> gw.Session:
    identity = gw.Identity.from_pem_files(sim.certificate_pem, sim.key_pem)
    return gw.Session.connect(
        sim.host,
        sim.port,
        identity=identity,
        password=gw.Secret(sim.gateway_password_file.read_text().strip()),
        ca_file=sim.ca_file,
        system_roots=False,
        data_ports=sim.data_ports,
    )


def test_ls_put_get_rm(sim: gw.Simulator, tmp_path: Path) -> None:
    with connect(sim) as session:
        assert session.username == sim.username and session.port == sim.port and session.host == sim.host
        assert session.pwd() == "/"
        entries = {e.name: e for e in session.list()}
        assert entries["out"].is_dir and entries[SERVICE].is_dir and entries["out"].size is None
        session.noop()

        # Upload into a service folder (the gateway processes it and answers in out).
        local = write_file(tmp_path / "decl.xml", 300_000)
        progress: list[tuple[int, int | None]] = []
        sent = session.put(local, f"{SERVICE}/low-level.xml", progress=lambda done, total: progress.append((done, total)))
        assert sent == 300_000 and progress[-1] == (300_000, 300_000)
        assert session.put_bytes(b"<second/>", f"{SERVICE}/second.xml") == 9

        # Download from out, to a file and into memory; then delete.
        out = sim.out_dir()
        (out / "big.bin").write_bytes(b"\x00\x01" * 500_000)
        assert {e.name: e.size for e in session.list("out")}["big.bin"] == 1_000_000
        assert session.size("out/big.bin") == 1_000_000
        received: list[int] = []
        target = tmp_path / "inbox" / "big.bin"
        target.parent.mkdir()
        assert session.get("out/big.bin", target, sync=True, progress=lambda done, _: received.append(done)) == 1_000_000
        assert target.read_bytes() == (out / "big.bin").read_bytes() and received[-1] == 1_000_000
        assert partial_files(target.parent) == []
        assert session.get_bytes("out/big.bin") == target.read_bytes()
        session.rename("out/big.bin", "out/renamed.bin")
        session.delete("out/renamed.bin")
        assert "renamed.bin" not in {e.name for e in session.list("out")}
        session.cwd("out")
        assert session.pwd() == "/out"
    with pytest.raises(gw.InvalidArgumentError, match="closed"):
        session.list()


def test_a_session_from_the_profile_and_on_the_legacy_gateway(sim: gw.Simulator) -> None:
    config = gw.Config.load(sim.config_path)
    with gw.Session.from_config(config) as new:
        assert new.username == sim.username
    with gw.Session.from_config(config, "legacy") as legacy:
        names = {e.name for e in legacy.list()}
        assert "out" in names and "UID_9876543210" in names
        text = legacy.get_bytes("UID_9876543210/NyFTPSLoginInfo/Ny_FTPS_Login_Info.txt").decode()
        assert f"Username: {sim.username}" in text


def test_a_new_gateway_session_needs_the_password(sim: gw.Simulator) -> None:
    identity = gw.Identity.from_pem_files(sim.certificate_pem, sim.key_pem)
    with pytest.raises(gw.InvalidArgumentError, match="password"):
        gw.Session.connect(sim.host, sim.port, identity=identity, ca_file=sim.ca_file)


def test_a_client_cut_off_before_its_data_handshake_costs_that_transfer_and_prints_no_panic(
    sim: gw.Simulator, capfd: pytest.CaptureFixture[str]
) -> None:
    """A client killed between opening a data connection and its TLS handshake resets the connection; libunftp
    panics that connection's task (it unwraps the handshake's result). The simulator goes on and says so in one
    warning, not with a panic and a backtrace that read like a crash. Driven with ftplib, an independent client."""
    import ftplib
    import socket
    import ssl
    import struct
    import time

    context = ssl.create_default_context(cafile=str(sim.ca_file))
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(sim.certificate_pem), str(sim.key_pem))
    password = sim.gateway_password_file.read_text().strip()
    for _ in range(3):
        ftp = ftplib.FTP_TLS(context=context)
        ftp.connect(sim.host, sim.port)
        ftp.auth()
        ftp.login(sim.username, password)
        ftp.prot_p()
        port = int(ftp.sendcmd("EPSV").split("|||")[1].split("|")[0])
        data = socket.create_connection((sim.host, port))
        ftp.putcmd("NLST out")
        time.sleep(0.05)
        data.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        data.close()
        time.sleep(0.2)
        ftp.close()
    with gw.Session.from_config(gw.Config.load(sim.config_path)) as session:
        assert "out" in [entry.name for entry in session.list()], "the simulator still serves"
    assert "panicked" not in capfd.readouterr().err
