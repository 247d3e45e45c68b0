"""Mail autoconfig in Thunderbird's `config-v1.1.xml` format: where to fetch it, and how to read it.

The format (see Thunderbird's autoconfig documentation and the ISPDB): a
`clientConfig` holding one `emailProvider` with `incomingServer type="imap"`
and `outgoingServer type="smtp"` entries, each with `hostname`, `port`,
`socketType` (SSL | STARTTLS | plain), `username` and `authentication`.
Entries are listed in the provider's order of preference; usernames and
hosts may use the placeholders %EMAILADDRESS%, %EMAILLOCALPART% and
%EMAILDOMAIN%.

Fetching goes through `resolver.Resolver`, so a lookup pointed at a given
nameserver also resolves the autoconfig host there; TLS certificates are
verified against the host name as usual.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from .models import Security, ServerSettings
from .resolver import Resolver, is_valid_domain
from .wire import Watchdog

MAX_BODY = 256 * 1024
MAX_REDIRECTS = 3
USER_AGENT = "tamago (mail autoconfig)"
_SOCKET_TYPES = {"ssl": Security.SSL, "tls": Security.SSL, "starttls": Security.STARTTLS, "plain": Security.NONE}


class AutoconfigError(ValueError):
    """The document could not be fetched or is not a usable autoconfig file."""


@dataclass(frozen=True)
class AutoconfigDocument:
    imap: ServerSettings | None
    smtp: ServerSettings | None
    display_name: str = ""
    notes: tuple[str, ...] = ()


def candidate_urls(domain: str, email: str = "") -> list[str]:
    """The provider's own autoconfig locations, most trusted first (as Thunderbird orders them)."""
    query = f"?emailaddress={quote(email, safe='@')}" if email else ""
    main = f"autoconfig.{domain}/mail/config-v1.1.xml{query}"
    well_known = f"{domain}/.well-known/autoconfig/mail/config-v1.1.xml"
    return [f"https://{main}", f"https://{well_known}", f"http://{main}", f"http://{well_known}"]


# -- parsing ---------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(element: ET.Element, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def _substitute(template: str, email: str, domain: str) -> str:
    local = email.rpartition("@")[0] if "@" in email else ""
    replacements = {"%EMAILADDRESS%": email, "%EMAILLOCALPART%": local, "%EMAILDOMAIN%": domain}
    for key, value in replacements.items():
        template = template.replace(key, value)
    return template


def _server(element: ET.Element, email: str, domain: str) -> tuple[ServerSettings, tuple[str, ...]]:
    host = _substitute(_child_text(element, "hostname"), email, domain).strip().lower().rstrip(".")
    if not host or not is_valid_domain(host):
        raise AutoconfigError(f"invalid hostname {host!r}")
    try:
        port = int(_child_text(element, "port"))
    except ValueError:
        raise AutoconfigError(f"invalid port for {host}") from None
    if not 0 < port < 65536:
        raise AutoconfigError(f"port {port} out of range for {host}")
    socket_type = _child_text(element, "socketType").lower()
    if socket_type not in _SOCKET_TYPES:
        raise AutoconfigError(f"unknown socketType {socket_type!r} for {host}")
    username_template = _child_text(element, "username")
    username = _substitute(username_template, email, domain)
    if "%" in username or not email and "%EMAIL" in username_template:
        username = ""  # a placeholder we cannot fill (only a domain was given)
    auths = tuple(
        (child.text or "").strip() for child in element if _local(child.tag) == "authentication"
    )
    return ServerSettings(host=host, port=port, security=_SOCKET_TYPES[socket_type], username=username), auths


def _pick(elements: list[ET.Element], email: str, domain: str, label: str, notes: list[str]) -> ServerSettings | None:
    parsed = []
    for element in elements:
        try:
            parsed.append(_server(element, email, domain))
        except AutoconfigError as exc:
            notes.append(f"Skipped an {label} entry of the autoconfig file: {exc}.")
    if not parsed:
        return None
    # The provider's order is its preference, but never prefer an unencrypted entry.
    encrypted = [p for p in parsed if p[0].security is not Security.NONE]
    settings, auths = (encrypted or parsed)[0]
    if settings.security is Security.NONE:
        notes.append(
            f"The provider's autoconfig offers {label} only without encryption ({settings.host}:{settings.port}); "
            "tamago will ask you to confirm before using it."
        )
    if auths and all(a.lower().startswith("oauth") for a in auths):
        notes.append(f"The provider wants OAuth2 sign-in for {label}.")
    return settings


