"""The test mail users and their folders, shared by the Dovecot and SMTP servers.

Passwords are test constants for throw-away servers on loopback, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

DOMAIN = "example.test"

# Folders of an ordinary user, with their SPECIAL-USE flag (INBOX is always there).
STANDARD_FOLDERS: dict[str, str] = {
    "Sent": "\\Sent",
    "Drafts": "\\Drafts",
    "Trash": "\\Trash",
    "Archive": "\\Archive",
    "Junk": "\\Junk",
}

# Folders of a Gmail-like user; "[Gmail]" itself is a parent that cannot be selected.
GMAIL_FOLDERS: dict[str, str] = {
    "[Gmail]/All Mail": "\\All",
    "[Gmail]/Sent Mail": "\\Sent",
    "[Gmail]/Drafts": "\\Drafts",
    "[Gmail]/Important": "\\Important",
    "[Gmail]/Starred": "\\Flagged",
    "[Gmail]/Spam": "\\Junk",
    "[Gmail]/Trash": "\\Trash",
}

KINDS = ("standard", "gmail")


@dataclass(frozen=True)
class MailUser:
    """A login on the test servers. `address` is both the login name and the mail address."""

    address: str
    password: str
    kind: str = "standard"  # "standard" or "gmail"

    @property
    def login(self) -> str:
        return self.address

    @property
    def folders(self) -> dict[str, str]:
        """Folder name -> SPECIAL-USE flag, without INBOX."""
        return dict(GMAIL_FOLDERS if self.kind == "gmail" else STANDARD_FOLDERS)


ALICE = MailUser(f"alice@{DOMAIN}", "alice-test-password")
BOB = MailUser(f"bob@{DOMAIN}", "bob-test-password")
GMAIL = MailUser(f"gmail@{DOMAIN}", "gmail-test-password", kind="gmail")
DEFAULT_USERS = (ALICE, BOB, GMAIL)
