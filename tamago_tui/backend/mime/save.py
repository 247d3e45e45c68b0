"""Saving one attachment's decoded bytes to a chosen path.

Parts are found again by their path ("1.2", "2#tnef1", "1#uu1"), so nothing
from the first parse needs to stay in memory. MIME parts are decoded and
written chunk by chunk; a message file on disk is memory-mapped.
"""

from __future__ import annotations

import mmap
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import NotFound, UsageError
from ..fsutil import write_error
from . import embedded, tnef, transfer
from .structure import Entity, find_entity, parse_tree

_DERIVED_RE = re.compile(r"^(.*)#(uu|yenc|tnef)(\d+)$")


@contextmanager
def _buffer(raw_or_path):
    if isinstance(raw_or_path, (bytes, bytearray, memoryview)):
        yield bytes(raw_or_path)
        return
    with open(raw_or_path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            yield b""
            return
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            yield mapped


def _chunks(buf, part: str) -> Iterator[bytes]:
    root, _ = parse_tree(buf)
    m = _DERIVED_RE.match(part)
    base = m.group(1) if m else part
    entity = find_entity(root, base)
    if entity is None or (entity.children and not entity.message):
        raise NotFound(f"The message has no attachment at part {part!r}.")
    if not m:
        yield from transfer.iter_decoded(entity.buf, entity.body_start, entity.end, entity.cte)
        return
    kind, index = m.group(2), int(m.group(3))
    yield _derived(entity, kind, index, part)


def _derived(entity: Entity, kind: str, index: int, part: str) -> bytes:
    data = entity.decoded()
    if kind == "tnef":
        files = tnef.read(data).files
        if 1 <= index <= len(files):
            return bytes(files[index - 1].data)
    else:
        _, files = embedded.extract(data)
        matching = [f for f in files if f.kind == kind]
        if 1 <= index <= len(matching):
            return matching[index - 1].data
    raise NotFound(f"The message has no attachment at part {part!r}.")


def read_attachment(raw_or_path, part: str) -> bytes:
    """One attachment's decoded bytes (for small ones; use save_attachment for files)."""
    with _buffer(raw_or_path) as buf:
        return b"".join(_chunks(buf, part))


def save_attachment(raw_or_path, part: str, dest_path, *, overwrite: bool = False) -> int:
    """Write the decoded bytes of the attachment at `part` to exactly `dest_path`.

    `raw_or_path` is the raw message (bytes) or the path of a message file.
    Refuses to replace an existing file unless `overwrite`; never writes
    anywhere but `dest_path` (names from the message are not used here).
    Returns the number of bytes written. Raises NotFound for an unknown part,
    UsageError for a destination that exists or is a directory, and a TamagoError
    ("The disk is full: ...") when writing fails; then no partial file is left
    and an existing destination is unchanged.
    """
    dest = Path(dest_path)
    if dest.is_dir():
        raise UsageError(f"{dest} is a directory; give a file name to save to.")
    if dest.exists() and not overwrite:
        raise UsageError(f"{dest} already exists; choose another name or allow overwriting.")
    with _buffer(raw_or_path) as buf:
        chunks = _chunks(buf, part)
        first = next(chunks, b"")  # find the part (and fail) before creating any file
        # Write beside the destination, then put the finished file in place: a full disk
        # leaves no half-written attachment, and an existing file (with overwrite) intact.
        tmp = dest.parent / f".{dest.name}.{os.getpid()}.part"
        written = 0
        try:
            tmp.unlink(missing_ok=True)  # a leftover of a crash
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(first)
                    written += len(first)
                    for chunk in chunks:
                        fh.write(chunk)
                        written += len(chunk)
                    fh.flush()
                    os.fsync(fh.fileno())
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            _put_in_place(tmp, dest, overwrite)
        except OSError as exc:
            kept = "the existing file is unchanged" if dest.exists() else "nothing was written"
            raise write_error(exc, str(dest), kept=kept) from exc
    return written


def _put_in_place(tmp: Path, dest: Path, overwrite: bool) -> None:
    try:
        if overwrite:
            os.replace(tmp, dest)
            return
        try:
            os.link(tmp, dest)  # atomic, and refuses to replace a file that appeared meanwhile
        except FileExistsError:
            raise UsageError(f"{dest} already exists; choose another name or allow overwriting.") from None
        except OSError:  # a file system without hard links
            if dest.exists():
                raise UsageError(f"{dest} already exists; choose another name or allow overwriting.") from None
            os.replace(tmp, dest)
            return
        tmp.unlink()
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
