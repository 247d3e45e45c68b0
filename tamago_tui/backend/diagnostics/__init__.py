"""The step-by-step connection test: the support-staff tool.

Run it for IMAP and SMTP separately; each run yields `Step`s as they complete,
so the TUI can draw a live checklist and the CLI can print line by line:

    for step in run_imap_checks(settings, password, cafile=..., timeout=10):
        print(format_step(step))

Every step has its own deadline. The first failed step carries a
troubleshooting category. A password is never sent unencrypted unless the
account's security is "none", and never when STARTTLS was expected but not
offered. Without a password the run stops before login.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from ..models import Account, Protocol, Security, ServerSettings
from ..tls import CertificateInfo, describe_certificate
from ..wire import WireError, resolve
from . import steps as _steps
from .imap_checks import ImapSession, run_imap_checks
from .smtp_checks import SmtpSession, run_smtp_checks
from .steps import (
    AUTH,
    CAPABILITIES,
    CAPABILITIES_TLS,
    DNS,
    EHLO,
    EHLO_TLS,
    FAIL,
    FOLDERS,
    GREETING,
    LOGIN,
    OK,
    SKIPPED,
    STARTTLS,
    STATUSES,
    TCP,
    TLS,
    WARN,
    Report,
    Step,
)
from .test_message import send_test_email

__all__ = [
    "Step", "Report", "run_imap_checks", "run_smtp_checks", "run_checks", "run_account_checks",
    "planned_steps", "collect", "format_step", "format_report", "peek_certificate", "send_test_email",
    "OK", "WARN", "FAIL", "SKIPPED", "STATUSES",
    "DNS", "TCP", "TLS", "STARTTLS", "GREETING", "CAPABILITIES", "CAPABILITIES_TLS", "EHLO", "EHLO_TLS",
    "AUTH", "LOGIN", "FOLDERS",
]

_SESSIONS = {"imap": ImapSession, "smtp": SmtpSession}


def planned_steps(protocol: str | Protocol, security: str | Security) -> list[str]:
    """The step names a run will yield, in order (for drawing the checklist before it runs)."""
    protocol = Protocol(protocol).value
    settings = ServerSettings(host="", port=0, security=Security(security))
    return [name for name, _ in _SESSIONS[protocol](settings, None).plan()]


def run_checks(
    imap: ServerSettings | None,
    smtp: ServerSettings | None,
    password: str | None = None,
    *,
    smtp_password: str | None = None,
    cafile: str = "",
    timeout: float = 10.0,
    nameserver: str = "",
    provider: str = "",
    oauth_mechanism: str | None = None,
) -> Iterator[Step]:
    """IMAP then SMTP (either may be None to leave it out). SMTP uses `password` unless given its own."""
    common = dict(cafile=cafile, timeout=timeout, nameserver=nameserver, provider=provider,
                  oauth_mechanism=oauth_mechanism)
    if imap is not None:
        yield from run_imap_checks(imap, password, **common)
    if smtp is not None:
        yield from run_smtp_checks(smtp, smtp_password if smtp_password is not None else password, **common)


def run_account_checks(
    account: Account,
    password: str | None,
    *,
    only: str | None = None,
    timeout: float = 10.0,
    nameserver: str = "",
) -> Iterator[Step]:
    """The checklist for a saved (or about to be saved) account. `only`: "imap" or "smtp"."""
    oauth = account.oauth_mechanism if account.auth == "oauth2" else None
    yield from run_checks(
        account.imap if only in (None, "imap") else None,
        account.smtp if only in (None, "smtp") else None,
        password,
        cafile=account.cafile,
        timeout=timeout,
        nameserver=nameserver,
        provider=account.provider,
        oauth_mechanism=oauth,
    )


def collect(steps: Iterable[Step]) -> Report:
    return _steps.collect(steps)


_LABELS = {OK: " ok ", WARN: "warn", FAIL: "FAIL", SKIPPED: "skip"}


def format_step(step: Step) -> str:
    """One checklist line: `[ ok ] IMAP TLS handshake  TLSv1.3 ...`. Safe to paste into a ticket."""
    line = f"[{_LABELS.get(step.status, step.status)}] {step.protocol.upper()} {step.name}"
    if step.detail:
        line += f"  {step.detail}"
    if step.failed and step.category:
        line += f"  (category: {step.category})"
    return line


def format_report(report: Report) -> str:
    lines = [format_step(step) for step in report.steps]
    failure = report.first_failure
    if failure is None:
        lines.append("Result: all checks passed.")
    else:
        lines.append(f"Result: {failure.protocol.upper()} failed at {failure.name!r} (category: {report.category}).")
    return "\n".join(lines)


def peek_certificate(
    settings: ServerSettings, protocol: str, *, timeout: float = 5.0, nameserver: str = ""
) -> CertificateInfo | None:
    """Read the server's certificate WITHOUT verifying it, for display or pinning. Sends no credentials."""
    session = _SESSIONS[Protocol(protocol).value](settings, None, timeout=timeout, nameserver=nameserver)
    try:
        session.addresses = resolve(settings.host, nameserver=nameserver, timeout=timeout)
    except WireError:
        return None
    der = session.peek_certificate_der()
    return describe_certificate(der) if der else None
