"""Fixtures shared by the real-server integration tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def me(dovecot):
    """The mailbox tamago sends from and reads (a standard Dovecot user)."""
    return dovecot.add_user("standard")


@pytest.fixture
def friend(dovecot):
    """Another mailbox on the same Dovecot, to send to."""
    return dovecot.add_user("standard")
