"""The submission workflow against the in-process simulator: submit, poll to status 3 with receipts and the
response file, names used once, the journal, close, ping, migration login info, services, events."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

import skat_gateway as gw
from conftest import SERVICE, partial_files, sim_config


def test_a_submission_reaches_status_3_with_its_receipts_and_response(
    sim: gw.Simulator, client: gw.Client, declaration: Path, tmp_path: Path
) -> None:
    submission = client.submit(SERVICE, declaration)
    assert submission.service == SERVICE
    assert submission.state is gw.SubmissionState.UPLOADED
    assert submission.name.startswith("ankomst-") and submission.name.endswith(".xml")
    assert submission.size == declaration.stat().st_size
    assert submission.local_path == declaration.resolve()
    assert submission.uploaded_at is not None and submission.uploaded_at.tzinfo is not None
    assert submission.delivered_at is None and not submission.is_final

    inbox = tmp_path / "inbox"
    report = client.poll(inbox, wait=20, interval=0.1)
    by_code = {r.code: r for r in report.receipts}
    assert sorted(by_code) == [1, 2, 3], report.receipts
    assert {r.name for r in report.receipts} == {submission.name}
    assert by_code[1].state is gw.SubmissionState.DELIVERED
    assert by_code[2].state is gw.SubmissionState.ACCEPTED
    assert by_code[3].state is gw.SubmissionState.RESPONDED
    assert isinstance(by_code[3], gw.StatusFile)
    assert by_code[3].outcome == "applied" and by_code[3].service == SERVICE
    assert by_code[1].status_text == "File delivered to requested Backend System"
    assert by_code[3].response_files == [f"response_{SERVICE}_{submission.name}"]
    for receipt in report.receipts:
        assert receipt.local_path is not None and receipt.local_path.parent == inbox and receipt.local_path.is_file()
        assert receipt.gateway == "new" and receipt.skat_transaction_id
    # Four files came in (three status files and the response), all safely in the inbox and gone from out.
    assert len(report.files) == 4 and all(f.new and f.deleted_remote for f in report.files)
    assert (inbox / by_code[3].response_files[0]).read_bytes().startswith(b"<?xml")
    assert not report.unknown and not report.unknown_files and not report.invalid and not report.overdue

    done = client.submission(submission.name)
    assert done.state is gw.SubmissionState.RESPONDED and done.is_final
    # The journal's records of the receipts and the response: each with where the poll put it in the inbox.
    assert [r.status_file for r in done.receipts] == sorted(r.status_file for r in report.receipts)
    assert [r.code for r in done.receipts] == [1, 2, 3]
    for recorded in done.receipts:
        assert isinstance(recorded, gw.ReceiptFile)
        assert recorded.local_path is not None and recorded.local_path.parent == inbox and recorded.local_path.is_file()
        assert recorded.local_path == by_code[recorded.code].local_path
        assert recorded.received_at.tzinfo is datetime.timezone.utc
        assert submission.uploaded_at <= recorded.received_at <= datetime.datetime.now(datetime.timezone.utc)
    assert [r.remote_name for r in done.response_files] == by_code[3].response_files
    (response,) = done.response_files
    assert isinstance(response, gw.ResponseFile)
    assert response.local_path == inbox / response.remote_name and response.local_path.read_bytes().startswith(b"<?xml")
    assert done.receipts == client.submission(submission.name).receipts, "records compare by value"
    assert not done.name_chosen
    assert done.responded_at is not None and done.created_at <= done.responded_at
    assert done.skat_transaction_id == by_code[1].skat_transaction_id
    assert client.pending() == []
    assert partial_files(inbox) == []
    # The simulator's own record: the upload received once, with the content sent, and the four files it
    # published in out, all deleted by the poll.
    audit = sim.audit()
    (upload,) = [e for e in audit if e.event == "received"]
    assert upload.name == submission.name and upload.sha256 == submission.sha256 and upload.gateway == "new"
    assert upload.username == sim.username and upload.at.tzinfo is datetime.timezone.utc
    published = sorted(e.name for e in audit if e.event == "published")
    assert published == sorted(f.remote_name for f in report.files)
    assert sorted(e.name for e in audit if e.event == "deleted") == published


def test_a_reused_name_is_refused_locally_and_by_the_gateway(sim: gw.Simulator, declaration: Path, tmp_path: Path) -> None:
    with gw.Client.from_config(sim.config_path) as client:
        first = client.submit(SERVICE, declaration, name="decl-0001.xml")
        assert first.name == "decl-0001.xml"
        # Locally: the journal knows the name, nothing is sent.
        with pytest.raises(gw.FilenameReusedError) as raised:
            client.submit(SERVICE, declaration, name="decl-0001.xml", again=True)
        assert raised.value.code == 601 and "decl-0001.xml" in str(raised.value)
        client.poll(wait=20, interval=0.1)
    # A second system with its own journal (same certificate): the gateway answers with status 0.
    other = gw.Config.load(sim.config_path)
    second_journal = tmp_path / "other" / "journal.sqlite"
    config = gw.Config(
        certificate=other.certificate,  # type: ignore[arg-type]
        certificate_password=sim.certificate_password_file.read_text().strip(),
        password=sim.gateway_password_file.read_text().strip(),
        host=sim.host,
        port=sim.port,
        ca_file=sim.ca_file,
        system_roots=False,
        journal=second_journal,
    )
    assert config.inbox == second_journal.parent / "inbox" and config.has_password
    with gw.Client(config) as second:
        again = second.submit(SERVICE, declaration, name="decl-0001.xml")
        report = second.poll(wait=20, interval=0.1)
        (receipt,) = report.receipts
        assert receipt.code == 0 and receipt.is_filename_reused
        assert receipt.state is gw.SubmissionState.FAILED
        assert receipt.error is not None and receipt.error.code == "FILENAME_CANNOT_BE_REUSED_FOR_TRANSACTION"
        failed = second.submission(again.name)
        assert failed.state is gw.SubmissionState.FAILED and failed.error == receipt.error
        assert failed.failed_at is not None


def test_the_same_content_is_not_sent_twice_unless_asked(client: gw.Client, declaration: Path) -> None:
    first = client.submit_file(SERVICE, declaration)
    assert first.sent and first.outcome == "sent" and not first.resumed
    second = client.submit_file(SERVICE, str(declaration))
    assert not second.sent and second.outcome == "already_submitted" and not second.resumed
    assert second.submission.name == first.submission.name
    forced = client.submit_file(SERVICE, declaration, again=True)
    assert forced.sent and forced.outcome == "sent" and forced.submission.name != first.submission.name
    assert "already_submitted" in repr(second)


def test_bytes_follow_the_same_rules_and_say_what_was_done(client: gw.Client) -> None:
    data = b"<x>generated</x>"
    first = client.submit_bytes_as(SERVICE, data, prefix="gen")
    assert first.outcome == "sent" and first.submission.name.startswith("gen-") and first.submission.local_path is None
    again = client.submit_bytes_as(SERVICE, data)
    assert again.outcome == "already_submitted" and again.submission.name == first.submission.name
    # submit_bytes gives the submission itself, by the same rules.
    assert client.submit_bytes(SERVICE, data).name == first.submission.name
    forced = client.submit_bytes(SERVICE, data, again=True)
    assert forced.name != first.submission.name and forced.state is gw.SubmissionState.UPLOADED
    # Empty data is almost always a half-written export: refused, nothing sent, unless asked for.
    with pytest.raises(gw.InvalidArgumentError, match="empty"):
        client.submit_bytes(SERVICE, b"")
    with pytest.raises(gw.InvalidArgumentError, match="empty"):
        client.submit_bytes_as(SERVICE, b"")
    assert len(client.submissions()) == 2
    empty = client.submit_bytes_as(SERVICE, b"", allow_empty=True)
    assert empty.outcome == "sent" and empty.submission.size == 0
    chosen = client.submit_bytes(SERVICE, b"<x>chosen</x>", name="chosen-0001.xml")
    assert chosen.name == "chosen-0001.xml" and chosen.name_chosen


def test_the_journal_answers_without_a_connection(sim: gw.Simulator, client: gw.Client, declaration: Path) -> None:
    a = client.submit(SERVICE, declaration, prefix="first")
    b = client.submit_bytes(SERVICE, b"<x>generated</x>", extension="xml", prefix="generated")
    assert b.name.startswith("generated-") and b.local_path is None and b.size == 16
    client.poll(wait=20, interval=0.1)
    with gw.Journal(client.journal_path) as journal:
        assert journal.path == client.journal_path and journal.schema_version >= 3
        names = [s.name for s in journal.submissions()]
        assert names == [a.name, b.name]
        assert [s.name for s in journal.submissions(owner=sim.username)] == names
        assert journal.submissions(owner="CVR_00000000_UID_0") == []
        assert journal.submission(a.name).state is gw.SubmissionState.RESPONDED
        assert journal.submission(a.name, owner=sim.username) == client.submission(a.name)
        assert journal.name_used(sim.username, a.name) and not journal.name_used(sim.username, "never.xml")
        downloads = journal.downloads()
        assert len(downloads) == 8 and all(d.deleted_remote_at is not None for d in downloads)
        assert all(d.downloaded_at.tzinfo is datetime.timezone.utc for d in downloads)
        assert journal.unknown_receipts() == []
        with pytest.raises(gw.UnknownSubmissionError):
            journal.submission("never.xml")
    with pytest.raises(gw.InvalidArgumentError, match="closed"):
        journal.submissions()
    assert [s.name for s in client.submissions()] == [a.name, b.name]


def test_an_overdue_submission_can_be_closed(sim: gw.Simulator, declaration: Path, tmp_path: Path) -> None:
    config = gw.Config.load(sim.config_path)
    with gw.Client(config) as client:
        sim.set_backend_available(False)
        s = client.submit(SERVICE, declaration)
        report = client.poll(wait=0.5, interval=0.1)
        assert report.receipts == [] and [p.name for p in client.pending()] == [s.name]
        closed = client.close_submission(s.name, "agency: it never arrived")
        assert closed.state is gw.SubmissionState.CLOSED and closed.is_final
        assert closed.close_reason == "agency: it never arrived" and closed.closed_at is not None
        assert client.pending() == []
        with pytest.raises(gw.InvalidArgumentError, match="cannot be closed"):
            client.close_submission(s.name)
        # A late status 3 still comes through and wins.
        sim.set_backend_available(True)
        client.poll(wait=5, interval=0.1)
        assert client.submission(s.name).state in (gw.SubmissionState.CLOSED, gw.SubmissionState.RESPONDED)


def test_services_ping_and_the_catalogue(client: gw.Client) -> None:
    services = client.services()
    names = [s.name for s in services]
    assert SERVICE in names and gw.HEARTBEAT_SERVICE in names
    manifest = next(s for s in services if s.name == SERVICE)
    assert manifest.system == "Manifest" and manifest.transfer_type == "binary" and manifest.known
    assert next(s for s in services if s.is_heartbeat).system == "Gateway"
    # Queries are asked again once answered; declarations never go twice.
    assert not manifest.is_query and next(s for s in services if s.is_heartbeat).is_query
    assert "Manifest.TolddokumentSamlingHent" in {s.name for s in gw.catalogue() if s.is_query}
    assert set(client.services("legacy")) == set(services)
    assert {s.name for s in gw.catalogue()} >= set(names)

    ping = client.ping(timeout=20)
    assert ping.name.startswith("ping") and ping.receipt.code == 1 and ping.receipt.name == ping.name
    assert datetime.timedelta(0) < ping.round_trip < datetime.timedelta(seconds=20)
    assert client.submission(ping.name).state is gw.SubmissionState.DELIVERED


def test_the_new_password_is_fetched_from_the_legacy_gateway(sim: gw.Simulator, tmp_path: Path) -> None:
    # During the migration nobody knows the new password yet: a client that does not log in to the new gateway.
    config = gw.Config(
        certificate=sim.certificate,
        certificate_password=sim.certificate_password_file.read_text().strip(),
        host=sim.host,
        port=sim.port,
        legacy_host=sim.host,
        legacy_port=sim.legacy_port,
        ca_file=sim.ca_file,
        system_roots=False,
        journal=tmp_path / "journal.sqlite",
    )
    assert not config.has_password
    with gw.Client(config, connect=False) as client:
        secret = client.fetch_login_info()
    assert secret.reveal() == sim.gateway_password_file.read_text().strip()
    assert secret.reveal() not in repr(secret)
    secret.save(tmp_path / "gateway.password")
    assert (tmp_path / "gateway.password").stat().st_mode & 0o777 == 0o600


def test_events_and_progress_reach_python(client: gw.Client, tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    big.write_bytes(b"<x>" + b"0123456789" * 100_000 + b"</x>")
    events: list[gw.Event] = []
    progress: list[tuple[int, int | None]] = []
    client.on_event = events.append
    assert client.on_event == events.append
    s = client.submit(SERVICE, big, progress=lambda done, total: progress.append((done, total)))
    kinds = [e.kind for e in events]
    assert "snapshotting" in kinds and "reserved" in kinds and "uploading" in kinds and kinds[-1] == "uploaded"
    uploaded = events[-1]
    assert uploaded.name == s.name and uploaded.done == big.stat().st_size and uploaded.attempts == 1
    assert progress and progress[-1] == (big.stat().st_size, big.stat().st_size)
    assert [d for d, _ in progress] == sorted(d for d, _ in progress) and len(progress) > 1
    client.poll(wait=20, interval=0.1)
    receipts = [e for e in events if e.kind == "receipt"]
    assert sorted(e.code for e in receipts if e.code is not None) == [1, 2, 3]
    assert any(e.kind == "downloaded" and e.local_path is not None for e in events)
    client.on_event = None
    with pytest.raises(gw.InvalidArgumentError):
        client.on_event = "not callable"  # type: ignore[assignment]


def test_an_exception_in_a_callback_propagates_and_the_journal_stays_whole(client: gw.Client, declaration: Path) -> None:
    class Stop(Exception):
        pass

    def handler(event: gw.Event) -> None:
        if event.kind == "uploading":
            raise Stop("from the handler")

    client.on_event = handler
    with pytest.raises(Stop):
        client.submit(SERVICE, declaration)
    client.on_event = None
    # The upload was not cut off half-way: it is recorded whole, and not sent again.
    (recorded,) = client.submissions()
    assert recorded.state is gw.SubmissionState.UPLOADED
    assert not client.submit_file(SERVICE, declaration).sent


def test_a_closed_client_says_so(sim: gw.Simulator) -> None:
    client = gw.Client.from_config(sim.config_path)
    assert not client.closed
    client.close()
    client.close()
    assert client.closed
    with pytest.raises(gw.InvalidArgumentError, match="closed"):
        client.services()


def test_configuration_from_the_profile(sim: gw.Simulator) -> None:
    config = gw.Config.load(sim.config_path)
    assert config.profile == "sim" and config.source is not None
    assert config.port == sim.port and config.legacy_port == sim.legacy_port
    assert config.ca_file == sim.ca_file and not config.system_roots
    assert config.deadline == datetime.timedelta(hours=6)
    assert config.route(SERVICE) == "new" and config.default_gateway == "new"
    assert config.has_password and "password" not in repr(config).lower()
    # Where the password comes from, as a refused login says it, never the password itself.
    assert config.password_origin is not None and str(sim.gateway_password_file) in config.password_origin
    given = gw.Config.load(sim.config_path, password="from-a-vault")
    assert given.password_origin is not None and "from-a-vault" not in given.password_origin
    assert str(sim.gateway_password_file) not in given.password_origin
    with pytest.raises(gw.ConfigError, match="no-such-profile"):
        gw.Config.load(sim.config_path, "no-such-profile")
    custom = gw.Config(
        certificate=sim.certificate,
        journal=sim.folder / "j.sqlite",
        environment="production",
        deadline="1h30m",
        io_timeout=datetime.timedelta(seconds=5),
        routes={"Manifest.*": "legacy"},
    )
    assert custom.host == "secureftpgateway.skat.dk" and custom.port == 6381 and custom.legacy_port == 6371
    assert custom.deadline == datetime.timedelta(minutes=90) and custom.io_timeout == datetime.timedelta(seconds=5)
    assert custom.route(SERVICE) == "legacy" and custom.route(gw.HEARTBEAT_SERVICE) == "new"
    with pytest.raises(gw.InvalidArgumentError, match="environment"):
        gw.Config(certificate=sim.certificate, journal=sim.folder / "j.sqlite", environment="staging")
    # A route pattern gets the check a config file's [routes] gets.
    with pytest.raises(gw.InvalidArgumentError, match="pattern"):
        gw.Config(certificate=sim.certificate, journal=sim.folder / "j.sqlite", routes={"Manifest.*.Opret": "legacy"})


def test_a_refused_login_says_where_the_password_came_from(sim: gw.Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKAT_GATEWAY_PASSWORD", "from-the-environment")
    assert gw.Config.load(sim.config_path).password_origin == "the environment variable SKAT_GATEWAY_PASSWORD"
    with pytest.raises(gw.AuthenticationError, match="SKAT_GATEWAY_PASSWORD") as raised:
        gw.Client.from_config(sim.config_path)
    assert "from-the-environment" not in str(raised.value)
    # A password given in Python replaces the environment's, and the message says so.
    with pytest.raises(gw.AuthenticationError, match="configuration given to the library") as raised:
        gw.Client.from_config(sim.config_path, password="from-a-vault")
    assert "SKAT_GATEWAY_PASSWORD" not in str(raised.value) and "from-a-vault" not in str(raised.value)


def test_names(tmp_path: Path) -> None:
    name = gw.unique_filename(file=tmp_path / "decl.xml")
    assert name.startswith("decl-") and name.endswith(".xml")
    gw.validate_filename(name)
    with pytest.raises(gw.InvalidFilenameError, match="not allowed"):
        gw.validate_filename("bad name.xml")


def test_a_callback_may_not_call_its_own_client(client: gw.Client, declaration: Path) -> None:
    def handler(event: gw.Event) -> None:
        client.submissions()

    client.on_event = handler
    with pytest.raises(gw.InvalidArgumentError, match="busy in this thread"):
        client.submit(SERVICE, declaration)
    client.on_event = None
    assert client.submissions()[0].state is gw.SubmissionState.UPLOADED


def test_many_files_go_out_once_each_over_parallel_sessions(sim: gw.Simulator, tmp_path: Path) -> None:
    config = sim_config(sim, tmp_path / "journal.sqlite", sessions=3)
    assert config.sessions == 3 and gw.Config(certificate=sim.certificate, journal=tmp_path / "j").sessions == 4
    for bad in (0, 9):
        with pytest.raises(gw.InvalidArgumentError, match="sessions must be 1 to 8"):
            sim_config(sim, tmp_path / "journal.sqlite", sessions=bad)
    paths: list[Path] = []
    for i in range(12):
        paths.append(tmp_path / f"decl{i:02}.xml")
        paths[-1].write_text(f"<decl n='{i}'/>")
    copy = tmp_path / "copy-of-3.xml"
    copy.write_bytes(paths[3].read_bytes())
    missing = tmp_path / "missing.xml"
    events: list[str] = []
    with gw.Client(config) as client:
        client.on_event = lambda e: events.append(e.kind)
        results = client.submit_files(SERVICE, [*paths, copy, str(missing)])
    assert len(results) == 14
    *done, failed = results
    assert all(isinstance(r, gw.SubmitResult) for r in done), results
    ok = [r for r in done if isinstance(r, gw.SubmitResult)]
    assert len({r.submission.name for r in ok}) == 12 and sum(r.sent for r in ok) == 12
    # decl03 and its copy are one submission: whichever session came first sent it, the other found it sent.
    assert ok[3].submission.name == ok[12].submission.name and ok[3].sent != ok[12].sent
    assert isinstance(failed, gw.GatewayError) and "missing.xml" in str(failed), failed
    assert events.count("uploaded") == 12, events
