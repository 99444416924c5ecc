"""What needs attention, and how it is cleared, against the in-process simulator: an interrupted upload
resumed or abandoned, another live upload of the same content waited for (never taken over), rejected and
overdue submissions reported on every poll until dealt with, a refusal meant for another system sharing the
certificate, odd files in `out`; and the read-only journal a monitoring script uses."""

from __future__ import annotations

import datetime
import os
import threading
import time
from pathlib import Path

import pytest

import skat_gateway as gw
from conftest import SERVICE, sim_config, write_file


def interrupt_an_upload(sim: gw.Simulator, client: gw.Client, file: Path) -> gw.Submission:
    """Submits `file` while the simulator cuts the data connection off: with one upload attempt, the submission
    is left unfinished (Uploading), as after a crash or a network failure that outlasted the retries."""
    sim.inject_fault("drop_data_after", 100_000, times=1)
    with pytest.raises(gw.GatewayConnectionError, match="submit the same file again"):
        client.submit_file(SERVICE, file)
    (interrupted,) = client.submissions()
    assert interrupted.state is gw.SubmissionState.UPLOADING and interrupted.attempts == 1
    return interrupted


def received(sim: gw.Simulator, name: str) -> list[gw.AuditEntry]:
    """The uploads the simulator accepted as new transactions under `name`."""
    return [e for e in sim.audit() if e.event == "received" and e.name == name]


def test_an_interrupted_upload_is_resumed_under_its_name_and_arrives_once(sim: gw.Simulator, tmp_path: Path) -> None:
    file = write_file(tmp_path / "big.xml", 2_000_000)
    with gw.Client(sim_config(sim, tmp_path / "journal.sqlite", upload_attempts=1)) as client:
        interrupted = interrupt_an_upload(sim, client, file)
        assert received(sim, interrupted.name) == [], "nothing of the cut upload reached a service"
        # Stale: unfinished, and no process holds its upload lock. Every poll says so.
        assert [s.name for s in client.stale_uploads()] == [interrupted.name]
        for _ in range(2):
            report = client.poll()
            assert [s.name for s in report.stale] == [interrupted.name] and report.pending == []

        result = client.submit_file(SERVICE, file)
        assert result.outcome == "resumed" and result.resumed and result.sent
        assert result.submission.name == interrupted.name and result.submission.attempts == 2
        assert result.submission.state is gw.SubmissionState.UPLOADED and result.submission.spool_path is None
        assert "resumed" in repr(result)
        # Submitting it once more sends nothing: the content is at the gateway.
        assert client.submit_file(SERVICE, file).outcome == "already_submitted"

        report = client.poll(wait=20, interval=0.1)
        assert report.stale == [] and client.stale_uploads() == [] and report.pending == []
        assert client.submission(interrupted.name).state is gw.SubmissionState.RESPONDED
    (entry,) = received(sim, interrupted.name)
    assert entry.sha256 == interrupted.sha256 and entry.gateway == "new" and entry.at.tzinfo is not None


def test_an_interrupted_upload_of_a_corrected_file_is_abandoned_with_close_submission(sim: gw.Simulator, tmp_path: Path) -> None:
    file = write_file(tmp_path / "decl.xml", 2_000_000)
    with gw.Client(sim_config(sim, tmp_path / "journal.sqlite", upload_attempts=1)) as client:
        old = interrupt_an_upload(sim, client, file)
        assert old.spool_path is not None and old.spool_path.is_file(), "the unfinished upload keeps its copy"

        # The file is corrected and sent anew; the old upload must never be finished now.
        file.write_bytes(b"<decl>corrected</decl>")
        corrected = client.submit_file(SERVICE, file)
        assert corrected.outcome == "sent" and corrected.submission.name != old.name
        assert [s.name for s in client.poll(wait=20, interval=0.1).stale] == [old.name]

        closed = client.close_submission(old.name, "corrected and sent anew")
        assert closed.state is gw.SubmissionState.CLOSED and closed.is_final
        assert closed.close_reason == "corrected and sent anew" and closed.closed_at is not None
        assert closed.spool_path is None and not old.spool_path.exists(), "abandoning removed the copy"
        assert client.stale_uploads() == [] and client.poll().stale == []
        with pytest.raises(gw.InvalidArgumentError, match="closed already"):
            client.close_submission(old.name)
    assert received(sim, old.name) == [], "the abandoned upload never reached the gateway"
    assert len(received(sim, corrected.submission.name)) == 1


