"""Troubleshooting: classify any failure into one category and explain the fix.

Every failure the app shows goes through here: connection tests, sync, send and
OAuth call `diagnose(exc, context)` (or `to_error`) and get a category, a
confidence and a guide for the account's provider, never a stack trace.
People pasting an error (TUI or `tamago explain`) go through `explain(text)`.

    explain("NO [ALERT] Application-specific password required ...", provider="gmail")
    -> Explanation(category="app_password_required", confidence=0.96, title=..., steps=[...])

How it decides: troubleshoot_evidence.py parses the input into evidence,
troubleshoot_rules.py weighs it per category (structured codes > phrase
families > generic wording > context), and the guides come from
tamago_tui/data/guides.toml through troubleshoot_guides.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from . import troubleshoot_guides as guides_mod
from . import troubleshoot_rules as rules
from .errors import AuthError, NetworkError, TamagoError, UsageError
from .log import redact
from .troubleshoot_evidence import gather
from .troubleshoot_guides import Guide

CATEGORIES = (
    "app_password_required",
    "web_login_required",
    "imap_disabled",
    "basic_auth_disabled",
    "smtp_auth_disabled",
    "consent_required",
    "oauth_misconfigured",
    "invalid_credentials",
    "auth_required",
    "tls_required",
    "starttls_unavailable",
    "too_many_connections",
    "rate_limited",
    "server_unavailable",
    "tls_mismatch",
    "certificate_invalid",
    "dns_failure",
    "connection_refused",
    "timeout",
    "sender_rejected",
    "pop3_only",
    "wrong_service",
    "local_storage",  # this machine's disk or database, not the mail server
    "unknown",
)

# Provider ids, shared with the provider presets.
PROVIDERS = (
    "gmail",
    "google_workspace",
    "outlook",
    "office365",
    "exchange",
    "yahoo",
    "aol",
    "icloud",
    "zoho",
    "fastmail",
    "gmx",
    "yandex",
    "custom",
)

PROVIDER_NAMES = {
    "gmail": "Gmail",
    "google_workspace": "Google Workspace",
    "outlook": "Outlook.com",
    "office365": "Microsoft 365 (Office 365)",
    "exchange": "Microsoft Exchange Server",
    "yahoo": "Yahoo Mail",
    "aol": "AOL Mail",
    "icloud": "iCloud Mail",
    "zoho": "Zoho Mail",
    "fastmail": "Fastmail",
    "gmx": "GMX",
    "yandex": "Yandex Mail",
    "custom": "Other provider",
}

# When a provider has no guide of its own for a category, try these next.
_FALLBACK = {"google_workspace": "gmail"}
_ALIASES = {
    "google": "gmail",
    "googlemail": "gmail",
    "workspace": "google_workspace",
    "gsuite": "google_workspace",
    "hotmail": "outlook",
    "live": "outlook",
    "outlook.com": "outlook",
    "microsoft365": "office365",
    "m365": "office365",
    "o365": "office365",
    "exchange_online": "office365",
    "me.com": "icloud",
    "apple": "icloud",
    "generic": "custom",
    "other": "custom",
}
_AUTH_CATEGORIES = {
    "app_password_required",
    "web_login_required",
    "imap_disabled",
    "basic_auth_disabled",
    "smtp_auth_disabled",
    "consent_required",
    "oauth_misconfigured",
    "invalid_credentials",
}
_MAX_DETAIL = 500


@dataclass(frozen=True)
class Diagnosis:
    """The classifier's answer: one category, how sure it is, and why."""

    category: str
    confidence: float  # 0..1; 0 for "unknown"
    evidence: tuple[str, ...] = ()  # the reasons behind the category, strongest first
    alternatives: tuple[tuple[str, float], ...] = ()  # other candidates with their scores
    protocol: str | None = None


@dataclass(frozen=True)
class Explanation:
    """A diagnosis with its guide: what to show a person."""

    category: str
    confidence: float
    title: str
    cause: str
    steps: list[str]
    links: list[str]
    provider: str | None = None
    reviewed: str = ""
    evidence: tuple[str, ...] = ()
    detail: str = ""  # the original error text, secrets redacted
    alternate_username: str | None = None
    diagnosis: Diagnosis | None = field(default=None, compare=False)

    def to_dict(self) -> dict:
        """The `tamago explain --json` object."""
        return {
            "category": self.category,
            "confidence": self.confidence,
            "title": self.title,
            "cause": self.cause,
            "provider": self.provider,
            "steps": list(self.steps),
            "links": list(self.links),
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True)
class FailureContext:
    """Where a failure happened. Every field is optional."""

    provider: str | None = None
    protocol: str | None = None  # "imap" or "smtp"
    port: int | None = None
    security: str | None = None  # "ssl", "starttls" or "none"
    auth: str | None = None  # "password" or "oauth2"
    username: str | None = None
    email: str | None = None

    @classmethod
    def for_account(cls, account, protocol: str) -> "FailureContext":
        """Context for `account` (models.Account) talking `protocol` ("imap" or "smtp")."""
        server = account.imap if str(getattr(protocol, "value", protocol)) == "imap" else account.smtp
        return cls(
            provider=account.provider,
            protocol=str(getattr(protocol, "value", protocol)),
            port=server.port,
            security=str(getattr(server.security, "value", server.security)),
            auth=account.auth,
            username=server.username or account.email,
            email=account.email,
        )


