"""Lookup of IMAP and SMTP server details for an address (the Tamago-DB seed's "Lookup IMAP server details").

Sources, in order, and why
--------------------------
1. **Presets, by domain** (providers.toml). Local, instant and curated, and it
   works with broken DNS. Thunderbird also starts with a local source: its
   `fetchConfigFromDisk` reads the `isp/` directory of the installation before
   any network request. The presets also carry what no protocol publishes:
   app-password and "Show in IMAP" notes, and the Outlook.com / Office 365 split.

2. **The provider's own autoconfig** (`autoconfig.<domain>/mail/config-v1.1.xml`
   and `<domain>/.well-known/autoconfig/mail/config-v1.1.xml`). It is
   Thunderbird's next source (`fetchConfigFromISP`) and himalaya's first
   network source. It is the domain owner's complete statement: both servers,
   the security and the username format. Like himalaya we fetch the HTTP and
   HTTPS variants in parallel. Like Thunderbird, whose URL list is "sorted by
   decreasing priority", we rank HTTPS above HTTP. An answer that only came
   over plain HTTP could be forged on the path, so it gets medium confidence.
   We do not ask Thunderbird's central ISPDB: the presets play that part
   offline, and no user's domain goes to a third party.

3. **DNS SRV records** (RFC 6186, RFC 8314): `_imaps._tcp`, `_imap._tcp`,
   `_submissions._tcp`, `_submission._tcp`. The domain owner publishes them
   too, but they carry no username format and no notes, so they rank after
   autoconfig. aerc's account wizard uses SRV alone. It prefers `_imaps` over
   `_imap`, takes the first record, and looks up only `_submission`, guessing
   its TLS mode from the port (inverted for 465 and 587 in the version we
   read). himalaya tries SRV last, after MX and TXT, and also guesses the
   submission TLS mode from the port. We look up `_submissions` as well and
   take the security from the service label. Between the implicit-TLS and
   STARTTLS services we follow RFC 8314 section 5.1 and prefer implicit TLS.
   Within one service we take the lowest priority, then the highest weight.
   We choose deterministically, not by weighted random, because the user sees
   one host and saves it. A target of "." means the domain says the service
   is not offered (RFC 2782).

4. **MX records mapped to a known provider** (`*.google.com` to Google
   Workspace, `*.protection.outlook.com` to Office 365, ...). This is
   Thunderbird's `fetchConfigForMX`, and its disclaimer applies: the MX names
   the server that receives mail, not the mailbox server, so this is an
   inference for hosted domains. Hence medium confidence. Thunderbird and
   himalaya look the MX's base domain up in the ISPDB. We map it to the
   presets offline, and the most specific pattern wins.
   `*.olc.protection.outlook.com` is Outlook.com, the rest of
   `*.protection.outlook.com` is Office 365. Thunderbird checks the MX's
   full sub-domain for the same reason.

5. **Guess and probe** `imap.`, `mail.` and `smtp.<domain>`, implicit TLS
   first, then STARTTLS. A probe reads the greeting and asks for CAPABILITY or
   EHLO. It never sends a password and never accepts a cleartext-only server.
   Thunderbird's `guessConfig` likewise runs only after every other source
   failed. Low confidence: a server answering under a conventional name might
   not host this mailbox.

Like Thunderbird's `PriorityOrderAbortable`, sources 2 to 4 run in parallel
and their answers are taken in priority order. A lookup therefore costs about
one step timeout, not the sum of the steps. Each step has a short timeout,
the whole lookup has a deadline, and `cancel` stops it between phases. If a
source finds only one of the two servers, the next source fills in the
other, and the probe runs for whatever is still missing.

When nothing is found, the result says so in the seed's words: ask your email
administrator. When the DNS server itself never answers, the lookup raises a
`DnsError` instead of pretending that the domain has no settings.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping

from . import autoconfig, providers
from .errors import NetworkError, TamagoError, UsageError
from .models import Security, ServerSettings
from .probe import ProbeResult, probe_imap, probe_smtp
from .resolver import DnsError, DnsTimeout, Resolver, is_valid_domain

log = logging.getLogger("tamago.discovery")

SOURCES = ("preset", "autoconfig", "srv", "mx", "guess")
CONFIDENCES = ("low", "medium", "high")
DEFAULT_PROBE_PORTS = {"imaps": 993, "imap": 143, "submissions": 465, "submission": 587}
NOT_FOUND = (
    "Could not determine the server settings for {domain}. "
    "Contact your email administrator for the IMAP and SMTP server details."
)


class LookupCancelled(TamagoError):
    title = "Lookup cancelled"


@dataclass(frozen=True)
class LookupOptions:
    """Knobs for one lookup. The defaults suit people; tests override ports and the TLS context."""

    # "HOST[:PORT]" of a DNS server to ask; empty means the system resolver.
    nameserver: str = ""
    # Seconds allowed for each step (one DNS query, one HTTP fetch, one probe).
    step_timeout: float = 4.0
    # Seconds allowed for the whole lookup.
    deadline: float = 15.0
    # Ports for autoconfig URLs that do not name one (tests use a loopback server).
    http_port: int = 80
    https_port: int = 443
    # TLS trust for autoconfig over HTTPS and for probes; None means the system store.
    ssl_context: ssl.SSLContext | None = None
    # Ports the guess step probes, by service name.
    probe_ports: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PROBE_PORTS))
    # Which sources to use, a subset of SOURCES (their order is fixed).
    sources: tuple[str, ...] = SOURCES
    # Replaces the autoconfig URL list: (domain, email) -> URLs, most trusted first.
    autoconfig_urls: Callable[[str, str], list[str]] | None = None


@dataclass(frozen=True)
class Attempt:
    """One thing the lookup tried, for the verbose report and the log."""

    source: str
    target: str
    outcome: str  # found | nothing | failed | timeout
    detail: str = ""


@dataclass(frozen=True)
class Finding:
    source: str
    imap: ServerSettings | None
    smtp: ServerSettings | None
    confidence: str
    provider: str = providers.CUSTOM
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LookupResult:
    query: str
    domain: str
    imap: ServerSettings | None
    smtp: ServerSettings | None
    source: str | None  # preset | autoconfig | srv | mx | guess; None when nothing was found
    confidence: str | None  # high | medium | low; None when nothing was found
    provider: str = providers.CUSTOM
    notes: tuple[str, ...] = ()
    attempts: tuple[Attempt, ...] = ()
    # Which source gave each half, when they differ ({"imap": "srv", "smtp": "guess"}).
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return self.imap is not None or self.smtp is not None

    @property
    def complete(self) -> bool:
        return self.imap is not None and self.smtp is not None

    @property
    def message(self) -> str:
        if not self.found:
            return NOT_FOUND.format(domain=self.domain)
        missing = [name for name, s in (("IMAP", self.imap), ("SMTP", self.smtp)) if s is None]
        if missing:
            return (
                f"Found only part of the settings for {self.domain}: the {missing[0]} server is unknown. "
                f"Contact your email administrator for the {missing[0]} server details."
            )
        return f"Found the settings for {self.domain} ({self.source}, {self.confidence} confidence)."

    def to_json(self) -> dict:
        def server(s: ServerSettings | None):
            return None if s is None else {"host": s.host, "port": s.port, "security": s.security.value}

        data = {
            "imap": server(self.imap),
            "smtp": server(self.smtp),
            "source": self.source,
            "confidence": self.confidence,
            "provider": self.provider,
            "domain": self.domain,
            "usernames": {
                "imap": self.imap.username if self.imap else None,
                "smtp": self.smtp.username if self.smtp else None,
            },
            "sources": dict(self.sources),
            "notes": list(self.notes),
        }
        if not self.complete:
            data["message"] = self.message
        return data


# -- input -----------------------------------------------------------------


def split_query(text: str) -> tuple[str, str]:
    """(email, domain) from "user@example.com" or "example.com". email is "" for a bare domain."""
    text = text.strip()
    email = ""
    domain = text
    if "@" in text:
        local, _, domain = text.rpartition("@")
        if not local:
            raise UsageError(f"{text!r} has nothing before the @.")
        email = text
    domain = domain.strip().rstrip(".").lower()
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise UsageError(f"{domain!r} is not a valid domain name.") from None
    if not domain or "." not in domain or not is_valid_domain(domain):
        raise UsageError(f"{domain or text!r} is not a valid email address or domain.")
    if email:
        email = f"{email.rpartition('@')[0]}@{domain}"
    return email, domain


# -- DNS bookkeeping -------------------------------------------------------


class _CountingResolver(Resolver):
    """Remembers whether the DNS server answered anything at all."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self.answered = 0
        self.timed_out = 0

    def records(self, name: str, rdtype: str, *, timeout: float | None = None) -> list:
        try:
            result = super().records(name, rdtype, timeout=timeout)
        except DnsTimeout:
            with self._lock:
                self.timed_out += 1
            raise
        except DnsError:
            with self._lock:
                self.answered += 1  # a SERVFAIL is still an answer
            raise
        with self._lock:
            self.answered += 1
        return result

    @property
    def dead(self) -> bool:
        return self.timed_out > 0 and self.answered == 0