def test_a_live_upload_of_the_same_content_is_waited_for_never_taken_over(sim: gw.Simulator, tmp_path: Path) -> None:
    # Two clients on one journal, as two overlapping cron jobs: the first is held in the middle of its upload
    # (its progress callback blocks) while the second submits the same file.
    file = write_file(tmp_path / "decl.xml", 1_000_000)
    uploading, release, waiting = threading.Event(), threading.Event(), threading.Event()
    names: list[str] = []

    def hold_the_upload(event: gw.Event) -> None:
        if event.kind == "reserved" and event.name is not None:
            names.append(event.name)
        if event.kind == "uploading" and not uploading.is_set():
            uploading.set()
            release.wait(30)

    def note_the_wait(event: gw.Event) -> None:
        if event.kind == "waiting_for_other_upload":
            assert event.name == names[0]
            waiting.set()

    results: dict[str, gw.SubmitResult] = {}
    with gw.Client.from_config(sim.config_path) as first, gw.Client.from_config(sim.config_path) as second:
        first.on_event = hold_the_upload
        second.on_event = note_the_wait
        one = threading.Thread(target=lambda: results.setdefault("first", first.submit_file(SERVICE, file)))
        two = threading.Thread(target=lambda: results.setdefault("second", second.submit_file(SERVICE, file)))
        one.start()
        try:
            assert uploading.wait(30), "the first upload never started"
            # A live upload is not stale (its process holds the upload lock), and it cannot be abandoned.
            assert second.stale_uploads() == []
            with pytest.raises(gw.InvalidArgumentError, match="uploading it right now"):
                second.close_submission(names[0])
            two.start()
            assert waiting.wait(30), "the second submit did not wait for the first"
        finally:
            release.set()
            one.join(60)
            if two.is_alive():
                two.join(60)
    assert results["first"].outcome == "sent"
    assert results["second"].outcome == "already_submitted" and not results["second"].sent
    assert results["second"].submission.name == results["first"].submission.name == names[0]
    assert len(received(sim, names[0])) == 1 and len([e for e in sim.audit() if e.event == "received"]) == 1


def test_a_rejected_submission_is_reported_on_every_poll_until_closed(sim: gw.Simulator, declaration: Path, tmp_path: Path) -> None:
    # Two systems share the certificate and choose names: the second one's upload under a name the first used
    # is refused by the gateway (status 0).
    with gw.Client.from_config(sim.config_path) as first:
        ours = first.submit(SERVICE, declaration, name="decl-0001.xml")
        assert ours.name_chosen
        first.poll(wait=20, interval=0.1)
        assert first.submission(ours.name).state is gw.SubmissionState.RESPONDED
        with gw.Client(sim_config(sim, tmp_path / "second" / "journal.sqlite")) as second:
            refused = second.submit(SERVICE, declaration, name="decl-0001.xml")
            report = second.poll(wait=20, interval=0.1)
            (receipt,) = report.receipts
            assert receipt.code == 0 and receipt.state is gw.SubmissionState.FAILED and receipt.outcome == "applied"
            for _ in range(3):
                assert [s.name for s in report.rejected] == [refused.name]
                assert report.rejected[0].error is not None
                assert [s.name for s in second.rejected()] == [refused.name]
                report = second.poll()
            # Closing acknowledges it: it stays Failed, and no poll reports it any more.
            acknowledged = second.close_submission(refused.name, "name clash with the other system")
            assert acknowledged.state is gw.SubmissionState.FAILED and acknowledged.closed_at is not None
            assert second.poll().rejected == [] and second.rejected() == []

        # For the first system that status 0 is another system's: its own upload of the name was answered.
        report = first.poll()
        (others,) = report.unknown
        assert others.outcome == "others_reuse" and others.code == 0 and others.name == ours.name
        assert others.outcome_text is not None and "another system" in others.outcome_text
        assert others.local_path is not None and others.local_path.is_file()
        assert report.receipts == [] and report.rejected == []
        assert first.submission(ours.name).state is gw.SubmissionState.RESPONDED
    assert others.status_file in os.listdir(sim.out_dir()), "left in out for the system it belongs to"


