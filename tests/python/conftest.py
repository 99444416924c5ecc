"""Fixtures for the Python package's tests: a simulator per test, a client for it, the public test
certificates. Run by scripts/test-python against the installed wheel."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

import skat_gateway as gw

REPO = Path(__file__).resolve().parents[2]
# The public OCES II test certificates, read in place beside the repository (a user's clone has none).
OCES2 = REPO.parent / "shared" / "fixtures" / "oces2"
OCES2_PASSWORD = "Test1234"
SERVICE = "Manifest.AnkomstdeklarationOpret"


@pytest.fixture
def oces2() -> Path:
    if not OCES2.is_dir():
        pytest.skip(f"the public OCES II test certificates are not at {OCES2} (they sit beside the repository)")
    return OCES2


@pytest.fixture
def sim() -> Iterator[gw.Simulator]:
    with gw.Simulator(delivered_after=0.02, accepted_after=0.02, responded_after=0.02) as simulator:
        yield simulator


@pytest.fixture
def client(sim: gw.Simulator) -> Iterator[gw.Client]:
    with gw.Client.from_config(sim.config_path) as c:
        yield c


@pytest.fixture
def declaration(tmp_path: Path) -> Path:
    path = tmp_path / "ankomst.xml"
    path.write_bytes(b'<?xml version="1.0"?>\n<AnkomstdeklarationOpret><Id>1</Id></AnkomstdeklarationOpret>\n')
    return path


def sim_config(sim: gw.Simulator, journal: Path, **settings: Any) -> gw.Config:
    """Settings for the simulator's client certificate with a journal of its own (a second system sharing the
    certificate, or a profile with other settings: `upload_attempts`, `deadline`, ...)."""
    return gw.Config(
        certificate=sim.certificate,
        certificate_password=sim.certificate_password_file.read_text().strip(),
        password=sim.gateway_password_file.read_text().strip(),
        host=sim.host,
        port=sim.port,
        ca_file=sim.ca_file,
        system_roots=False,
        journal=journal,
        **settings,
    )


def write_file(path: Path, size: int) -> Path:
    """A file of `size` bytes with a recognisable pattern."""
    block = bytes(range(256)) * 256
    with open(path, "wb") as f:
        left = size
        while left > 0:
            f.write(block[: min(left, len(block))])
            left -= len(block)
    return path


def partial_files(folder: Path) -> list[str]:
    """Temporary files of unfinished downloads or snapshots left in a folder tree."""
    return [str(p) for p in folder.rglob("*.part")] if folder.exists() else []


def os_supports_sigint() -> bool:
    return hasattr(os, "kill") and sys.platform != "win32"
