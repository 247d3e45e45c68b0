"""One error hierarchy. Library exceptions are translated into these at the edge.

Every error carries a troubleshooting category (see troubleshoot.py for the
vocabulary) so that whatever front end shows it can offer the matching guide.
"""

from __future__ import annotations


class TamagoError(Exception):
    """Base class. `message` is for people; `category` picks a troubleshooting guide."""

    category = "unknown"
    title = "Error"

    def __init__(self, message: str, *, category: str | None = None, title: str | None = None):
        super().__init__(message)
        self.message = message
        if category is not None:
            self.category = category
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return self.message


class UsageError(TamagoError):
    title = "Invalid input"


class ConfigError(TamagoError):
    title = "Configuration problem"


class StoreError(TamagoError):
    title = "Local database problem"
    category = "local_storage"


class SecretError(TamagoError):
    title = "Password storage problem"


class NetworkError(TamagoError):
    """A connection, TLS, DNS or protocol failure talking to a mail server."""

    title = "Connection problem"


class AuthError(NetworkError):
    title = "Login failed"
    category = "invalid_credentials"


class NotFound(TamagoError):
    title = "Not found"


class OAuthError(TamagoError):
    """An OAuth 2.0 sign-in or token failure.

    `error` is the OAuth error code (`invalid_grant`, `access_denied`, ...) when the
    server sent one. `needs_sign_in` means retrying cannot help: the stored grant is
    gone or was refused, and the person must run the sign-in again.
    """

    title = "OAuth sign-in problem"
    category = "oauth_misconfigured"

    def __init__(
        self,
        message: str,
        *,
        category: str | None = None,
        title: str | None = None,
        error: str = "",
        needs_sign_in: bool = False,
    ):
        super().__init__(message, category=category, title=title)
        self.error = error
        self.needs_sign_in = needs_sign_in
