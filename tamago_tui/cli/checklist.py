"""Printing the connection checklist: a line per step as it completes, or JSON at the end."""

from __future__ import annotations

import sys
from typing import Iterable

from tamago_tui.backend.diagnostics import Report, Step, format_step
from tamago_tui.backend.log import redact_secrets

from .output import print_json


def _say(text: str, stream=None) -> None:
    stream = stream or sys.stdout
    stream.write(redact_secrets(text) + "\n")
    stream.flush()


def emit(steps: Iterable[Step], *, as_json: bool, extra: dict | None = None, provider: str = "") -> Report:
    """Consume the checklist; print it live (human) or once at the end (JSON). Return the report."""
    collected: list[Step] = []
    for step in steps:
        collected.append(step)
        if not as_json:
            _say(format_step(step))
    report = Report(tuple(collected))
    if as_json:
        data = report.to_dict()
        if extra:
            data.update(extra)
        print_json(data)
    else:
        _summary(report, provider)
    return report


def _summary(report: Report, provider: str = "") -> None:
    failure = report.first_failure
    if failure is None:
        _say("Result: all checks passed.")
        return
    _say(f"Result: {failure.protocol.upper()} failed at {failure.name!r} (category: {report.category}).")
    fingerprint = failure.data.get("sha256") if failure.category == "certificate_invalid" else ""
    if fingerprint:
        _say(f"If you trust this certificate, pin it: --{failure.protocol}-pin {fingerprint}")
    _fix(report.category or "unknown", provider)


def _fix(category: str, provider: str) -> None:
    """The troubleshooting guide for the first failure, so the ticket carries the fix too."""
    from tamago_tui.backend.errors import TamagoError
    from tamago_tui.backend.troubleshoot import guide_for

    try:
        guide = guide_for(category, provider or None)
    except TamagoError:  # an unknown provider id: the generic guide
        guide = guide_for(category)
    _say(f"Fix: {guide.title}")
    _say(f"  {guide.cause}")
    for number, step in enumerate(guide.steps, 1):
        _say(f"  {number}. {step}")


def hint(text: str) -> None:
    """A note for people, on stderr so it never mixes with JSON."""
    _say(text, sys.stderr)
