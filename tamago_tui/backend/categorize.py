"""Which troubleshooting category a connection failure gets.

Most failures are categorised by where they happen: a refused TCP connect is
`connection_refused`, a missing STARTTLS is `starttls_unavailable`; nothing a
classifier reads in the message can know better. A refused login is different:
the server's own words say whether the password is wrong, an app password is
needed, basic auth is off or the service is down. Those (and failures the
checks could not place) go to the shared classifier in troubleshoot.py.
"""

from __future__ import annotations

from .troubleshoot import FailureContext, diagnose

# Categories the server's wording may refine.
REFINABLE = frozenset({"invalid_credentials", "unknown"})


def refine(text: str, category: str, *, provider: str = "", protocol: str = "", port: int | None = None,
           security: str = "") -> str:
    """`category`, or the classifier's reading of `text` when that says more."""
    if category not in REFINABLE:
        return category
    context = FailureContext(provider=provider or None, protocol=protocol or None, port=port,
                             security=security or None)
    found = diagnose(text, context).category
    return found if found != "unknown" else category
