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
