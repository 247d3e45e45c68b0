"""UI messages: small dataclasses that workers post back to screens."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class AccountsChanged(Message):
    """An account was added, edited, removed or tested; lists should reload."""


@dataclass
class ContactsChanged(Message):
    """The contact book changed."""


@dataclass
class StepReported(Message):
    """One step of a live connection checklist finished."""

    step: object


@dataclass
class WorkFailed(Message):
    """A background job failed; `error` is a TamagoError (or any exception)."""

    error: Exception
    context: str = ""


@dataclass
class HistoryUpdated(Message):
    """A contact visit has more (or fresher) rows: `update` is a backend.visit.VisitUpdate."""

    update: object


@dataclass
class VisitFinished(Message):
    """A contact visit ended: `result` is a backend.visit.VisitResult."""

    result: object


@dataclass
class MessageLoaded(Message):
    """A message is cached and parsed: `cached` is a backend.cache.CachedMessage."""

    cached: object


@dataclass
class ScanFinished(Message):
    """A periodic scan or "Sync now" finished: `reports` are backend.sync.AccountReport."""

    reports: list


@dataclass
class SignInPrompt(Message):
    """An OAuth sign-in waits for the person: what to show them.

    `kind` is "device", "loopback", "paste", or "finishing" (a pasted address is
    being exchanged). `expires_at` is on the time.monotonic() clock.
    """

    kind: str
    provider_name: str
    url: str = ""
    user_code: str = ""
    expires_at: float = 0.0
    redirect_uri: str = ""
    port: int = 0
    ssh_hint: str = ""


@dataclass
class SignInFinished(Message):
    """An OAuth sign-in ended: stored (`stored` False: no refresh token came) or `error`."""

    error: Exception | None = None
    provider_name: str = ""
    stored: bool = True
    where: str = ""


@dataclass
class DraftSaved(Message):
    """A compose screen's draft is on disk; `content` is the form it was made from."""

    draft_id: int
    content: tuple


@dataclass
class DraftNotSaved(Message):
    """A draft save failed (`error` is a TamagoError); the text stays in the editor."""

    error: Exception
    content: tuple