def parse(data: bytes | str, email: str = "", domain: str = "") -> AutoconfigDocument:
    """Read a config-v1.1.xml document for `email` (or just `domain`)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    upper = raw[:4096].upper()
    if b"<!ENTITY" in upper or b"<!DOCTYPE" in upper:
        raise AutoconfigError("document type declarations are not accepted")
    domain = domain or (email.rpartition("@")[2] if "@" in email else "")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise AutoconfigError(f"not well-formed XML: {exc}") from None
    if _local(root.tag) != "clientConfig":
        raise AutoconfigError(f"the root element is <{_local(root.tag)}>, not <clientConfig>")
    provider = next((el for el in root if _local(el.tag) == "emailProvider"), None)
    if provider is None:
        raise AutoconfigError("no <emailProvider> element")
    incoming = [el for el in provider if _local(el.tag) == "incomingServer" and el.get("type", "").lower() == "imap"]
    outgoing = [el for el in provider if _local(el.tag) == "outgoingServer" and el.get("type", "").lower() == "smtp"]
    notes: list[str] = []
    imap = _pick(incoming, email, domain, "IMAP", notes)
    smtp = _pick(outgoing, email, domain, "SMTP", notes)
    if imap is None and smtp is None:
        if any(_local(el.tag) == "incomingServer" for el in provider):
            raise AutoconfigError("it lists no IMAP or SMTP server (POP3 only?)")
        raise AutoconfigError("it lists no IMAP or SMTP server")
    for doc in provider:
        if _local(doc.tag) == "documentation" and doc.get("url", "").startswith("https://"):
            notes.append(f"Provider instructions: {doc.get('url')}")
    return AutoconfigDocument(
        imap=imap,
        smtp=smtp,
        display_name=_child_text(provider, "displayName"),
        notes=tuple(notes),
    )


# -- fetching --------------------------------------------------------------


class _Connection(http.client.HTTPConnection):
    """Plain HTTP to an address our resolver chose, with the real host name in Host."""

    def __init__(self, host: str, port: int, address: str, timeout: float, watchdog: Watchdog | None = None):
        super().__init__(host, port, timeout=timeout)
        self._address = address
        self._watchdog = watchdog

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        if self._watchdog:
            self._watchdog.watch(self.sock)


class _TLSConnection(http.client.HTTPSConnection):
    """HTTPS to a chosen address; the certificate is verified against the host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext,
                 watchdog: Watchdog | None = None):
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls_context = context
        self._watchdog = watchdog

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        if self._watchdog:
            self._watchdog.watch(sock)
        try:
            self.sock = self._tls_context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


@dataclass(frozen=True)
class Fetched:
    body: bytes
    url: str  # after redirects

    @property
    def secure(self) -> bool:
        return self.url.startswith("https://")


def fetch(
    url: str,
    resolver: Resolver,
    *,
    timeout: float,
    http_port: int = 80,
    https_port: int = 443,
    context: ssl.SSLContext | None = None,
) -> Fetched:
    """GET `url` within `timeout` seconds in total, following a few redirects."""
    deadline = time.monotonic() + timeout
    context = context or ssl.create_default_context()
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AutoconfigError(f"cannot fetch {url}")
        port = parts.port or (https_port if parts.scheme == "https" else http_port)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AutoconfigError(f"timed out fetching {url}")
        addresses = resolver.addresses(parts.hostname, timeout=remaining)
        if not addresses:
            raise AutoconfigError(f"{parts.hostname} does not exist")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        response_status, location, body = _get_once(parts.scheme, parts.hostname, port, addresses[0], path, deadline, context)
        if response_status in (301, 302, 303, 307, 308) and location:
            url = urljoin(url, location)
            continue
        if response_status != 200:
            raise AutoconfigError(f"HTTP {response_status} from {url}")
        return Fetched(body=body, url=url)
    raise AutoconfigError(f"too many redirects from {url}")


def _get_once(
    scheme: str, host: str, port: int, address: str, path: str, deadline: float, context: ssl.SSLContext
) -> tuple[int, str, bytes]:
    remaining = max(0.05, deadline - time.monotonic())
    # Per-read timeouts alone let a server that trickles its headers stretch the fetch:
    # the watchdog closes the socket when the fetch's own deadline passes.
    watchdog = Watchdog(remaining)
    if scheme == "https":
        conn: http.client.HTTPConnection = _TLSConnection(host, port, address, remaining, context, watchdog)
    else:
        conn = _Connection(host, port, address, remaining, watchdog)
    try:
        with watchdog:
            return _request(conn, host, path, deadline)
    except (OSError, http.client.HTTPException) as exc:
        if watchdog.expired:
            raise AutoconfigError(f"timed out fetching {scheme}://{host}:{port}{path}") from exc
        raise AutoconfigError(f"{scheme}://{host}:{port}: {exc}") from exc
    finally:
        conn.close()


def _request(conn: http.client.HTTPConnection, host: str, path: str, deadline: float) -> tuple[int, str, bytes]:
    conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "application/xml, text/xml"})
    response = conn.getresponse()
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline:
            raise AutoconfigError(f"timed out reading from {host}")
        chunk = response.read(16384)
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_BODY:
            raise AutoconfigError(f"the document from {host} is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    return response.status, response.getheader("Location", ""), b"".join(chunks)
