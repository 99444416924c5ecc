"""The package's enums: where a submission stands, and what kind of certificate an identity holds."""

from __future__ import annotations

import enum

__all__ = ["SubmissionState", "CertificateKind"]


class SubmissionState(enum.Enum):
    """Where a submission stands; the values are the journal's names.

    ``RESERVED`` -> ``UPLOADING`` -> ``UPLOADED`` -> ``DELIVERED`` (status 1) -> ``ACCEPTED`` (status 2) ->
    ``RESPONDED`` (status 3, final). ``FAILED`` (status 0, or the upload gave up) is final. ``OVERDUE``: no
    status 2 before the deadline; a late status still moves it on. ``CLOSED``: closed by the user (final).
    """

    RESERVED = "Reserved"
    UPLOADING = "Uploading"
    UPLOADED = "Uploaded"
    DELIVERED = "Delivered"
    ACCEPTED = "Accepted"
    RESPONDED = "Responded"
    FAILED = "Failed"
    OVERDUE = "Overdue"
    CLOSED = "Closed"

    @property
    def is_final(self) -> bool:
        """True when nothing more is expected: Responded, Failed or Closed."""
        return self in (SubmissionState.RESPONDED, SubmissionState.FAILED, SubmissionState.CLOSED)

    def __str__(self) -> str:
        return self.value


class CertificateKind(enum.Enum):
    """The kind of OCES certificate, as far as the gateway cares (the value is the core's short code)."""

    #: OCES II company certificate: user name ``CVR_<cvr>_UID_<id>``.
    VOCES = "VOCES"
    #: OCES II employee certificate: ``CVR_<cvr>_RID_<id>``.
    MOCES = "MOCES"
    #: OCES II function certificate: ``CVR_<cvr>_FID_<id>``.
    FOCES = "FOCES"
    #: OCES3 organisation certificate: ``CVR_<cvr>_UI_<uuid>`` (inferred).
    OCES3_ORGANISATION = "OCES3-organisation"
    #: OCES3 employee certificate: ``CVR_<cvr>_UI_<uuid>`` (inferred).
    OCES3_EMPLOYEE = "OCES3-employee"
    #: Not a certificate the gateway accepts: no user name follows from it.
    OTHER = "other"

    def __str__(self) -> str:
        return self.value