def test_an_overdue_submission_is_reported_on_every_poll_and_newly_once(sim: gw.Simulator, declaration: Path, tmp_path: Path) -> None:
    with gw.Client(sim_config(sim, tmp_path / "journal.sqlite", deadline=2)) as client:
        sim.set_backend_available(False)
        s = client.submit(SERVICE, declaration)
        first = client.poll()
        assert first.newly_overdue == [] and first.overdue == [] and first.pending == [s.name]
        assert s.deadline is not None
        time.sleep(max(0.0, (s.deadline - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) + 0.2)
        report = client.poll()
        assert report.newly_overdue == [s.name]
        assert [o.name for o in report.overdue] == [s.name] and report.overdue[0].state is gw.SubmissionState.OVERDUE
        assert report.pending == [s.name], "an overdue one still waits for a late status"
        again = client.poll()
        assert again.newly_overdue == [] and [o.name for o in again.overdue] == [s.name]
        client.close_submission(s.name, "agency: it never arrived")
        closed = client.poll()
        assert closed.overdue == [] and closed.pending == []


def test_odd_files_in_out_are_skipped_or_kept_and_the_poll_goes_on(client: gw.Client, sim: gw.Simulator, declaration: Path) -> None:
    s = client.submit(SERVICE, declaration)
    out = sim.out_dir()
    (out / ".hidden.xml").write_bytes(b"<x/>")
    with open(os.fsencode(out) + b"/latin1-\xe6\xf8\xe5.xml", "wb") as f:
        f.write(b"<x/>")
    broken = f"status_{SERVICE}_nope.xml_1.xml"
    (out / broken).write_bytes(b"not a status file")
    report = client.poll(wait=20, interval=0.1)
    assert client.submission(s.name).state is gw.SubmissionState.RESPONDED, "the receipts came in all the same"

    report = client.poll()
    reasons = {f.remote_name: f.reason for f in report.skipped}
    assert set(reasons) == {".hidden.xml", "latin1-\ufffd\ufffd\ufffd.xml"}, reasons
    assert "dot" in reasons[".hidden.xml"] and "UTF-8" in reasons["latin1-\ufffd\ufffd\ufffd.xml"]
    assert all(f.gateway == "new" for f in report.skipped)
    (invalid,) = report.invalid
    assert invalid.remote_name == broken and invalid.gateway == "new" and invalid.reason
    assert invalid.local_path.parent == client.inbox and invalid.local_path.read_bytes() == b"not a status file"
    assert {".hidden.xml", broken} <= set(os.listdir(out)), "left in out"
    assert "skipped=2" in repr(report)


def test_a_read_only_journal_answers_and_never_writes(sim: gw.Simulator, tmp_path: Path) -> None:
    # A monitoring script that may only read the journal: it sees the submissions and the stale uploads
    # (whose upload lock it checks without taking it), and can change nothing.
    journal_path = tmp_path / "journal.sqlite"
    with gw.Client(sim_config(sim, journal_path, upload_attempts=1)) as client:
        interrupted = interrupt_an_upload(sim, client, write_file(tmp_path / "decl.xml", 2_000_000))
        def on_disk() -> list[bytes]:
            # WAL mode: a write may land in the -wal file before the journal itself.
            return [p.read_bytes() for p in (journal_path, Path(f"{journal_path}-wal")) if p.exists()]

        before = on_disk()
        with gw.Journal(journal_path, read_only=True) as journal:
            assert journal.read_only
            assert journal.submission(interrupted.name) == interrupted
            assert [s.name for s in journal.stale_uploads(client.username)] == [interrupted.name]
            with pytest.raises(gw.InvalidArgumentError, match="reading only"):
                journal.close_submission(client.username, interrupted.name)
        assert on_disk() == before, "nothing was written"
        assert client.submission(interrupted.name).state is gw.SubmissionState.UPLOADING
        with gw.Journal(journal_path) as writable:
            assert not writable.read_only
            assert [s.name for s in writable.stale_uploads(client.username)] == [interrupted.name]
    missing = tmp_path / "no-journal.sqlite"
    with pytest.raises(gw.JournalError, match="no journal"):
        gw.Journal(missing, read_only=True)
    assert not missing.exists(), "a read-only open creates nothing"