# -- the sources -----------------------------------------------------------


@dataclass
class _Context:
    email: str
    domain: str
    options: LookupOptions
    resolver: _CountingResolver
    deadline: float

    def budget(self) -> float:
        return max(0.0, min(self.options.step_timeout, self.deadline - time.monotonic()))

    @property
    def who(self) -> str:
        return self.email or self.domain

    @property
    def tls(self) -> ssl.SSLContext:
        return self.options.ssl_context or ssl.create_default_context()

    def wait(self, future, attempts: list[Attempt], source: str, name: str, *, failed: str = "failed",
             no_answer: str = "no answer in time", errors: tuple = (NetworkError,)):
        """The future's result within the step budget, or _FAILED after noting in `attempts` why not."""
        try:
            return future.result(timeout=self.budget() + 0.5)
        except FutureTimeout:
            attempts.append(Attempt(source, name, "timeout", no_answer))
        except DnsTimeout as exc:
            attempts.append(Attempt(source, name, "timeout", str(exc)))
        except errors as exc:
            attempts.append(Attempt(source, name, failed, str(exc)))
        return _FAILED


_FAILED = object()  # what _Context.wait returns when a step gave nothing usable


def _from_preset(ctx: _Context) -> tuple[Finding | None, list[Attempt]]:
    provider = providers.for_domain(ctx.domain)
    if provider is None or not provider.has_servers:
        return None, [Attempt("preset", ctx.domain, "nothing", "no preset for this domain")]
    imap, smtp = providers.fill(provider, ctx.who)
    finding = Finding("preset", imap, smtp, "high", provider.id, provider.notes)
    return finding, [Attempt("preset", ctx.domain, "found", provider.name)]


