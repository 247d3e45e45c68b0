"""The header index writer, in a child process of its own.

A full header sync is two CPU-bound halves: parsing FETCH responses and
writing rows to SQLite. In one thread they add up; in two threads they fight
over the GIL (sqlite3 releases it for every row it steps, then waits to get it
back), which measured slower than one thread. In a child process the writes
run on another core: the parent parses chunk n+1 while the child commits
chunk n. Each chunk is still one transaction that moves `synced_uid`, so a
crash of either process leaves the index consistent; when the child falls
behind, the chunks already waiting share one transaction.

A first sync (a big load into a small index) builds the contact-matching
address index once at the end instead of row by row
(HeaderIndex.defer_address_index).

Frames on the pipes are a 4-byte length and a pickle, between this process
and its own child only.
"""

from __future__ import annotations

import gc
import os
import pickle
import select
import struct
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from .errors import StoreError
from .index import FolderState, Header, HeaderIndex

_LENGTH = struct.Struct("!I")


def _send(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)


def _receive(stream):
    (size,) = _LENGTH.unpack(_read_exact(stream, _LENGTH.size))
    return pickle.loads(_read_exact(stream, size))


def _read_exact(stream, size: int) -> bytes | bytearray:
    """`size` bytes; an unbuffered stream may hand them over in parts."""
    data = stream.read(size) or b""
    if len(data) < size:
        data = bytearray(data)
        while len(data) < size:
            more = stream.read(size - len(data))
            if not more:
                raise EOFError
            data += more
    return data


class WriterProcess:
    """`put()` chunks of Headers, `close()` for the count stored. Same contract as
    HeaderIndex.store_headers, one transaction per chunk, on another core."""

    def __init__(self, path: Path, state: FolderState, own_addresses=(), expected: int = 0):
        """`expected`: how many messages are coming (a big load into a small index
        builds the address index once at the end; see HeaderIndex.defer_address_index)."""
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tamago_tui.backend.index_writer"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )
        self.closed = False
        try:  # room for two chunks in the pipe, so parsing goes on while the writer commits
            import fcntl

            fcntl.fcntl(self.process.stdin.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
        except (ImportError, AttributeError, OSError):
            pass  # not Linux, or over the system's limit: the default pipe works, just less smoothly
        self._write((str(path), asdict(state), tuple(own_addresses), expected))

    def _write(self, obj) -> None:
        try:
            _send(self.process.stdin, obj)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            self._finish()  # raises the writer's own error
            raise StoreError("The index writer stopped unexpectedly.")

    def put(self, headers: list[Header], advance_to: int | None) -> None:
        self._write(([tuple(h) for h in headers], advance_to))  # plain tuples pickle at twice the speed

    def close(self) -> int:
        if not self.closed:
            try:
                _send(self.process.stdin, None)
                self.process.stdin.flush()
            except (BrokenPipeError, OSError):
                pass
        return self._finish()

    def _finish(self) -> int:
        self.closed = True
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            outcome = _receive(self.process.stdout)
        except (EOFError, pickle.UnpicklingError):
            outcome = ("error", "the index writer exited without an answer")
        self.process.wait()
        self.process.stdout.close()
        if outcome[0] != "ok":
            raise StoreError(f"Writing the header index failed: {outcome[1]}")
        return outcome[1]


GROUP_CHUNKS = 4  # at most this many chunks share a transaction when the writer falls behind


def _next_group(inp) -> tuple[list, int | None, bool]:
    """The next chunk, joined by the chunks already waiting behind it, if any: one
    transaction for several chunks costs less when this process is the slower one.
    (rows, advance_to, finished); finished when the parent said so or went away."""
    rows: list = []
    advance_to = None
    for count in range(GROUP_CHUNKS):
        if count and not _waiting(inp):
            break  # nothing waiting: commit what there is now
        try:
            item = _receive(inp)
        except EOFError:
            item = None  # the parent went away: what was committed stays
        if item is None:
            return rows, advance_to, True
        rows += item[0]
        if item[1] is not None:
            advance_to = item[1] if advance_to is None else max(advance_to, item[1])
    return rows, advance_to, False


def _waiting(inp) -> bool:
    try:
        return bool(select.select([inp], [], [], 0)[0])
    except (OSError, ValueError):
        return False  # a pipe select() cannot watch (not on this system): chunk by chunk


def serve(inp, out) -> None:
    # Rows are plain tuples that never form cycles, and this process lives for one
    # folder: the cyclic collector would only rescan the growing heap, chunk after chunk.
    gc.disable()
    stored = 0
    try:
        path, state, own, expected = _receive(inp)
        from .store import Store

        store = Store(path)
        # Fewer, larger WAL checkpoints while a whole mailbox streams in.
        store.db.execute("PRAGMA wal_autocheckpoint = 10000")
        index = HeaderIndex(store)
        state = FolderState(**state)
        try:
            deferred = index.defer_address_index(expected)
            try:
                finished = False
                while not finished:
                    rows, advance_to, finished = _next_group(inp)
                    if rows or advance_to is not None:
                        headers = [Header._make(row) for row in rows]
                        stored += index.store_headers(state, headers, own_addresses=own, advance_to=advance_to)
            finally:
                if deferred:
                    index.restore_address_index()
        finally:
            store.close()
        _send(out, ("ok", stored))
    except BaseException as exc:  # reported to the parent, which raises it as a StoreError
        _send(out, ("error", f"{type(exc).__name__}: {exc}"))
    out.flush()


if __name__ == "__main__":
    # Unbuffered input: select() in _next_group must see every byte not yet read.
    serve(sys.stdin.buffer.raw, sys.stdout.buffer)
    # The answer is out and the database closed: skip tearing down the interpreter,
    # whose final collection of everything this process built costs a fifth of a second.
    os._exit(0)
