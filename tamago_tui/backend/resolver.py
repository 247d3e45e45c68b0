"""DNS for lookups and probes, optionally through a chosen nameserver.

`Resolver("")` uses the system's configuration: getaddrinfo for host
addresses (so /etc/hosts counts) and dnspython with /etc/resolv.conf for MX
and SRV. `Resolver("HOST[:PORT]")` sends every query, addresses included, to
that server; the tests point it at the loopback DNS server, and support staff
use it to ask a company's own DNS. Every query has a lifetime: nothing waits
longer than the timeout it is given.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.resolver

from .errors import NetworkError, UsageError


class DnsTimeout(NetworkError):
    category = "timeout"
    title = "DNS timeout"


class DnsError(NetworkError):
    category = "dns_failure"
    title = "DNS problem"


@dataclass(frozen=True)
class Nameserver:
    host: str
    port: int = 53

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_nameserver(text: str) -> Nameserver:
    """"HOST", "HOST:PORT", "[V6]:PORT" or a bare IPv6 address. HOST may be a name."""
    text = text.strip()
    if not text:
        raise UsageError("The nameserver is empty; give HOST or HOST:PORT.")
    host, port = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise UsageError(f"Cannot read the nameserver {text!r}; use [IPv6]:PORT.")
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        number = int(port)
        if not 0 < number < 65536:
            raise ValueError
    except ValueError:
        raise UsageError(f"The nameserver port {port!r} is not a port number.") from None
    if not host:
        raise UsageError(f"The nameserver {text!r} has no host.")
    return Nameserver(host, number)


def _nameserver_address(ns: Nameserver, timeout: float) -> str:
    try:
        return str(ipaddress.ip_address(ns.host))
    except ValueError:
        pass
    from .wire import WireError, _system_resolve  # getaddrinfo with a timeout (it has none itself)

    try:
        return _system_resolve(ns.host, timeout, ns.port)[0]
    except (WireError, IndexError) as exc:
        raise DnsError(f"Cannot resolve the nameserver {ns.host}: {exc}") from exc


class Resolver:
    """A small, timeout-bound resolver. Instances are cheap; share or make one per lookup."""

    def __init__(self, nameserver: str = "", *, timeout: float = 4.0):
        self.timeout = timeout
        self.nameserver = parse_nameserver(nameserver) if nameserver else None
        self._resolver = None

    def describe(self) -> str:
        return f"the DNS server {self.nameserver}" if self.nameserver else "the system DNS resolver"

    def _dns(self) -> dns.resolver.Resolver:
        if self._resolver is None:
            if self.nameserver:
                resolver = dns.resolver.Resolver(configure=False)
                resolver.nameservers = [_nameserver_address(self.nameserver, self.timeout)]
                resolver.port = self.nameserver.port
            else:
                try:
                    resolver = dns.resolver.Resolver()
                except dns.resolver.NoResolverConfiguration as exc:
                    raise DnsError(
                        "This machine has no DNS configuration (/etc/resolv.conf); pass a nameserver."
                    ) from exc
            # One try per server; the caller's lifetime bounds the whole query.
            resolver.timeout = self.timeout
            resolver.lifetime = self.timeout
            self._resolver = resolver
        return self._resolver

    def records(self, name: str, rdtype: str, *, timeout: float | None = None) -> list:
        """The records of one type, or [] when the name or the type does not exist.

        Raises DnsTimeout when no answer came in time and DnsError for a
        server failure (SERVFAIL, REFUSED) or a malformed name.
        """
        lifetime = max(0.05, min(self.timeout, timeout if timeout is not None else self.timeout))
        try:
            answer = self._dns().resolve(name, rdtype, lifetime=lifetime, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.Timeout as exc:
            raise DnsTimeout(
                f"{self.describe().capitalize()} did not answer within {lifetime:g} s ({rdtype} {name})."
            ) from exc
        except dns.resolver.NoNameservers as exc:
            raise DnsError(f"{self.describe().capitalize()} failed to answer {rdtype} {name}: {exc}") from exc
        except (dns.exception.DNSException, ValueError) as exc:
            raise DnsError(f"DNS query {rdtype} {name} failed: {exc}") from exc
        return list(answer)

    def addresses(self, host: str, *, timeout: float | None = None) -> list[str]:
        """IPv4 and IPv6 addresses of `host` ([] when it does not exist)."""
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        if self.nameserver is None:
            try:
                infos = getaddrinfo(host, timeout if timeout is not None else self.timeout)
            except socket.gaierror as exc:
                if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
                    return []
                raise DnsError(f"Cannot resolve {host}: {exc.strerror or exc}") from exc
            return list(dict.fromkeys(info[4][0] for info in infos))
        lifetime = timeout if timeout is not None else self.timeout
        deadline = time.monotonic() + lifetime
        found = [r.address for r in self.records(host, "A", timeout=lifetime)]  # a timeout here ends it
        try:
            found += [r.address for r in self.records(host, "AAAA", timeout=max(0.05, deadline - time.monotonic()))]
        except NetworkError:
            if not found:
                raise
        return found


def getaddrinfo(host: str, timeout: float, port: int | None = None) -> list:
    """socket.getaddrinfo (TCP), given up after `timeout` seconds: the C call has no timeout of
    its own, so it runs in a helper thread that is left to finish on its own."""
    result: dict = {}

    def work() -> None:
        try:
            result["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            result["error"] = exc

    thread = threading.Thread(target=work, name="tamago-getaddrinfo", daemon=True)
    thread.start()
    thread.join(max(0.05, timeout))
    if thread.is_alive():
        raise DnsTimeout(f"The system DNS resolver did not answer within {timeout:g} s ({host}).")
    if "error" in result:
        raise result["error"]
    return result["infos"]


def is_valid_domain(domain: str) -> bool:
    try:
        name = dns.name.from_text(domain)
    except (dns.exception.DNSException, ValueError):
        return False
    labels = [label for label in name.labels if label]
    return len(labels) >= 1 and all(
        label.replace(b"-", b"").replace(b"_", b"").isalnum() and not label.startswith(b"-") for label in labels
    )
