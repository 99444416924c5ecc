"""Identity: loading certificates (the public OCES II test files and the simulator's), their details,
the user name, the export for registration, and the errors for bad files."""

from __future__ import annotations

import datetime
import shutil
import subprocess
from pathlib import Path

import pytest

import skat_gateway as gw
from conftest import OCES2_PASSWORD


def test_the_newsletters_voces_certificate_gives_its_user_name(oces2: Path) -> None:
    identity = gw.Identity.from_file(oces2 / "VOCES_gyldig.p12", OCES2_PASSWORD)
    assert identity.username == "CVR_30808460_UID_25351738"
    assert identity.kind is gw.CertificateKind.VOCES
    assert identity.cvr == "30808460"
    assert identity.id == "25351738"
    # Expired years ago: it loads (its details can be shown), and says so.
    assert identity.is_expired
    assert identity.not_after.tzinfo is not None and identity.not_after.utcoffset() == datetime.timedelta(0)
    assert identity.not_after < datetime.datetime.now(datetime.timezone.utc)
    assert identity.not_before < identity.not_after
    assert identity.days_until_expiry < 0
    assert identity.chain_length == 2
    with pytest.raises(gw.CertificateError) as raised:
        identity.ensure_currently_valid()
    assert raised.value.kind == "CERTIFICATE_EXPIRED" and "2020-03-13" in str(raised.value)


@pytest.mark.parametrize(
    ("file", "kind", "id_part"),
    [
        ("VOCES_spaerret.p12", gw.CertificateKind.VOCES, "_UID_"),
        ("VOCES_udloebet.p12", gw.CertificateKind.VOCES, "_UID_"),
        ("MOCES_gyldig.p12", gw.CertificateKind.MOCES, "_RID_"),
        ("MOCES_cpr_gyldig.p12", gw.CertificateKind.MOCES, "_RID_"),
        ("FOCES_gyldig.p12", gw.CertificateKind.FOCES, "_FID_"),
        ("Statens_Serum_Institut_FOCES.p12", gw.CertificateKind.FOCES, "_FID_"),
    ],
)
def test_every_public_test_certificate_loads_with_its_kind(oces2: Path, file: str, kind: gw.CertificateKind, id_part: str) -> None:
    # A str path and a pathlib.Path both work; so does the password as a Secret.
    identity = gw.Identity.from_file(str(oces2 / file), gw.Secret(OCES2_PASSWORD))
    assert identity.kind is kind
    assert identity.username.startswith(f"CVR_{identity.cvr}{id_part}")
    assert identity.username == f"CVR_{identity.cvr}{id_part}{identity.id}"


def test_the_exported_pem_is_what_openssl_gives(oces2: Path, tmp_path: Path) -> None:
    identity = gw.Identity.from_file(oces2 / "VOCES_gyldig.p12", OCES2_PASSWORD)
    exported = identity.export_public_pem(tmp_path)
    assert exported == tmp_path / "CVR_30808460_UID_25351738.pem"
    text = exported.read_text()
    assert text == identity.public_pem and "PRIVATE KEY" not in text
    # Never replaced unless asked.
    with pytest.raises(gw.GatewayError):
        identity.export_public_pem(tmp_path)
    assert identity.export_public_pem(tmp_path, overwrite=True) == exported
    assert identity.export_public_pem(tmp_path, username="CVR_1_UID_2").name == "CVR_1_UID_2.pem"
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: the byte-for-byte comparison needs it")
    certificate = subprocess.run(
        ["openssl", "pkcs12", "-legacy", "-in", str(oces2 / "VOCES_gyldig.p12"), "-nokeys", "-clcerts", "-passin", f"pass:{OCES2_PASSWORD}"],
        check=True,
        capture_output=True,
    ).stdout
    pem = subprocess.run(["openssl", "x509"], input=certificate, check=True, capture_output=True).stdout
    assert text.encode() == pem


def test_a_wrong_password_is_a_certificate_error_without_the_password(oces2: Path) -> None:
    with pytest.raises(gw.CertificatePasswordError) as raised:
        gw.Identity.from_file(oces2 / "VOCES_gyldig.p12", "Wrong-Pa55word")
    error = raised.value
    assert isinstance(error, gw.CertificateError) and isinstance(error, gw.GatewayError)
    assert error.code == 202 and error.kind == "CERTIFICATE_PASSWORD"
    assert "VOCES_gyldig.p12" in str(error)
    assert "Wrong-Pa55word" not in str(error) and "Wrong-Pa55word" not in repr(error)
    with pytest.raises(gw.CertificatePasswordError, match="needs its password"):
        gw.Identity.from_file(oces2 / "VOCES_gyldig.p12")


def test_bad_files_are_certificate_errors(tmp_path: Path) -> None:
    with pytest.raises(gw.CertificateError) as raised:
        gw.Identity.from_file(tmp_path / "missing.p12", "x")
    assert raised.value.kind == "CERTIFICATE_FILE_UNREADABLE"
    damaged = tmp_path / "damaged.p12"
    damaged.write_bytes(b"\x30\x82\x01\x00 not really a PKCS#12 file")
    with pytest.raises(gw.CertificateError) as raised:
        gw.Identity.from_file(damaged, "x")
    assert raised.value.kind == "CERTIFICATE_FORMAT"
    with pytest.raises(gw.CertificateError):
        gw.Identity.from_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


def test_the_simulators_certificate_in_every_form(sim: gw.Simulator) -> None:
    p12_password = sim.certificate_password_file.read_text().strip()
    from_p12 = gw.Identity.from_file(sim.certificate, p12_password)
    from_bytes = gw.Identity.from_pkcs12(sim.certificate.read_bytes(), p12_password)
    from_pem_files = gw.Identity.from_pem_files(sim.certificate_pem, sim.key_pem)
    from_pem = gw.Identity.from_pem(sim.certificate_pem.read_bytes(), sim.key_pem.read_bytes())
    for identity in (from_p12, from_bytes, from_pem_files, from_pem):
        assert identity.username == sim.username == "CVR_12345678_UID_9876543210"
        assert identity.fingerprint == from_p12.fingerprint
        assert not identity.is_expired and identity.days_until_expiry > 0
        identity.ensure_currently_valid()
    assert len(from_p12.sha256) == 64 and from_p12.fingerprint.count(":") == 31
    assert from_p12.certificate_der[:1] == b"\x30"
    assert "CVR_12345678_UID_9876543210" in repr(from_p12)
    assert "PRIVATE" not in repr(from_p12) and p12_password not in repr(from_p12)


def test_a_secret_never_shows_itself(tmp_path: Path) -> None:
    secret = gw.Secret("hunter2")
    assert repr(secret) == "Secret('***')" and str(secret) == "***" and f"{secret}" == "***"
    assert secret.reveal() == "hunter2" and len(secret) == 7
    assert secret == gw.Secret("hunter2") and secret != gw.Secret("other")
    secret.save(tmp_path / "pw")
    assert (tmp_path / "pw").read_text().strip() == "hunter2"
    assert (tmp_path / "pw").stat().st_mode & 0o077 == 0
    import pickle

    with pytest.raises(gw.InvalidArgumentError):
        pickle.dumps(secret)
