"""SessionPool: a connect that fails while others wait for the same account is their answer too.

One connection per account at a time: a visit asked for while a background scan is
connecting to a dead server waits for the scan. When the scan's connect fails, the
visit gets that failure at once instead of waiting out the same timeout again; a call
made after the failure tries afresh.
"""

from __future__ import annotations

import threading
import time

import pytest

from tamago_tui.backend.errors import NetworkError
from tamago_tui.backend.sessions import SessionPool
from tests.ui.conftest import sample_account


class DeadServer:
    """A connector whose every attempt takes a while and then fails, as a dead server's would."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.attempts = 0
        self.started = threading.Event()

    def __call__(self, services, account):
        self.attempts += 1
        self.started.set()
        time.sleep(self.seconds)
        raise NetworkError(f"{account.imap.host}:{account.imap.port}: connection timed out", category="timeout")


def attempt(pool: SessionPool, account, results: list) -> None:
    try:
        with pool.session(account):
            results.append("connected")
    except NetworkError as exc:
        results.append(exc)


def test_callers_waiting_during_a_failed_connect_share_its_failure(services):
    dead = DeadServer(0.5)
    pool = SessionPool(services, connect=dead)
    account = sample_account()
    results: list = []
    first = threading.Thread(target=attempt, args=(pool, account, results))
    first.start()
    assert dead.started.wait(5)
    waiting = [threading.Thread(target=attempt, args=(pool, account, results)) for _ in range(2)]
    for thread in waiting:
        thread.start()
    for thread in (first, *waiting):
        thread.join(10)

    assert dead.attempts == 1  # the two that waited did not try the dead server again
    assert len(results) == 3 and all(isinstance(r, NetworkError) for r in results)
    assert {(r.message, r.category) for r in results} == {("imap.example.org:993: connection timed out", "timeout")}

    later: list = []
    attempt(pool, account, later)  # asked after the failure: a fresh try
    assert dead.attempts == 2 and isinstance(later[0], NetworkError)


def test_a_success_clears_the_failure(services):
    calls = []

    def flaky(services, account):
        calls.append(1)
        if len(calls) == 1:
            raise NetworkError("refused", category="connection_refused")
        return FakeWire()

    pool = SessionPool(services, connect=flaky)
    account = sample_account()
    with pytest.raises(NetworkError):
        with pool.session(account):
            pass
    with pool.session(account) as wire:
        assert isinstance(wire, FakeWire)
    assert len(calls) == 2


class FakeWire:
    broken = False
    selected = None

    def logout(self):
        pass

    def close(self):
        pass
