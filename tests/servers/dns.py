"""A DNS server for test zones: Debian's dnsmasq on a free loopback port (UDP and TCP).

    dns = DnsServer()
    dns.add_a("mail.example.test", "127.0.0.1")
    dns.add_mx("example.test", "mail.example.test", 10)
    dns.add_srv("_imaps._tcp.example.test", "mail.example.test", 993)
    dns.start()
    dns.nameserver          # "127.0.0.1:PORT"
    dns.resolver()          # a dnspython Resolver that asks only this server
    dns.add_txt(...); dns.reload()   # records added later need a reload (a restart
                                     # on the same port: dnsmasq reads them at start)

Names under the LOCAL_DOMAINS it has no record for get NXDOMAIN (an empty
answer if the name exists with other types). It forwards nothing anywhere.
"""

from __future__ import annotations

import ipaddress
import shutil
import dns.resolver

from .process import (HOST, ManagedServer, ServerProcess, ServerStartError, free_ports, log_tail,
                      port_accepts, private_dir)

DNSMASQ = shutil.which("dnsmasq", path="/usr/sbin:/usr/bin:/sbin") or "/usr/sbin/dnsmasq"
LOCAL_DOMAINS = ("test", "example", "invalid", "example.com", "example.net", "example.org")
TTL = 60


def _check_name(name: str) -> str:
    if not name or any(c in name for c in ",\n/") or name != name.strip():
        raise ValueError(f"bad DNS name {name!r}")
    return name.rstrip(".")


class DnsServer(ManagedServer):
    host = HOST

    def __init__(self, name: str = "dns"):
        self.name = name
        self.root = private_dir(name)
        self.config_path = self.root / "dnsmasq.conf"
        self.log_path = self.root / "dnsmasq.log"
        self.pid_path = self.root / "dnsmasq.pid"
        self.port: int | None = None
        self.records: list[str] = []  # dnsmasq config lines, in the order added
        self._process: ServerProcess | None = None

    @property
    def nameserver(self) -> str:
        return f"{HOST}:{self.port}"

    # ----- records -----------------------------------------------------------------------
    def add_a(self, name: str, address: str = HOST) -> DnsServer:
        """An A record, or AAAA if `address` is IPv6. Several calls give several records."""
        ipaddress.ip_address(address)  # ValueError on nonsense
        self.records.append(f"host-record={_check_name(name)},{address},{TTL}")
        return self

    def add_mx(self, domain: str, host: str, preference: int = 10) -> DnsServer:
        self.records.append(f"mx-host={_check_name(domain)},{_check_name(host)},{preference}")
        return self

    def add_srv(self, service: str, target: str | None, port: int = 0, priority: int = 0,
                weight: int = 0) -> DnsServer:
        """SRV for e.g. "_imaps._tcp.example.test"; target None publishes "." (RFC 2782:
        the service is decidedly not available)."""
        service = _check_name(service)
        if target is None:
            self.records.append(f"srv-host={service}")
        else:
            self.records.append(
                f"srv-host={service},{_check_name(target)},{port},{priority},{weight}")
        return self

    def add_txt(self, name: str, *texts: str) -> DnsServer:
        quoted = ",".join('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for text in texts)
        self.records.append(f"txt-record={_check_name(name)},{quoted}")
        return self

    def add_cname(self, alias: str, target: str) -> DnsServer:
        """dnsmasq only answers a CNAME whose target it knows (add that record too)."""
        self.records.append(f"cname={_check_name(alias)},{_check_name(target)},{TTL}")
        return self

    def add_mail_domain(self, domain: str, *, host: str | None = None,
                        imap: int | None = None, imaps: int | None = None,
                        submission: int | None = None, submissions: int | None = None
                        ) -> DnsServer:
        """The records a mail client discovers a domain by: host A 127.0.0.1, the domain's
        MX, and RFC 6186/8314 SRV records for each port given (POP3 published as absent)."""
        host = host or f"mail.{domain}"
        self.add_a(host, HOST)
        self.add_mx(domain, host, 10)
        services = {"_imap": imap, "_imaps": imaps, "_submission": submission,
                    "_submissions": submissions}
        for service, port in services.items():
            if port is not None:
                self.add_srv(f"{service}._tcp.{domain}", host, port, 0, 1)
        self.add_srv(f"_pop3._tcp.{domain}", None)
        self.add_srv(f"_pop3s._tcp.{domain}", None)
        return self

    # ----- lifecycle ------------------------------------------------------------------------
    def _config(self) -> str:
        lines = [
            f"port={self.port}",
            f"listen-address={HOST}",
            "bind-interfaces",
            "no-resolv",
            "no-hosts",
            "no-poll",
            "user=root",  # keep root: the log file and the die-with-pytest signal survive
            f"pid-file={self.pid_path}",
            f"log-facility={self.log_path}",
            "log-queries",
            f"local-ttl={TTL}",
            *(f"local=/{domain}/" for domain in LOCAL_DOMAINS),
            *self.records,
        ]
        return "\n".join(lines) + "\n"

    def start(self, attempts: int = 5) -> DnsServer:
        for attempt in range(attempts):
            if self.port is None or attempt:
                self.port = free_ports(1, udp=True)[0]
            try:
                self._spawn()
                return self
            except ServerStartError:
                if "in use" in self.log_tail() and attempt + 1 < attempts:
                    continue
                raise
        raise AssertionError("unreachable")

    def _spawn(self) -> None:
        self.config_path.write_text(self._config())
        self.pid_path.unlink(missing_ok=True)
        self._process = ServerProcess(
            self.name,
            [DNSMASQ, "--keep-in-foreground", f"--conf-file={self.config_path}"],
            self.log_path, pid_file=self.pid_path)
        self._process.spawn()
        try:
            self._process.wait_until(
                lambda: self.pid_path.exists() and port_accepts(self.port),
                what="its port", timeout=10)
        except ServerStartError:
            self._process.stop(graceful=False)
            raise

    def reload(self) -> None:
        """Restart on the same port so records added since start() are served."""
        if self._process is not None:
            self._process.stop()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    def resolver(self, timeout: float = 5.0) -> dns.resolver.Resolver:
        """A dnspython resolver that asks only this server."""
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [HOST]
        resolver.port = self.port
        resolver.timeout = timeout
        resolver.lifetime = timeout
        resolver.cache = None
        return resolver
