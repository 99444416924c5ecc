"""The package as a whole: version, exports, types, logging, secrets, the pytest plugin."""

from __future__ import annotations

import importlib.metadata
import logging
import os
import re
import time
from pathlib import Path

import pytest

import skat_gateway as gw
from conftest import REPO, SERVICE


def test_the_version_is_the_crates() -> None:
    cargo = (REPO / "Cargo.toml").read_text()
    match = re.search(r'^version = "([^"]+)"', cargo, re.M)
    assert match is not None
    assert gw.__version__ == match.group(1) == importlib.metadata.version("skat-gateway")


def test_the_installed_wheel_is_what_runs() -> None:
    if os.environ.get("SKAT_GATEWAY_TEST_WHEEL") != "1":
        pytest.skip("not run by scripts/test-python (which installs the wheel into a fresh venv)")
    assert "site-packages" in Path(gw.__file__).parts
    assert (Path(gw.__file__).parent / "py.typed").is_file()
    assert (Path(gw.__file__).parent / "_native.pyi").is_file()


def test_everything_in_all_exists() -> None:
    for name in gw.__all__:
        assert hasattr(gw, name), name
    assert set(gw.__all__) >= {"GatewayError", "CertificateError", "AuthenticationError", "FilenameReusedError",
                               "GatewayConnectionError", "Identity", "Simulator", "Client", "SubmissionState"}


def test_submission_state_values_are_the_journals() -> None:
    assert [s.value for s in gw.SubmissionState] == [
        "Reserved", "Uploading", "Uploaded", "Delivered", "Accepted", "Responded", "Failed", "Overdue", "Closed",
    ]
    assert gw.SubmissionState("Responded") is gw.SubmissionState.RESPONDED and gw.SubmissionState.RESPONDED.is_final
    assert not gw.SubmissionState.OVERDUE.is_final


def test_the_cores_records_reach_logging(client: gw.Client, declaration: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="skat_gateway")
    s = client.submit(SERVICE, declaration)
    # Delivered by the end of the call, in the calling thread's logger tree, with the core's details.
    uploaded = [r for r in caplog.records if r.name == "skat_gateway.gateway" and s.name in r.getMessage()]
    assert uploaded and uploaded[0].levelno == logging.INFO and uploaded[0].rust_target.startswith("gateway::")
    assert uploaded[0].created <= time.time() and uploaded[0].pathname.endswith(".rs")
    assert not [r for r in caplog.records if r.levelno < logging.INFO], "below the level: filtered out"


def test_records_of_background_threads_arrive_without_a_call(sim: gw.Simulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="skat_gateway")
    with gw.Client.from_config(sim.config_path) as client:
        client.submit_bytes(SERVICE, b"<x/>")
        # No call now: the simulator's backend writes status files in its own threads and logs it.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(r.name == "skat_gateway.sim" and "wrote" in r.getMessage() and "_3.xml" in r.getMessage() for r in caplog.records):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the simulator's records never arrived")


def test_no_secret_reaches_a_log_record_even_at_trace(sim: gw.Simulator, declaration: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(1, logger="skat_gateway")
    password = sim.gateway_password_file.read_text().strip()
    p12_password = sim.certificate_password_file.read_text().strip()
    with gw.Client.from_config(sim.config_path) as client:
        client.submit(SERVICE, declaration)
        client.poll(wait=20, interval=0.1)
        client.fetch_login_info()
    assert any(r.levelno == 5 for r in caplog.records), "trace records came through"
    for record in caplog.records:
        message = record.getMessage()
        assert password not in message and p12_password not in message, (record.name, message)


def test_reprs_show_no_secrets(sim: gw.Simulator) -> None:
    password = sim.gateway_password_file.read_text().strip()
    config = gw.Config.load(sim.config_path, password=password)
    with gw.Client(config) as client:
        for shown in (repr(config), repr(client), repr(sim), repr(client.config)):
            assert password not in shown


def test_the_pytest_plugin_fixture(gateway_simulator: gw.Simulator) -> None:
    # `gateway_simulator` comes from the package's pytest11 entry point (skat_gateway.pytest_plugin).
    assert gateway_simulator.config_path.is_file()
    with gw.Client.from_config(gateway_simulator.config_path) as client:
        assert client.username == gateway_simulator.username


def test_the_simulator_is_a_context_manager_and_cleans_up() -> None:
    with gw.Simulator() as sim:
        folder = sim.folder
        assert (folder / "client.toml").is_file() and sim.config_path == folder / "client.toml"
        assert sim.legacy_port is not None and sim.data_ports == (36000, 39999)
    assert sim.closed and not folder.exists()
    sim.close()


def test_a_simulator_in_a_folder_of_ones_own_is_kept(tmp_path: Path) -> None:
    with gw.Simulator(tmp_path / "sim", legacy_port=None) as sim:
        assert sim.legacy_port is None
        first = sim.certificate.read_bytes()
    with gw.Simulator(tmp_path / "sim") as again:
        assert again.certificate.read_bytes() == first, "its PKI is reused"
    assert (tmp_path / "sim" / "ca.pem").is_file()
