"""SASL XOAUTH2 and OAUTHBEARER (RFC 7628) for IMAP (imapclient) and SMTP (aiosmtplib).

Both mechanisms send the bearer token in one client-first message. When the
server refuses it, it sends a JSON error as a challenge and waits: XOAUTH2
(Google's definition) expects an empty response, OAUTHBEARER (RFC 7628 3.2.3)
a single %x01. The error JSON says why (e.g. `{"status":"invalid_token"}`), so
it is kept for the message.

Call these through `oauth.call_with_token()`, which retries once with a fresh
token when they raise `AuthError`.
"""

from __future__ import annotations

import base64
import binascii
import json

from .errors import AuthError
from .log import register_secret

MECHANISMS = ("XOAUTH2", "OAUTHBEARER")


def normalize_mechanism(mechanism: str) -> str:
    mech = (mechanism or "XOAUTH2").upper()
    if mech not in MECHANISMS:
        raise ValueError(f"Unknown OAuth SASL mechanism {mechanism!r}; use XOAUTH2 or OAUTHBEARER.")
    return mech


def xoauth2_message(user: str, token: str) -> bytes:
    """`user=U^Aauth=Bearer T^A^A` (developers.google.com/gmail/imap/xoauth2-protocol)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode("utf-8")


def _saslname(value: str) -> str:
    # RFC 5801 section 4: "," and "=" are escaped in the GS2 authzid.
    return value.replace("=", "=3D").replace(",", "=2C")


def oauthbearer_message(user: str, token: str, host: str = "", port: int = 0) -> bytes:
    """The RFC 7628 3.1 client response: GS2 header, then host/port/auth key-values."""
    parts = [f"n,a={_saslname(user)}," if user else "n,,"]
    if host:
        parts.append(f"host={host}")
    if port:
        parts.append(f"port={port}")
    parts.append(f"auth=Bearer {token}")
    return ("\x01".join(parts) + "\x01\x01").encode("utf-8")


def initial_response(mechanism: str, user: str, token: str, host: str = "", port: int = 0) -> bytes:
    if normalize_mechanism(mechanism) == "OAUTHBEARER":
        return oauthbearer_message(user, token, host, port)
    return xoauth2_message(user, token)


def encode(message: bytes) -> str:
    encoded = base64.b64encode(message).decode("ascii")
    register_secret(encoded)
    return encoded


def error_reply(mechanism: str) -> bytes:
    """What to answer a server's error challenge with, to receive its final verdict."""
    return b"\x01" if normalize_mechanism(mechanism) == "OAUTHBEARER" else b""


def describe_challenge(challenge: bytes | str) -> str:
    """A short text from a server's JSON error challenge (raw or base64), or ''."""
    if isinstance(challenge, str):
        try:
            challenge = base64.b64decode(challenge.strip(), validate=True)
        except (binascii.Error, ValueError):
            return ""
    try:
        data = json.loads(challenge.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ""
    if not isinstance(data, dict):
        return ""
    return ", ".join(f"{k}={v}" for k, v in data.items() if k in ("status", "scope", "schemes"))


def _refused(protocol: str, mechanism: str, user: str, server_text: str, challenge: str, *,
             provider: str = "", port: int = 0) -> AuthError:
    detail = server_text.strip() or "refused"
    # The server's words may say more than "refused" (IMAP off, SMTP AUTH off...).
    from .categorize import refine  # the classifier loads only when a login fails

    category = refine(detail, "invalid_credentials", provider=provider, protocol=protocol.lower(),
                      port=port or None)
    if challenge:
        detail += f" ({challenge})"
    return AuthError(
        f"The {protocol} server refused the OAuth token of {user} with {mechanism}: {detail}",
        category=category,
    )


def imap_login(client, mechanism: str, user: str, token: str, *, host: str = "", port: int = 0,
               provider: str = "") -> None:
    """AUTHENTICATE XOAUTH2 / OAUTHBEARER on an imapclient.IMAPClient. Raises `AuthError`."""
    from imapclient.exceptions import IMAPClientError

    mech = normalize_mechanism(mechanism)
    register_secret(token)
    offered = [c.decode("ascii", "replace").upper() for c in client.capabilities()]
    if f"AUTH={mech}" not in offered:
        others = [c[5:] for c in offered if c.startswith("AUTH=")]
        raise AuthError(
            f"The IMAP server does not offer {mech} (it offers {', '.join(others) or 'no AUTH mechanism'}). "
            "Choose the other OAuth mechanism for this account, or check the server.",
            category="oauth_misconfigured",
        )
    message = initial_response(mech, user, token, host, port)
    seen: dict[str, bytes] = {}

    def respond(challenge: bytes) -> bytes:
        # imaplib has no SASL-IR: the first challenge is the empty "+ ".
        if "sent" not in seen:
            seen["sent"] = message
            return message
        seen["challenge"] = challenge
        return error_reply(mech)

    try:
        client.sasl_login(mech, respond)
    except IMAPClientError as exc:
        text = str(exc)
        if text.startswith(("b'", 'b"')):
            text = text[2:-1]
        raise _refused("IMAP", mech, user, text, describe_challenge(seen.get("challenge", b"")),
                       provider=provider, port=port) from None


async def smtp_login(smtp, mechanism: str, user: str, token: str, *, host: str = "", port: int = 0,
                     provider: str = "") -> None:
    """AUTH XOAUTH2 / OAUTHBEARER on a connected aiosmtplib.SMTP. Raises `AuthError`.

    Sent with `execute_command` rather than aiosmtplib's `auth_xoauth2`, which
    only exists in recent releases and has no OAUTHBEARER.
    """
    mech = normalize_mechanism(mechanism)
    register_secret(token)
    if smtp.is_ehlo_or_helo_needed:
        await smtp.ehlo()
    if mech.lower() not in [m.lower() for m in smtp.server_auth_methods]:
        offered = " ".join(smtp.server_auth_methods).upper() or "no AUTH mechanism"
        raise AuthError(
            f"The SMTP server does not offer AUTH {mech} (it offers {offered}). Choose the other "
            "OAuth mechanism for this account, or check that SMTP AUTH is enabled.",
            category="oauth_misconfigured",
        )
    blob = encode(initial_response(mech, user, token, host, port))
    response = await smtp.execute_command(b"AUTH", mech.encode("ascii"), blob.encode("ascii"))
    challenge = ""
    if response.code == 334:
        challenge = describe_challenge(response.message)
        reply = base64.b64encode(error_reply(mech))
        response = await smtp.execute_command(reply)
    if response.code != 235:
        raise _refused("SMTP", mech, user, f"{response.code} {response.message}", challenge,
                       provider=provider, port=port)
