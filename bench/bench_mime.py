"""Parse the whole MIME corpus with tamago and with Python's email package; print ratios.

    python bench/bench_mime.py [--rounds N]

Both sides do the work a viewer needs: headers decoded, the readable body found
and decoded, attachment names and sizes. Numbers are measured in the same run;
nothing here is asserted anywhere.
"""

from __future__ import annotations

import argparse
import email
import sys
import time
import warnings
from email import policy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tamago_tui.backend import mime  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "mime"


def tamago_full(raws: list[bytes]) -> int:
    count = 0
    for raw in raws:
        parsed = mime.parse(raw)
        count += len(parsed.text) + len(parsed.attachments)
    return count


def python_full(raws: list[bytes]) -> int:
    count = 0
    for raw in raws:
        try:
            message = email.message_from_bytes(raw, policy=policy.default)
            for name in ("subject", "from", "to", "cc", "date"):
                str(message[name])
            body = message.get_body(("plain", "html"))
            if body is not None:
                count += len(body.get_content())
            for part in message.iter_attachments():
                part.get_filename()
                count += len(part.get_payload(decode=True) or b"")
        except Exception:  # the email package raises on some of the corpus
            count += 1
    return count


def tamago_headers(blocks: list[bytes]) -> int:
    return sum(len(mime.parse_headers(block).subject) for block in blocks)


def python_headers(blocks: list[bytes]) -> int:
    count = 0
    for block in blocks:
        message = email.message_from_bytes(block, policy=policy.default)
        for name in ("subject", "from", "to", "cc", "date", "message-id"):
            try:
                count += len(str(message[name] or ""))
            except Exception:
                count += 1
    return count


def header_block(raw: bytes) -> bytes:
    for sep in (b"\r\n\r\n", b"\n\n"):
        if sep in raw:
            return raw.split(sep, 1)[0] + sep
    return raw


def timed(func, data, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        func(data)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="take the best of N rounds (default 5)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    raws = [p.read_bytes() for p in sorted(CORPUS.rglob("*")) if p.is_file()]
    blocks = [header_block(raw) for raw in raws]
    size = sum(len(r) for r in raws)
    print(f"corpus: {len(raws)} files, {size / 1e6:.1f} MB; best of {args.rounds} rounds")
    for label, ours, theirs, data in (
        ("whole messages", tamago_full, python_full, raws),
        ("header blocks ", tamago_headers, python_headers, blocks),
    ):
        t_ours = timed(ours, data, args.rounds)
        t_theirs = timed(theirs, data, args.rounds)
        print(f"{label}: tamago {t_ours * 1000:8.1f} ms   email {t_theirs * 1000:8.1f} ms   email/tamago = {t_theirs / t_ours:.1f}x")


if __name__ == "__main__":
    main()
