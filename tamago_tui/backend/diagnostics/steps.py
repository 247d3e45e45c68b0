"""The checklist's vocabulary: a `Step`, the step names, and the driver that runs them.

A protocol check is a plan: an ordered list of (step name, method). The driver
gives each method its own deadline, turns an exception into a failed step with a
troubleshooting category, and once a step has failed (or a step asked to stop,
e.g. because there is no password) reports every remaining step as skipped, so
a front end always receives the whole checklist.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Mapping

from ..categorize import refine
from ..errors import TamagoError
from ..log import redact_secrets
from ..wire import Deadline

log = logging.getLogger("tamago.diagnostics")

OK, WARN, FAIL, SKIPPED = "ok", "warn", "fail", "skipped"
STATUSES = (OK, WARN, FAIL, SKIPPED)

DNS = "DNS resolution"
TCP = "TCP connect"
TLS = "TLS handshake"
STARTTLS = "STARTTLS"
GREETING = "Greeting"
CAPABILITIES = "Capabilities"
CAPABILITIES_TLS = "Capabilities after TLS"
EHLO = "EHLO"
EHLO_TLS = "EHLO after TLS"
AUTH = "Auth mechanisms"
LOGIN = "Login"
FOLDERS = "Folders"

NOT_RUN = "not run: an earlier step failed"


@dataclass(frozen=True)
class Step:
    """One line of the checklist. `category` is set only on a failed step."""

    protocol: str  # "imap" | "smtp"
    name: str
    status: str  # ok | warn | fail | skipped
    detail: str = ""
    category: str | None = None
    # Structured extras for front ends (addresses, certificate, folders...). Never in JSON.
    data: Mapping = field(default_factory=dict, compare=False, repr=False)

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def to_dict(self) -> dict:
        """The exact JSON shape of `tamago doctor --json` steps."""
        out = {"protocol": self.protocol, "name": self.name, "status": self.status, "detail": self.detail}
        if self.status == FAIL:
            out["category"] = self.category or "unknown"
        return out


@dataclass(frozen=True)
class Report:
    steps: tuple[Step, ...]

    @property
    def ok(self) -> bool:
        return not any(step.failed for step in self.steps)

    @property
    def first_failure(self) -> Step | None:
        return next((step for step in self.steps if step.failed), None)

    @property
    def category(self) -> str | None:
        failure = self.first_failure
        return (failure.category or "unknown") if failure else None

    def to_dict(self) -> dict:
        """The exact JSON shape of `tamago doctor --json`."""
        return {"ok": self.ok, "category": self.category, "steps": [s.to_dict() for s in self.steps]}


class StepResult:
    """What a step method returns: status, detail and optional data."""

    __slots__ = ("status", "detail", "data", "category")

    def __init__(self, status: str, detail: str, data: Mapping | None = None, category: str | None = None):
        assert status in STATUSES
        self.status, self.detail, self.data, self.category = status, detail, data or {}, category


class StepFailed(TamagoError):
    """Raised by a step method to fail with a category and structured data."""

    def __init__(self, message: str, *, category: str, data: Mapping | None = None):
        super().__init__(message, category=category)
        self.data = dict(data or {})


def category_for(exc: BaseException, *, protocol: str, port: int, security: str, provider: str = "") -> str:
    """The troubleshooting category of a failure.

    A failure the checks raised already knows its category from the step it
    happened in; login refusals and unplaced failures are refined from the
    server's words by the shared classifier (see categorize.py).
    """
    category = getattr(exc, "category", None) or "unknown"
    if category == "unknown":
        if isinstance(exc, ssl.SSLCertVerificationError):
            return "certificate_invalid"
        if isinstance(exc, ssl.SSLError):
            return "tls_mismatch"
        if isinstance(exc, ConnectionRefusedError):
            return "connection_refused"
        if isinstance(exc, TimeoutError):
            return "timeout"
    text = getattr(exc, "message", None) or str(exc)
    return refine(text, category, provider=provider, protocol=protocol, port=port, security=security)


def clean(text: str, limit: int = 600) -> str:
    """Printable, single-line, bounded and with every registered secret masked."""
    text = "".join(ch if ch.isprintable() else " " for ch in text.replace("\r\n", " ").replace("\n", " "))
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return redact_secrets(text)


StepMethod = Callable[[Deadline], StepResult]


class Session:
    """Base for one protocol's checks. Subclasses fill `plan()` and the step methods."""

    protocol = ""

    def __init__(self, *, timeout: float, port: int, security: str, provider: str = ""):
        self.timeout = timeout
        self.port = port
        self.security = security
        self.provider = provider
        self.stop_reason = ""  # set by a step to skip the rest without failing

    def plan(self) -> list[tuple[str, StepMethod]]:
        raise NotImplementedError

    def begin_step(self, deadline: Deadline) -> None:
        """Hook: give the open connection this step's deadline."""

    def close(self) -> None:
        """Hook: release sockets. Called however the run ends."""


def drive(session: Session) -> Iterator[Step]:
    """Run the plan, one deadline per step, yielding each step as soon as it is known."""
    protocol = session.protocol
    stopped = ""
    try:
        for name, method in session.plan():
            if stopped:
                yield Step(protocol, name, SKIPPED, stopped)
                continue
            deadline = Deadline(session.timeout)
            try:
                session.begin_step(deadline)
                result = method(deadline)
            except StepFailed as exc:
                category = category_for(exc, protocol=protocol, port=session.port, security=session.security,
                                        provider=session.provider)
                yield Step(protocol, name, FAIL, clean(exc.message), category, exc.data)
                stopped = NOT_RUN
                continue
            except (TamagoError, OSError, ValueError) as exc:
                category = category_for(exc, protocol=protocol, port=session.port, security=session.security,
                                        provider=session.provider)
                message = exc.message if isinstance(exc, TamagoError) else f"{type(exc).__name__}: {exc}"
                yield Step(protocol, name, FAIL, clean(message), category)
                stopped = NOT_RUN
                continue
            except Exception as exc:  # a bug must not crash the checklist; it still fails the step
                log.exception("unexpected error in %s step %r", protocol, name)
                yield Step(protocol, name, FAIL, clean(f"internal error: {type(exc).__name__}: {exc}"), "unknown")
                stopped = NOT_RUN
                continue
            category = None
            if result.status == FAIL:
                category = result.category or "unknown"
                stopped = NOT_RUN
            yield Step(protocol, name, result.status, clean(result.detail), category, result.data)
            if session.stop_reason and not stopped:
                stopped = session.stop_reason
    finally:
        session.close()


def collect(steps: Iterable[Step]) -> Report:
    return Report(tuple(steps))
