"""The Dask scheduler a batch runs on: its address checked before anything runs, and TLS.

A Dask client unpickles what the scheduler sends, so the scheduler must be trusted:

- ``tls://host:port`` with certificates (``--tls-ca-file``, ``--tls-cert``, ``--tls-key``;
  :func:`tls_security` builds ``distributed.security.Security`` requiring encryption) is for
  any network;
- plain ``tcp://host:port`` is unencrypted and unauthenticated: only for a trusted network
  (a warning is logged each time it is used).
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["SCHEMES", "SchedulerAddress", "parse_scheduler_address", "tls_security", "client_security", "TCP_WARNING"]

SCHEMES = ("tcp", "tls")
TCP_WARNING = ("the Dask scheduler at %s is reached over plain tcp://: unencrypted and unauthenticated, and the client "
               "unpickles whatever answers there; use it only on a trusted network, or tls:// with --tls-ca-file, "
               "--tls-cert and --tls-key")


@dataclass(frozen=True)
class SchedulerAddress:
    """A checked scheduler address: ``scheme://host:port``."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def parse_scheduler_address(text: str) -> SchedulerAddress:
    """Check a scheduler address.

    Raises:
        ValueError: not ``tcp://HOST:PORT`` or ``tls://HOST:PORT`` (the message says what is
            wrong and shows the form).
    """
    form = "give it as tls://HOST:PORT (or tcp://HOST:PORT on a trusted network), e.g. tls://10.0.0.5:8786"
    scheme, sep, rest = text.strip().partition("://")
    scheme = scheme.lower()  # URL schemes are case-insensitive (RFC 3986 3.1): TCP:// is tcp://
    if not sep:
        raise ValueError(f"{text!r} has no scheme; {form}")
    if scheme not in SCHEMES:
        raise ValueError(f"scheme {scheme!r} is not supported; {form}")
    if rest.startswith("["):
        host, close, tail = rest[1:].partition("]")
        if not close or not tail.startswith(":"):
            raise ValueError(f"{text!r}: an IPv6 address needs brackets and a port, e.g. tls://[::1]:8786")
        port_text = tail[1:]
    else:
        host, colon, port_text = rest.rpartition(":")
        if not colon:
            raise ValueError(f"{text!r} has no port; {form}")
    if not host or any(c in host for c in "/?#@ ") or (":" in host and not rest.startswith("[")):
        raise ValueError(f"{text!r} has no valid host; {form}")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r}: port {port_text!r} is not a number from 1 to 65535; {form}")
    return SchedulerAddress(scheme, host, int(port_text))


def _pem_file(option: str, path: str | None) -> str | None:
    if path is None:
        return None
    p = Path(path)
    try:
        mode = os.stat(p).st_mode
    except OSError as exc:
        raise ValueError(f"{option} {path}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(mode):
        raise ValueError(f"{option} {path}: not a regular file")
    return str(p)


def tls_security(address: SchedulerAddress, ca_file: str | None, cert: str | None, key: str | None) -> Any:
    """The ``distributed.security.Security`` for ``address`` (``None`` for tcp://, which
    :func:`client_security` warns about when it connects).

    Raises:
        ValueError: certificates given for tcp://, a tls:// address without ``ca_file`` and
            ``cert``, or a certificate file that is missing or not a regular file.
    """
    given = [o for o, v in (("--tls-ca-file", ca_file), ("--tls-cert", cert), ("--tls-key", key)) if v]
    if address.scheme == "tcp":
        if given:
            raise ValueError(f"{', '.join(given)} given for a plain tcp:// scheduler; use a tls:// address")
        return None
    if not ca_file or not cert:
        raise ValueError("a tls:// scheduler needs --tls-ca-file (the CA that signed the scheduler's certificate) and "
                         "--tls-cert (this client's certificate; with --tls-key if the key is in another file)")
    from distributed.security import Security  # lazy: an optional, slow import

    return Security(tls_ca_file=_pem_file("--tls-ca-file", ca_file), tls_client_cert=_pem_file("--tls-cert", cert),
                    tls_client_key=_pem_file("--tls-key", key), require_encryption=True)


def client_security(address: SchedulerAddress, security: Any) -> Any:
    """The security a client connecting to ``address`` uses: ``security`` for tls:// (required),
    none for tcp:// (with a warning: trusted networks only)."""
    if address.scheme == "tcp":
        logger.warning(TCP_WARNING, address)
        return security
    if security is None:
        raise ValueError(f"{address}: a tls:// scheduler needs certificates (security=tls_security(...), or "
                         "--tls-ca-file and --tls-cert)")
    return security