def _from_autoconfig(ctx: _Context) -> tuple[Finding | None, list[Attempt]]:
    hook = ctx.options.autoconfig_urls
    urls = hook(ctx.domain, ctx.email) if hook else autoconfig.candidate_urls(ctx.domain, ctx.email)
    attempts: list[Attempt] = []

    def get(url: str) -> tuple[autoconfig.Fetched, autoconfig.AutoconfigDocument]:
        fetched = autoconfig.fetch(
            url,
            ctx.resolver,
            timeout=ctx.budget(),
            http_port=ctx.options.http_port,
            https_port=ctx.options.https_port,
            context=ctx.tls,
        )
        return fetched, autoconfig.parse(fetched.body, ctx.email, ctx.domain)

    # Not a `with` block: returning must not wait for lower-priority fetches still running.
    pool = ThreadPoolExecutor(max_workers=max(1, len(urls)), thread_name_prefix="tamago-autoconfig")
    try:
        futures = [(url, pool.submit(get, url)) for url in urls]
        for url, future in futures:
            got = ctx.wait(future, attempts, "autoconfig", url, failed="nothing",
                           errors=(autoconfig.AutoconfigError, NetworkError))
            if got is _FAILED:
                continue
            fetched, document = got
            confidence = "high" if fetched.secure else "medium"
            notes = list(document.notes)
            if not fetched.secure:
                notes.append(f"The settings came over unencrypted HTTP ({fetched.url}); check them before trusting them.")
            attempts.append(Attempt("autoconfig", url, "found", fetched.url))
            return Finding("autoconfig", document.imap, document.smtp, confidence, providers.CUSTOM, tuple(notes)), attempts
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return None, attempts


