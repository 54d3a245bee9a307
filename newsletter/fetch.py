"""Every HTTP GET this tool makes on the editor's behalf (``import URL``, feeds, their
entries' pages, SNS certificates): one function, :func:`get`.

- **One deadline** for the whole fetch: connecting, every redirect, the headers and every
  read of the body. Each read's timeout shrinks to the time left, the body is read in
  chunks with the clock checked between them, and a watchdog shuts the connection down at
  the deadline, so a server that drips a byte every few seconds (in the headers or the
  body) cannot hold the caller longer than the deadline.
- **A size cap**: the body stops being read past ``limit`` bytes.
- **Redirects followed here**, one hop at a time (at most :data:`MAX_REDIRECTS`), each
  hop's address checked like the first.
- **Safe destinations**: the host is resolved and the connection is made to the checked
  address itself (no second DNS answer can slip in); loopback, private, link-local
  (169.254.169.254, the cloud metadata address), multicast, unspecified and reserved
  addresses are refused before any connection is attempted, unless ``[fetch]
  allow_private = true`` (local testing).
- :func:`retry_after` reads a Retry-After header (seconds or an HTTP date), and
  :func:`is_http_url` says whether a text is an absolute http(s) address: one of each for
  the whole code base.

``requests`` is imported on first use: :func:`is_http_url` is needed by modules that
never fetch anything.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlparse

from .errors import NewsletterError

if TYPE_CHECKING:
    import requests

#: the default deadline for a whole fetch (connect, redirects, all reads), in seconds
DEFAULT_DEADLINE = 15.0
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)


def is_http_url(value: str) -> bool:
    """True for an absolute http(s) address with a host and no spaces or control characters."""
    if not isinstance(value, str) or not value or any(c.isspace() or ord(c) < 32 for c in value):
        return False
    try:
        parsed = urlparse(value)
        host = parsed.hostname
    except ValueError:  # a bad port or IPv6 literal
        return False
    return parsed.scheme.lower() in ("http", "https") and bool(host)


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date), or None
    when there is none or it cannot be read. A date in the past is 0."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class FetchError(NewsletterError):
    """A fetch that failed: ``reason`` says why in a few words (the caller names the URL)."""

    def __init__(self, url: str, reason: str, *, kind: str = "error") -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        #: "timeout", "refused" (an unsafe address), "too-large", "redirects", "error"
        self.kind = kind


class Refused(Exception):
    """Raised inside a connection: the host resolved to an address we do not fetch from."""


def address_problem(ip: str) -> str | None:
    """What kind of address ``ip`` is when it is not fetched from ("a loopback address"),
    or None for a public address."""
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    for test, name in (
        (addr.is_loopback, "a loopback"),
        (addr.is_link_local, "a link-local"),
        (addr.is_multicast, "a multicast"),
        (addr.is_unspecified, "an unspecified"),
        (addr.is_private, "a private"),
        (addr.is_reserved, "a reserved"),
        (not addr.is_global, "a non-public"),
    ):
        if test:
            return f"{name} address"
    return None


def resolve(host: str, port: int, allow_private: bool) -> list[tuple[Any, ...]]:
    """The host's addresses (getaddrinfo), every one checked: one unsafe address refuses
    the host (a name that answers both a public and an internal address is not fetched)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not allow_private:
        for info in infos:
            ip = str(info[4][0])
            why = address_problem(ip)
            if why:
                shown = host if host == ip else f"{host} ({ip})"
                raise Refused(f"refused: {shown} is {why} ([fetch] allow_private = true allows it)")
    return infos


@dataclass
class _Guard:
    """One fetch's policy and connections: the watchdog shuts them down at the deadline."""

    allow_private: bool
    deadline: float  # time.monotonic()
    connections: list[Any] = field(default_factory=list)
    expired: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def expire(self) -> None:
        with self.lock:
            self.expired = True
            for conn in self.connections:
                sock = getattr(conn, "sock", None)
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)


