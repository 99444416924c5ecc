"""The GIL is released while the core works (threads overlap, logging from any thread never deadlocks),
and Ctrl-C stops a long wait or a transfer while the journal stays consistent."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import skat_gateway as gw
from conftest import SERVICE, partial_files, write_file

pytestmark = pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs POSIX signals")


def connect(sim: gw.Simulator) -> gw.Session:
    return gw.Session.connect(
        sim.host,
        sim.port,
        identity=gw.Identity.from_pem_files(sim.certificate_pem, sim.key_pem),
        password=sim.gateway_password_file.read_text().strip(),
        ca_file=sim.ca_file,
        system_roots=False,
        io_timeout=30,
    )


def test_two_transfers_in_a_thread_pool_overlap(sim: gw.Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="skat_gateway")
    # Every reply of the server comes 0.2 s late: a login and an upload take seconds of waiting, not of CPU.
    sim.inject_fault("delay_replies", 0.2)
    files = [write_file(tmp_path / f"f{i}.xml", 200_000) for i in range(2)]

    def transfer(i: int) -> tuple[float, float]:
        entered = time.monotonic()
        with connect(sim) as session:
            session.put(files[i], f"{SERVICE}/parallel-{i}.xml")
        return entered, time.monotonic()

    with ThreadPoolExecutor(max_workers=2) as pool:
        (enter_a, exit_a), (enter_b, exit_b) = pool.map(transfer, range(2))
    sim.clear_faults()
    # Had either call held the GIL, the other could not have started before it ended: the two would end a
    # whole call apart. They ended together.
    shortest = min(exit_a - enter_a, exit_b - enter_b)
    assert shortest > 1.0, "the delayed replies make each call take seconds"
    assert abs(exit_a - exit_b) < shortest / 2, (enter_a, exit_a, enter_b, exit_b)
    # And the records of both threads arrived (logging from threads without the GIL, no deadlock).
    uploads = [r for r in caplog.records if r.name == "skat_gateway.ftp" and r.getMessage().startswith("uploaded")]
    assert len(uploads) == 2


def test_python_threads_run_while_a_call_waits(sim: gw.Simulator) -> None:
    sim.inject_fault("delay_replies", 0.2)
    ticks = 0
    busy = threading.Event()
    done = threading.Event()

    def call() -> None:
        busy.set()
        connect(sim).close()
        done.set()

    worker = threading.Thread(target=call)
    worker.start()
    busy.wait()
    while not done.is_set():
        ticks += 1
        time.sleep(0.01)
    worker.join()
    # The login took seconds; the main thread kept running all along (with the GIL held it would get ~0).
    assert ticks > 50, ticks


@pytest.fixture(autouse=True)
def ctrl_c_raises_keyboard_interrupt() -> Iterator[None]:
    """Python leaves SIGINT ignored when it started ignored (a job started with `nohup` or `&` by a
    non-interactive shell, as CI runners may do): then no Ctrl-C reaches anything, and these tests would test
    nothing. An interactive terminal's default, KeyboardInterrupt, for the duration of each test."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def interrupt_after(seconds: float) -> threading.Timer:
    """Ctrl-C as the terminal sends it: SIGINT to this process, while the main thread is inside a call."""
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_ctrl_c_stops_a_long_poll_and_the_journal_stays_consistent(sim: gw.Simulator, declaration: Path) -> None:
    with gw.Client.from_config(sim.config_path) as client:
        sim.set_backend_available(False)
        s = client.submit(SERVICE, declaration)
        started = time.monotonic()
        interrupt_after(0.5)
        with pytest.raises(KeyboardInterrupt):
            client.poll(wait=60, interval=0.2)
        assert time.monotonic() - started < 20, "the 60 s wait ended at Ctrl-C"
        # Consistent: the submission is as it was, nothing half-written in the inbox, the poll lock free.
        assert client.submission(s.name).state is gw.SubmissionState.UPLOADED
        assert partial_files(client.inbox) == []
        client.poll()
        sim.set_backend_available(True)
        client.poll(wait=20, interval=0.1)
        assert client.submission(s.name).state is gw.SubmissionState.RESPONDED
    with gw.Journal(client.journal_path) as journal:
        assert [x.state for x in journal.submissions()] == [gw.SubmissionState.RESPONDED]


def test_ctrl_c_during_a_heartbeat_wait(sim: gw.Simulator) -> None:
    with gw.Client.from_config(sim.config_path) as client:
        sim.set_backend_available(False)
        interrupt_after(0.5)
        with pytest.raises(KeyboardInterrupt):
            client.ping(timeout=60)
        (heartbeat,) = client.submissions()
        assert heartbeat.state is gw.SubmissionState.UPLOADED


def test_ctrl_c_during_an_upload_lets_it_finish_whole_and_never_sends_it_twice(sim: gw.Simulator, tmp_path: Path) -> None:
    big = write_file(tmp_path / "big.xml", 3_000_000)
    with gw.Client.from_config(sim.config_path) as client:
        interrupted = []

        def progress(sent: int, total: int | None) -> None:
            if not interrupted:
                interrupted.append(sent)
                os.kill(os.getpid(), signal.SIGINT)

        with pytest.raises(KeyboardInterrupt):
            client.submit(SERVICE, big, progress=progress)
        assert interrupted and interrupted[0] < 3_000_000, "interrupted during the upload"
        # The gateway has the whole file, once; the journal knows it; submitting again sends nothing.
        (s,) = client.submissions()
        assert s.state is gw.SubmissionState.UPLOADED and s.size == 3_000_000
        received = sim.folder / "users" / sim.username / ".gateway" / "received" / SERVICE / s.name
        assert received.read_bytes() == big.read_bytes()
        again = client.submit_file(SERVICE, big)
        assert not again.sent and again.submission.name == s.name
        assert partial_files(sim.folder / "journal.sqlite.spool") == []


def test_ctrl_c_stops_a_raw_download_and_leaves_no_file(sim: gw.Simulator, tmp_path: Path) -> None:
    (sim.out_dir() / "large.bin").write_bytes(os.urandom(20_000_000))
    target = tmp_path / "large.bin"
    blocks = []

    def progress(received: int, total: int | None) -> None:
        blocks.append(received)
        if len(blocks) == 3:
            os.kill(os.getpid(), signal.SIGINT)

    with connect(sim) as session:
        with pytest.raises(KeyboardInterrupt):
            session.get("out/large.bin", target, progress=progress)
        assert blocks[-1] < 20_000_000, "stopped before the end"
        assert not target.exists() and partial_files(tmp_path) == []
        # The session goes on: the file is still there to fetch.
        assert session.size("out/large.bin") == 20_000_000
    with connect(sim) as session:
        assert session.get("out/large.bin", target) == 20_000_000


def test_one_client_shared_by_threads_serves_them_in_turn(client: gw.Client) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        submissions = list(pool.map(lambda i: client.submit_bytes(SERVICE, f"<n>{i}</n>".encode()), range(8)))
    assert len({s.name for s in submissions}) == 8
    assert sorted(s.name for s in client.submissions()) == sorted(s.name for s in submissions)
