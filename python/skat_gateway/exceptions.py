"""The exceptions skat_gateway raises: one base, :class:`GatewayError`, and a class per kind of cause.

Every error of the library is a :class:`GatewayError`. Its ``code`` is the stable number the C library
returns for the same cause (``gw_result``), ``kind`` the name of that cause (``"CERTIFICATE_PASSWORD"``,
``"AUTHENTICATION"``, ...), and ``str(error)`` says what happened and what to do. Where a server's reply
caused it, ``reply_code`` and ``reply_text`` hold that reply (``530`` and ``"Login incorrect."``); otherwise
they are ``None``. Passwords and keys never appear in an error.

Which class a cause raises is decided by one table in the Rust core (``ErrorKind::ALL`` in
``src/error.rs``); this module only defines the classes. Catch by meaning::

    try:
        client = gw.Client.from_config("client.toml")
    except gw.CertificateError as e:       # the certificate file, its password, expiry
        ...
    except gw.AuthenticationError as e:    # user name or gateway password refused
        print(e.reply_code, e.reply_text)
    except gw.GatewayConnectionError:      # network: not found, refused, time-out, connection lost
        ...                                # try again later
"""

from __future__ import annotations

from typing import Callable, Optional

__all__ = [
    "GatewayError",
    "InvalidArgumentError",
    "LocalIoError",
    "ConfigError",
    "InternalError",
    "CertificateError",
    "CertificatePasswordError",
    "TlsError",
    "GatewayConnectionError",
    "GatewayTimeoutError",
    "ConnectionLostError",
    "AuthenticationError",
    "PermissionDeniedError",
    "RemoteNotFoundError",
    "ProtocolError",
    "ServiceNotAvailableError",
    "FilenameReusedError",
    "InvalidFilenameError",
    "SubmissionRejectedError",
    "SubmissionOverdueError",
    "UnknownSubmissionError",
    "JournalError",
    "SimulatorError",
]


class GatewayError(Exception):
    """Base of every error the package raises.

    Attributes:
        code: the C library's number for the cause (``gw_result``), stable across versions.
        kind: the cause's name, e.g. ``"AUTHENTICATION"`` (the C constant without ``GW_``).
        message: what happened and what to do (also ``str(error)``).
        reply_code: the server's reply code when a reply caused the error, else ``None``.
        reply_text: the server's reply text when a reply caused the error, else ``None``.
    """

    code: int
    kind: str
    message: str
    reply_code: Optional[int]
    reply_text: Optional[str]

    def __init__(
        self,
        message: str,
        *,
        code: int = 0,
        kind: str = "",
        reply_code: Optional[int] = None,
        reply_text: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.kind = kind
        self.reply_code = reply_code
        self.reply_text = reply_text

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        reply = "" if self.reply_code is None else f", reply_code={self.reply_code}"
        return f"{type(self).__name__}({self.message!r}, code={self.code}{reply})"

    def __reduce__(self) -> tuple[Callable[..., GatewayError], tuple[object, ...]]:
        # Picklable (multiprocessing, concurrent.futures.ProcessPoolExecutor) with its attributes.
        return (
            _rebuild,
            (type(self), self.message, self.code, self.kind, self.reply_code, self.reply_text),
        )


def _rebuild(
    cls: type[GatewayError],
    message: str,
    code: int,
    kind: str,
    reply_code: Optional[int],
    reply_text: Optional[str],
) -> GatewayError:
    return cls(message, code=code, kind=kind, reply_code=reply_code, reply_text=reply_text)


# --- the caller and the local machine (1xx)


class InvalidArgumentError(GatewayError, ValueError):
    """An argument is not acceptable (empty, malformed, out of range), e.g. an empty file to submit."""


class LocalIoError(GatewayError, OSError):
    """A local file or folder could not be read or written (the inbox, a file to submit, a spool copy)."""


class ConfigError(GatewayError):
    """The configuration (a profile, an environment variable, a password file) is wrong."""


class InternalError(GatewayError):
    """A bug in skat-gateway: please report it, with the message."""


# --- certificates (2xx)


class CertificateError(GatewayError):
    """The certificate: a file that cannot be read, is damaged or holds no key, a certificate the gateway
    does not accept, or one that is expired or not yet valid (it loads, but connecting with it raises)."""


class CertificatePasswordError(CertificateError):
    """The PKCS#12 file's password is wrong, or the file needs one and none was given."""


# --- TLS (3xx)


class TlsError(GatewayError):
    """TLS with the server failed: its version, its certificate (unknown CA, expired, other host name), or
    our client certificate refused by the server."""


# --- network (4xx)


class GatewayConnectionError(GatewayError, ConnectionError):
    """The network: the host name not found, the connection refused, no answer in time, or the connection
    lost. Usually worth trying again later; nothing is lost (the journal keeps every submission)."""


class GatewayTimeoutError(GatewayConnectionError, TimeoutError):
    """The server did not answer in time."""


class ConnectionLostError(GatewayConnectionError):
    """The connection broke off in the middle of an exchange."""


# --- FTP replies (5xx)


class AuthenticationError(GatewayError):
    """Login refused: the user name or the gateway password is wrong, or the certificate is not registered
    for them. ``reply_code``/``reply_text`` hold the server's reply."""


class PermissionDeniedError(GatewayError):
    """The server refused the operation on that path."""


class RemoteNotFoundError(GatewayError):
    """No such file or folder on the server."""


class ProtocolError(GatewayError):
    """The server sent a reply, or a status file, that skat-gateway did not expect."""


# --- gateway rules (6xx)


class ServiceNotAvailableError(GatewayError):
    """The certificate may not use that service (the gateway does not show its folder); nothing was sent."""


class FilenameReusedError(GatewayError):
    """The filename was used before: the gateway accepts a name once. Nothing was sent."""


class InvalidFilenameError(GatewayError):
    """The filename breaks the gateway's naming rules."""


class SubmissionRejectedError(GatewayError):
    """The gateway answered with status 0 (error)."""


class SubmissionOverdueError(GatewayError):
    """No status arrived before the deadline (the gateway itself never reports this)."""


class UnknownSubmissionError(GatewayError, LookupError):
    """The journal knows no submission of that name."""


# --- journal (7xx) and simulator (8xx)


class JournalError(GatewayError):
    """The journal (SQLite) could not be opened, read or written."""


class SimulatorError(GatewayError):
    """The built-in gateway simulator could not start or failed."""