@cache
def _connection_classes() -> tuple[type, type, type, type]:
    """(checked http, checked https, proxied http, proxied https) connection classes."""
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

    class Watched:
        """A connection the fetch's watchdog can shut down at the deadline."""

        guard: _Guard

        def connect(self) -> None:
            with self.guard.lock:
                if self.guard.expired:
                    raise TimeoutError("the deadline passed")
                self.guard.connections.append(self)
            super().connect()  # type: ignore[misc]

    class Checked(Watched):
        """Connects to the resolved and checked address itself (no second lookup)."""

        _dns_host: str
        port: int
        timeout: Any
        source_address: Any
        socket_options: Any

        def _new_conn(self) -> socket.socket:
            if self.guard.left() <= 0:
                raise TimeoutError("the deadline passed before connecting")
            try:
                infos = resolve(self._dns_host, self.port, self.guard.allow_private)
            except socket.gaierror as exc:
                raise NameResolutionError(self._dns_host, self, exc) from exc  # type: ignore[arg-type]
            error: OSError | None = None
            for family, kind, proto, _name, address in infos:
                sock = socket.socket(family, kind, proto)
                try:
                    for opt in self.socket_options or ():
                        sock.setsockopt(*opt)
                    sock.settimeout(max(0.001, min(self.guard.left(), _timeout(self.timeout))))
                    if self.source_address:
                        sock.bind(self.source_address)
                    sock.connect(address)
                    return sock
                except OSError as exc:
                    error = exc
                    sock.close()
            if isinstance(error, TimeoutError):
                raise ConnectTimeoutError(self, f"connecting to {self._dns_host} timed out")
            raise NewConnectionError(self, f"Failed to establish a new connection: {error}")  # type: ignore[arg-type]

    class CheckedHTTP(Checked, HTTPConnection):
        pass

    class CheckedHTTPS(Checked, HTTPSConnection):
        pass

    class ProxiedHTTP(Watched, HTTPConnection):
        pass

    class ProxiedHTTPS(Watched, HTTPSConnection):
        pass

    return CheckedHTTP, CheckedHTTPS, ProxiedHTTP, ProxiedHTTPS


def _timeout(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else DEFAULT_DEADLINE


def _pools(guard: _Guard, http: type, https: type) -> dict[str, type]:
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    return {
        "http": type(
            "GuardedHTTPPool",
            (HTTPConnectionPool,),
            {"ConnectionCls": type("GuardedHTTP", (http,), {"guard": guard})},
        ),
        "https": type(
            "GuardedHTTPSPool",
            (HTTPSConnectionPool,),
            {"ConnectionCls": type("GuardedHTTPS", (https,), {"guard": guard})},
        ),
    }


def _session(guard: _Guard) -> requests.Session:
    import requests
    from requests.adapters import HTTPAdapter

    checked_http, checked_https, proxied_http, proxied_https = _connection_classes()
    proxied = _pools(guard, proxied_http, proxied_https)

    class Adapter(HTTPAdapter):
        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **kwargs)
            manager.pool_classes_by_scheme = proxied  # the proxy is the operator's choice
            return manager

    adapter = Adapter(max_retries=0)
    adapter.poolmanager.pool_classes_by_scheme = _pools(guard, checked_http, checked_https)
    s = requests.Session()
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def _check_proxied(url: str, allow_private: bool) -> None:
    """Through the operator's proxy ($HTTP_PROXY, $HTTPS_PROXY) the proxy connects, so the
    destination is checked here, as far as this machine can resolve its name."""
    import requests

    if allow_private:
        return
    parsed = urlparse(url)
    if not requests.utils.get_environ_proxies(url).get(parsed.scheme.lower()):
        return  # a direct connection: checked as it connects
    with contextlib.suppress(socket.gaierror):  # only the proxy knows this name
        resolve(parsed.hostname or "", parsed.port or 80, allow_private)


@dataclass(frozen=True)
class Fetched:
    """The final answer: ``body`` is read only for a 2xx answer (b"" otherwise)."""

    url: str  # after redirects
    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


