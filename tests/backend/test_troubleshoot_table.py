"""The classifier against real wording (every row must pass) and held-out wording (high accuracy)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tamago_tui.backend.troubleshoot import CATEGORIES, PROVIDERS, classify

DATA = Path(__file__).resolve().parent.parent / "data"
CONTEXT_KEYS = ("provider", "protocol", "port", "security", "auth")


def load(name: str) -> list[dict]:
    with open(DATA / name, "rb") as handle:
        return tomllib.load(handle)["case"]


REAL = load("error_strings.toml")
HELD_OUT = load("heldout_wordings.toml")  # batches 1 and 2, used for tuning
BATCH3 = load("heldout_batch3.toml")  # untuned in session 2, used for tuning in session 3
BATCH4 = load("heldout_batch4.toml")  # written blind in session 3, then used for tuning
BATCH5 = load("heldout_batch5.toml")  # written blind in session 3, never used for tuning
# Every batch from 3 on covers every category about the mail server.
SERVER_CATEGORIES = set(CATEGORIES) - {"unknown", "local_storage"}


def run(case: dict):
    return classify(case["text"], **{key: case.get(key) for key in CONTEXT_KEYS})


def misses(cases: list[dict]) -> list[tuple[str, str, str]]:
    """(text, expected, got) for every case the classifier gets wrong."""
    return [(c["text"], c["category"], got) for c in cases if (got := run(c).category) != c["category"]]


def test_the_real_table_is_big_sourced_and_labelled_with_known_categories():
    assert len(REAL) >= 60
    for case in REAL:
        assert case["text"].strip()
        assert case["source"].strip()
        assert case["category"] in CATEGORIES
        assert case.get("provider") in (None, *PROVIDERS)
    covered = {case["category"] for case in REAL}
    # Every category except "unknown" appears in real wording.
    assert covered == set(CATEGORIES) - {"unknown"}


@pytest.mark.parametrize("case", REAL, ids=[f"{i:03d}-{c['category']}" for i, c in enumerate(REAL)])
def test_real_wording(case):
    diagnosis = run(case)
    assert diagnosis.category == case["category"], (case["text"], diagnosis)
    assert 0.0 < diagnosis.confidence <= 1.0
    assert diagnosis.evidence


def test_held_out_wording_accuracy():
    wrong = misses(HELD_OUT)
    accuracy = 1 - len(wrong) / len(HELD_OUT)
    assert len(HELD_OUT) >= 80
    assert accuracy >= 0.9, wrong


@pytest.mark.parametrize(
    ("batch", "floor"),
    [
        # Batch 3 scored 52/56 on first contact (session 2) and was tuned on in session 3.
        pytest.param(BATCH3, 0.95, id="batch3"),
        # Batch 4 scored 48/59 (81%) on first contact (session 3) and was then tuned on.
        pytest.param(BATCH4, 0.9, id="batch4"),
    ],
)
def test_tuned_held_out_batch_accuracy(batch, floor):
    assert len(batch) >= 50
    assert {case["category"] for case in batch} == SERVER_CATEGORIES
    wrong = misses(batch)
    assert 1 - len(wrong) / len(batch) >= floor, wrong


def test_untuned_held_out_batch_accuracy():
    """Batch 5 was scored once on first contact (59/67, 88%) and is never tuned on:
    this floor only guards against regressions; the README reports its score."""
    assert len(BATCH5) >= 50
    assert {case["category"] for case in BATCH5} == SERVER_CATEGORIES
    wrong = misses(BATCH5)
    assert 1 - len(wrong) / len(BATCH5) >= 0.84, wrong


def test_held_out_batches_are_new_wordings():
    """A batch measures nothing with wordings the classifier was already fitted to.
    (Batch 3 predates this check: 4 of its rows are also in the real table.)"""
    fitted = {case["text"] for case in REAL + HELD_OUT}
    batches = [{case["text"] for case in batch} for batch in (BATCH3, BATCH4, BATCH5)]
    assert [len(texts) for texts in batches] == [len(BATCH3), len(BATCH4), len(BATCH5)]
    assert not batches[0] & batches[1] and not batches[0] & batches[2] and not batches[1] & batches[2]
    assert not fitted & (batches[1] | batches[2])


def test_structured_evidence_is_more_confident_than_wording_alone():
    code_and_words = classify("NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.")
    words_only = classify("Plaintext authentication disallowed on non-secure (SSL/TLS) connections.")
    context_only = classify("the connection dropped", port=993, security="none")
    assert code_and_words.category == words_only.category == "tls_required"
    assert code_and_words.confidence > words_only.confidence
    assert context_only.category == "tls_mismatch"
    assert context_only.confidence < words_only.confidence


def test_ambiguity_lowers_confidence():
    clear = classify("535 5.7.139 Authentication unsuccessful, basic authentication is disabled.")
    bare = classify("535 5.7.139 Authentication unsuccessful")
    assert clear.category == "basic_auth_disabled"
    assert bare.confidence < clear.confidence
    assert bare.alternatives


@pytest.mark.parametrize(
    ("text", "protocol"),
    [
        ("A1 OK LOGIN completed", "imap"),
        ("* OK [CAPABILITY IMAP4rev1 SASL-IR] Dovecot ready.", "imap"),
        ("* BYE Logging out", "imap"),
        ("220 smtp.gmail.com ESMTP ready", "smtp"),
        ("250 2.0.0 Ok: queued as 12345", "smtp"),
        ("221 2.0.0 Bye", "smtp"),
    ],
)
def test_ordinary_server_replies_are_not_failures(text, protocol):
    assert classify(text, protocol=protocol).category == "unknown"


def test_nothing_recognisable_is_unknown_with_zero_confidence():
    for text in ("", "Something went wrong.", None, b""):
        diagnosis = classify(text)
        assert diagnosis.category == "unknown"
        assert diagnosis.confidence == 0.0