_SRV_SERVICES = (
    ("_imaps._tcp", "imap", Security.SSL),
    ("_imap._tcp", "imap", Security.STARTTLS),
    ("_submissions._tcp", "smtp", Security.SSL),
    ("_submission._tcp", "smtp", Security.STARTTLS),
)


def _srv_pick(records: list):
    """Lowest priority, then highest weight: one deterministic answer to show and save."""
    usable = [r for r in records if r.target.to_text(omit_final_dot=True) not in ("", ".") and r.port > 0]
    if not usable:
        return None
    return sorted(usable, key=lambda r: (r.priority, -r.weight, r.target.to_text()))[0]


def _from_srv(ctx: _Context) -> tuple[Finding | None, list[Attempt]]:
    attempts: list[Attempt] = []
    chosen: dict[str, ServerSettings] = {}
    notes: list[str] = []

    def query(label: str) -> list:
        return ctx.resolver.records(f"{label}.{ctx.domain}", "SRV", timeout=ctx.budget())

    with ThreadPoolExecutor(max_workers=len(_SRV_SERVICES), thread_name_prefix="tamago-srv") as pool:
        futures = [(label, proto, security, pool.submit(query, label)) for label, proto, security in _SRV_SERVICES]
        for label, proto, security, future in futures:
            name = f"{label}.{ctx.domain}"
            records = ctx.wait(future, attempts, "srv", name)
            if records is _FAILED:
                continue
            if not records:
                attempts.append(Attempt("srv", name, "nothing", "no SRV record"))
                continue
            record = _srv_pick(records)
            if record is None:
                attempts.append(Attempt("srv", name, "nothing", 'target "." (service not offered)'))
                notes.append(f"{ctx.domain} states that {label.split('.')[0][1:]} is not offered ({name} points to \".\").")
                continue
            host = record.target.to_text(omit_final_dot=True).lower()
            attempts.append(Attempt("srv", name, "found", f"{host}:{record.port}"))
            if proto not in chosen:  # the implicit-TLS label comes first and wins (RFC 8314)
                chosen[proto] = ServerSettings(host=host, port=record.port, security=security, username=ctx.email)
    if not chosen:
        return None, attempts
    confidence = "high"
    return Finding("srv", chosen.get("imap"), chosen.get("smtp"), confidence, providers.CUSTOM, tuple(notes)), attempts


def _from_mx(ctx: _Context) -> tuple[Finding | None, list[Attempt]]:
    name = ctx.domain
    try:
        records = ctx.resolver.records(name, "MX", timeout=ctx.budget())
    except DnsTimeout as exc:
        return None, [Attempt("mx", name, "timeout", str(exc))]
    except NetworkError as exc:
        return None, [Attempt("mx", name, "failed", str(exc))]
    hosts = [
        r.exchange.to_text(omit_final_dot=True).lower()
        for r in sorted(records, key=lambda r: (r.preference, r.exchange.to_text()))
    ]
    if not hosts:
        return None, [Attempt("mx", name, "nothing", "no MX record")]
    if hosts == [""] or hosts == ["."]:
        return None, [Attempt("mx", name, "nothing", "null MX: the domain receives no mail (RFC 7505)")]
    for host in hosts:
        provider = providers.for_mx(host)
        if provider is not None and provider.has_servers:
            imap, smtp = providers.fill(provider, ctx.who)
            notes = (f"Mail for {ctx.domain} is received by {host}, which belongs to {provider.name}.",) + provider.notes
            return (
                Finding("mx", imap, smtp, "medium", provider.id, notes),
                [Attempt("mx", name, "found", f"{host} -> {provider.id}")],
            )
    return None, [Attempt("mx", name, "nothing", f"no known provider receives mail at {', '.join(hosts[:3])}")]