def get(
    url: str,
    *,
    allow_private: bool = False,
    deadline: float = DEFAULT_DEADLINE,
    limit: int,
    headers: Mapping[str, str] | None = None,
    max_redirects: int = MAX_REDIRECTS,
    check: Callable[[requests.Response], None] | None = None,
) -> Fetched:
    """GET ``url`` within ``deadline`` seconds in all, following redirects; FetchError when
    it cannot be fetched, is refused, is too large or takes too long. ``check`` sees a 2xx
    answer's headers before its body is read (and may raise)."""
    import requests

    guard = _Guard(allow_private, time.monotonic() + deadline)
    watchdog = threading.Timer(deadline, guard.expire)
    watchdog.daemon = True
    watchdog.start()
    session = _session(guard)
    try:
        return _follow(session, guard, url, deadline, limit, headers, max_redirects, check)
    except Refused as exc:
        raise FetchError(url, str(exc), kind="refused") from None
    except (requests.RequestException, OSError) as exc:
        if guard.expired or guard.left() <= 0 or isinstance(exc, requests.Timeout | TimeoutError):
            raise FetchError(
                url, f"no answer within {deadline:g} seconds", kind="timeout"
            ) from None
        raise FetchError(url, _reason(exc)) from None
    finally:
        watchdog.cancel()
        session.close()


def _follow(
    session: requests.Session,
    guard: _Guard,
    url: str,
    deadline: float,
    limit: int,
    headers: Mapping[str, str] | None,
    max_redirects: int,
    check: Callable[[requests.Response], None] | None,
) -> Fetched:
    current = url
    for _hop in range(max_redirects + 1):
        if not is_http_url(current):
            raise FetchError(url, f"redirected to {current!r}, not an http(s) address")
        left = guard.left()
        if left <= 0:
            raise TimeoutError
        _check_proxied(current, guard.allow_private)
        with session.get(
            current,
            headers=dict(headers or {}),
            timeout=(left, left),
            stream=True,
            allow_redirects=False,
        ) as response:
            location = response.headers.get("Location")
            if response.status_code in _REDIRECTS and location:
                current = urljoin(current, location)
                continue
            body = b""
            if 200 <= response.status_code < 300:
                if check is not None:
                    check(response)
                body = _read(response, guard, url, limit)
            if guard.expired:
                raise TimeoutError
            return Fetched(
                current,
                response.status_code,
                response.reason or "",
                response.headers,
                body,
            )
    raise FetchError(
        url, f"more than {max_redirects} redirects (a redirect loop?)", kind="redirects"
    )


def _read(response: requests.Response, guard: _Guard, url: str, limit: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FetchError(url, f"{declared} bytes, more than {limit} allowed", kind="too-large")
    data = bytearray()
    for chunk in response.iter_content(_CHUNK):
        data.extend(chunk)
        if len(data) > limit:
            raise FetchError(url, f"more than {limit} bytes, not read further", kind="too-large")
        left = guard.left()
        if left <= 0:
            raise TimeoutError
        conn = getattr(response.raw, "connection", None)
        sock = getattr(conn, "sock", None)
        if sock is not None:
            sock.settimeout(left)  # the next read waits at most for the time left
    return bytes(data)


def _reason(exc: BaseException) -> str:
    import requests

    text = " ".join(str(exc.__cause__ or exc).split()) or type(exc).__name__
    if isinstance(exc, requests.ConnectionError):
        if "Name or service not known" in text or "getaddrinfo" in text or "resolve" in text:
            return "no such host"
        if "Connection refused" in text:
            return "connection refused"
        return "could not connect"
    if isinstance(exc, requests.TooManyRedirects):
        return "too many redirects"
    return type(exc).__name__


__all__ = [
    "DEFAULT_DEADLINE",
    "FetchError",
    "Fetched",
    "address_problem",
    "get",
    "is_http_url",
    "retry_after",
]
