"""skat_gateway: a client library and simulator for the Danish customs agency's FTPS Gateway (ICS, Manifest).

Submit declarations exactly once, collect every receipt, and test against an in-process simulator::

    import skat_gateway as gw

    with gw.Simulator() as sim, gw.Client.from_config(sim.config_path) as client:
        submission = client.submit("Manifest.AnkomstdeklarationOpret", "declaration.xml")
        report = client.poll(wait=30)
        print(client.submission(submission.name).state)     # SubmissionState.RESPONDED

Every error is a :class:`GatewayError` (see :mod:`skat_gateway.exceptions`); log records go to the
``skat_gateway`` logger; the methods release the GIL while they wait for the network or the disk.
"""

from __future__ import annotations

import logging as _logging

from skat_gateway import exceptions
from skat_gateway._enums import CertificateKind, SubmissionState
from skat_gateway._native import (
    HEARTBEAT_SERVICE,
    AuditEntry,
    Client,
    Config,
    Download,
    Event,
    FetchedFile,
    Identity,
    InvalidFile,
    Journal,
    Ping,
    PollReport,
    Receipt,
    ReceiptError,
    ReceiptFile,
    RemoteEntry,
    ResponseFile,
    Secret,
    Service,
    Session,
    Simulator,
    SkippedFile,
    StatusFile,
    Submission,
    SubmitResult,
    __version__,
    catalogue,
    unique_filename,
    validate_filename,
)
from skat_gateway.exceptions import (
    AuthenticationError,
    CertificateError,
    CertificatePasswordError,
    ConfigError,
    ConnectionLostError,
    FilenameReusedError,
    GatewayConnectionError,
    GatewayError,
    GatewayTimeoutError,
    InternalError,
    InvalidArgumentError,
    InvalidFilenameError,
    JournalError,
    LocalIoError,
    PermissionDeniedError,
    ProtocolError,
    RemoteNotFoundError,
    ServiceNotAvailableError,
    SimulatorError,
    SubmissionOverdueError,
    SubmissionRejectedError,
    TlsError,
    UnknownSubmissionError,
)

# A library logs, the application decides where to: without a handler of its own nothing is printed.
_logging.getLogger("skat_gateway").addHandler(_logging.NullHandler())

__all__ = [
    "__version__",
    "HEARTBEAT_SERVICE",
    # classes
    "AuditEntry",
    "Client",
    "Config",
    "Download",
    "Event",
    "FetchedFile",
    "Identity",
    "InvalidFile",
    "Journal",
    "Ping",
    "PollReport",
    "Receipt",
    "ReceiptError",
    "ReceiptFile",
    "RemoteEntry",
    "ResponseFile",
    "Secret",
    "Service",
    "Session",
    "Simulator",
    "SkippedFile",
    "StatusFile",
    "Submission",
    "SubmitResult",
    # enums
    "CertificateKind",
    "SubmissionState",
    # functions
    "catalogue",
    "unique_filename",
    "validate_filename",
    # exceptions
    "exceptions",
    "AuthenticationError",
    "CertificateError",
    "CertificatePasswordError",
    "ConfigError",
    "ConnectionLostError",
    "FilenameReusedError",
    "GatewayConnectionError",
    "GatewayError",
    "GatewayTimeoutError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidFilenameError",
    "JournalError",
    "LocalIoError",
    "PermissionDeniedError",
    "ProtocolError",
    "RemoteNotFoundError",
    "ServiceNotAvailableError",
    "SimulatorError",
    "SubmissionOverdueError",
    "SubmissionRejectedError",
    "TlsError",
    "UnknownSubmissionError",
]