def _guess_candidates(domain: str, ports: Mapping[str, int], need_imap: bool, need_smtp: bool):
    candidates = []
    if need_imap:
        candidates += [
            ("imap", f"imap.{domain}", Security.SSL, ports["imaps"]),
            ("imap", f"mail.{domain}", Security.SSL, ports["imaps"]),
            ("imap", f"imap.{domain}", Security.STARTTLS, ports["imap"]),
            ("imap", f"mail.{domain}", Security.STARTTLS, ports["imap"]),
        ]
    if need_smtp:
        candidates += [
            ("smtp", f"smtp.{domain}", Security.SSL, ports["submissions"]),
            ("smtp", f"mail.{domain}", Security.SSL, ports["submissions"]),
            ("smtp", f"smtp.{domain}", Security.STARTTLS, ports["submission"]),
            ("smtp", f"mail.{domain}", Security.STARTTLS, ports["submission"]),
        ]
    return candidates


def _from_guess(ctx: _Context, need_imap: bool, need_smtp: bool) -> tuple[Finding | None, list[Attempt]]:
    ports = {**DEFAULT_PROBE_PORTS, **dict(ctx.options.probe_ports)}
    candidates = _guess_candidates(ctx.domain, ports, need_imap, need_smtp)
    hosts = list(dict.fromkeys(host for _, host, _, _ in candidates))
    attempts: list[Attempt] = []
    tls = ctx.tls

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="tamago-probe") as pool:
        resolving = {host: pool.submit(ctx.resolver.addresses, host, timeout=ctx.budget()) for host in hosts}
        addresses: dict[str, str] = {}
        for host, future in resolving.items():
            found = ctx.wait(future, attempts, "guess", host, no_answer="no DNS answer in time")
            if found is _FAILED:
                continue
            if found:
                addresses[host] = found[0]
            else:
                attempts.append(Attempt("guess", host, "nothing", "does not exist"))

        def probe(proto: str, host: str, security: Security, port: int) -> ProbeResult:
            fn = probe_imap if proto == "imap" else probe_smtp
            return fn(host, addresses[host], port, security, timeout=ctx.budget(), context=tls)

        probes = [
            (proto, host, security, port, pool.submit(probe, proto, host, security, port))
            for proto, host, security, port in candidates
            if host in addresses
        ]
        chosen: dict[str, ProbeResult] = {}
        for proto, host, security, port, future in probes:
            target = f"{host}:{port} ({security.label})"
            try:
                result = future.result(timeout=ctx.budget() + 0.5)
            except FutureTimeout:
                attempts.append(Attempt("guess", target, "timeout", "no answer in time"))
                continue
            attempts.append(Attempt("guess", target, "found" if result.ok else "nothing", result.detail))
            if result.ok and proto not in chosen:
                chosen[proto] = result
    if not chosen:
        return None, attempts
    notes = []
    settings: dict[str, ServerSettings] = {}
    for proto, result in chosen.items():
        settings[proto] = ServerSettings(result.host, result.port, result.security, ctx.email)
        if result.certificate_problem:
            notes.append(
                f"{result.host}:{result.port} answers, but its TLS certificate is not trusted "
                f"({result.certificate_problem}); the connection test shows the details."
            )
    notes.append("These are educated guesses from the usual host names; run the connection test to confirm them.")
    return Finding("guess", settings.get("imap"), settings.get("smtp"), "low", providers.CUSTOM, tuple(notes)), attempts


# -- the lookup ------------------------------------------------------------


def _lower(confidence: str) -> str:
    return CONFIDENCES[max(0, CONFIDENCES.index(confidence) - 1)]


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise LookupCancelled("The server lookup was cancelled.")


def _combine(query: str, ctx: _Context, findings: list[Finding], attempts: list[Attempt]) -> LookupResult:
    if not findings:
        return LookupResult(query, ctx.domain, None, None, None, None, attempts=tuple(attempts))
    primary = findings[0]
    picked: dict[str, Finding] = {}
    for proto in ("imap", "smtp"):
        for finding in findings:
            if getattr(finding, proto) is not None:
                picked[proto] = finding
                break
    used = list(dict.fromkeys(picked.values())) or [primary]
    confidence = min((f.confidence for f in used), key=CONFIDENCES.index)
    if len(picked) < 2:
        confidence = _lower(confidence)
    notes: list[str] = []
    for finding in used:
        notes += [n for n in finding.notes if n not in notes]
    sources = {proto: f.source for proto, f in picked.items()}
    if len(set(sources.values())) > 1:
        notes.append("; ".join(f"{proto.upper()} from {src}" for proto, src in sources.items()) + ".")
    main = picked.get("imap", primary)
    return LookupResult(
        query=query,
        domain=ctx.domain,
        imap=picked["imap"].imap if "imap" in picked else None,
        smtp=picked["smtp"].smtp if "smtp" in picked else None,
        source=main.source,
        confidence=confidence,
        provider=main.provider,
        notes=tuple(notes),
        attempts=tuple(attempts),
        sources=sources,
    )