def normalise_provider(provider: str | None) -> str | None:
    """A provider id from PROVIDERS (or None). Raises UsageError for an unknown one."""
    if provider is None or provider == "":
        return None
    key = str(provider).strip().lower().replace("-", "_").replace(" ", "_")
    key = _ALIASES.get(key, key)
    if key not in PROVIDERS:
        raise UsageError(f"Unknown provider {provider!r}. Choose one of: {', '.join(PROVIDERS)}.")
    return key


def _value(item) -> str | None:
    if item is None:
        return None
    return str(getattr(item, "value", item)).strip().lower() or None


def classify(
    source: object,  # an exception, a str or bytes, or None
    provider: str | None = None,
    protocol: str | None = None,
    port: int | None = None,
    security: str | None = None,
    auth: str | None = None,
) -> Diagnosis:
    """Classify an exception, a server response or pasted text."""
    evidence = gather(source)
    context = rules.Context(
        provider=normalise_provider(provider),
        protocol=_value(protocol),
        port=int(port) if port else None,
        security=_value(security),
        auth=_value(auth),
    )
    found = rules.signals(evidence, context)
    scores = rules.weigh(found, evidence)
    ranked = sorted(scores.items(), key=lambda item: (-item[1], CATEGORIES.index(item[0])))
    ranked = [(c, round(s, 2)) for c, s in ranked if c in CATEGORIES and s > 0]
    protocol_seen = context.protocol or evidence.library_protocol
    if not ranked or ranked[0][1] < rules.MIN_SCORE:
        return Diagnosis("unknown", 0.0, (), tuple(ranked[:3]), protocol_seen)
    category, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    reasons = [s for s in found if s.category == category]
    reasons.sort(key=lambda s: (s.generic, -s.weight))
    return Diagnosis(
        category=category,
        confidence=rules.confidence(top, second, reasons),
        evidence=tuple(dict.fromkeys(s.reason for s in reasons)),
        alternatives=tuple(ranked[1:4]),
        protocol=protocol_seen,
    )


def guide_for(category: str, provider: str | None = None) -> Guide:
    """The guide for `category`, the provider's own variant when there is one."""
    if category not in CATEGORIES:
        raise UsageError(f"Unknown category {category!r}.")
    table = guides_mod.load()
    current = normalise_provider(provider)
    while current:
        guide = table.get((category, current))
        if guide:
            return guide
        current = _FALLBACK.get(current)
    return table[(category, None)]


def guides_for_provider(provider: str | None) -> list[Guide]:
    """One guide per category as it applies to `provider`, in CATEGORIES order (for browsing)."""
    return [guide_for(category, provider) for category in CATEGORIES]


def alternate_username(username: str | None, email: str | None = None) -> str | None:
    """The other username form: the part before @ for a full address, the full address otherwise."""
    name = (username or "").strip() or (email or "").strip()
    if not name:
        return None
    if "@" in name:
        local = name.split("@", 1)[0]
        return local or None
    domain = (email or "").strip().rpartition("@")[2]
    if not domain or "@" not in (email or ""):
        return None
    return f"{name}@{domain}"


def explain(
    source: object,
    provider: str | None = None,
    protocol: str | None = None,
    port: int | None = None,
    security: str | None = None,
    *,
    auth: str | None = None,
    username: str | None = None,
    email: str | None = None,
) -> Explanation:
    """Classify `source` and attach the guide for the category and provider."""
    provider_id = normalise_provider(provider)
    evidence = gather(source)
    diagnosis = classify(evidence, provider_id, protocol, port, security, auth)
    guide = guide_for(diagnosis.category, provider_id)
    steps = list(guide.steps)
    other = None
    if diagnosis.category in {"invalid_credentials", "unknown"}:
        other = alternate_username(username, email)
        current = (username or email or "").strip()
        if other and current:
            steps.append(f"Retry the test with the username {other!r} instead of {current!r}.")
    return Explanation(
        category=diagnosis.category,
        confidence=diagnosis.confidence,
        title=guide.title,
        cause=guide.cause,
        steps=steps,
        links=list(guide.links),
        provider=provider_id,
        reviewed=guide.reviewed,
        evidence=diagnosis.evidence,
        detail=redact(evidence.raw)[:_MAX_DETAIL],
        alternate_username=other,
        diagnosis=diagnosis,
    )


def diagnose(exc: BaseException | str, context: FailureContext | None = None, **overrides) -> Explanation:
    """Explain a failure where it happened. Services call this at the edge.

    `overrides` replace fields of `context` (provider=..., port=...).
    """
    ctx = replace(context or FailureContext(), **{k: v for k, v in overrides.items() if v is not None})
    try:
        provider = normalise_provider(ctx.provider)
    except UsageError:
        provider = None  # an unknown preset must not hide the real failure
    return explain(
        exc, provider, ctx.protocol, ctx.port, ctx.security, auth=ctx.auth, username=ctx.username, email=ctx.email
    )


def to_error(exc: BaseException, context: FailureContext | None = None) -> TamagoError:
    """The TamagoError to raise instead of `exc`: categorised, with `.explanation` attached.

    Use as `raise to_error(exc, ctx) from exc`.
    """
    explanation = diagnose(exc, context)
    if isinstance(exc, TamagoError):
        error = exc
        if error.category == "unknown":
            error.category = explanation.category
    else:
        cls = AuthError if explanation.category in _AUTH_CATEGORIES else NetworkError
        message = explanation.detail or explanation.cause
        error = cls(message, category=explanation.category, title=explanation.title)
    error.explanation = explanation  # type: ignore[attr-defined]
    return error
