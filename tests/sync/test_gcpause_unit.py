"""The collector pause of a bulk fetch: counted, and never turning on a collector that was off."""

from __future__ import annotations

import gc

from tamago_tui.backend.gcpause import paused_collection


def test_nested_pauses_resume_collection_only_after_the_last():
    assert gc.isenabled()
    with paused_collection():
        assert not gc.isenabled()
        with paused_collection():  # a second account's sync, say
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    try:
        with paused_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_collection_resumes_after_an_error():
    try:
        with paused_collection():
            raise ValueError("a dropped connection")
    except ValueError:
        pass
    assert gc.isenabled()