def lookup(
    address_or_domain: str,
    options: LookupOptions | None = None,
    *,
    nameserver: str | None = None,
    cancel: threading.Event | None = None,
) -> LookupResult:
    """Find IMAP and SMTP settings. Blocking: front ends run it in a worker thread.

    `nameserver` ("HOST[:PORT]", "" for the system resolver) overrides the
    one in `options`, as a shortcut for callers that only want that.

    Returns a result (possibly `found == False`, whose `message` tells the
    user to ask their administrator). Raises UsageError for input that is not
    an address or domain, DnsError when the DNS server never answered, and
    LookupCancelled when `cancel` was set.
    """
    options = options or LookupOptions()
    if nameserver is not None:
        options = replace(options, nameserver=nameserver)
    unknown = set(options.sources) - set(SOURCES)
    if unknown:
        raise UsageError(f"Unknown lookup sources: {', '.join(sorted(unknown))}.")
    email, domain = split_query(address_or_domain)
    started = time.monotonic()
    resolver = _CountingResolver(options.nameserver, timeout=options.step_timeout)
    ctx = _Context(email, domain, options, resolver, started + options.deadline)
    attempts: list[Attempt] = []

    if "preset" in options.sources:
        finding, tried = _from_preset(ctx)
        attempts += tried
        if finding is not None:
            return _combine(address_or_domain, ctx, [finding], attempts)

    steps = {"autoconfig": _from_autoconfig, "srv": _from_srv, "mx": _from_mx}
    findings: list[Finding] = []
    _check_cancel(cancel)
    pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="tamago-lookup")
    try:
        futures = {name: pool.submit(step, ctx) for name, step in steps.items() if name in options.sources}
        for name in steps:  # priority order, whatever finishes first
            if name not in futures:
                continue
            try:
                finding, tried = futures[name].result(timeout=max(0.0, ctx.deadline - time.monotonic()))
            except FutureTimeout:
                attempts.append(Attempt(name, domain, "timeout", "the lookup's overall deadline passed"))
                continue
            _check_cancel(cancel)
            attempts += tried
            if finding is not None:
                findings.append(finding)
                if any(f.imap for f in findings) and any(f.smtp for f in findings):
                    break  # both halves known from more trusted sources: lower ones cannot win
    finally:
        pool.shutdown(wait=False, cancel_futures=True)

    if not findings and resolver.dead:
        raise DnsError(
            f"{resolver.describe().capitalize()} did not answer within {options.step_timeout:g} s, "
            f"so the settings for {domain} could not be looked up. Check the nameserver address, "
            "or leave it out to use the system resolver."
        )

    have_imap = any(f.imap for f in findings)
    have_smtp = any(f.smtp for f in findings)
    if "guess" in options.sources and not (have_imap and have_smtp) and not resolver.dead:
        _check_cancel(cancel)
        if ctx.deadline - time.monotonic() > 0.2:
            finding, tried = _from_guess(ctx, not have_imap, not have_smtp)
            attempts += tried
            if finding is not None:
                findings.append(finding)
        else:
            attempts.append(Attempt("guess", domain, "timeout", "no time left to probe"))

    result = _combine(address_or_domain, ctx, findings, attempts)
    for attempt in attempts:
        log.debug("lookup %s: %s %s -> %s %s", domain, attempt.source, attempt.target, attempt.outcome, attempt.detail)
    log.info(
        "lookup %s: %s (%s, %s) in %.1f s",
        domain,
        "found" if result.found else "nothing found",
        result.source,
        result.confidence,
        time.monotonic() - started,
    )
    return result
