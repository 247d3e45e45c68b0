"""Writing files so that a full disk or a crash never loses what was there before.

`atomic_write()` writes a temporary file next to the target, fsyncs it, then
renames it over the target and fsyncs the directory: at every moment the
target is either the old file or the new one, never half of each. A failure
(ENOSPC, a quota, a read-only disk...) removes the temporary file and raises a
`TamagoError` whose message starts with "The disk is full: " when that is the
reason, so every front end says the same clear thing.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from .errors import TamagoError

# No space, over quota, or a file-size limit (RLIMIT_FSIZE): all "the disk is full" to a person.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
KEPT = "the previous version is unchanged"


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


def reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def write_error(
    exc: OSError,
    what: str,
    *,
    kept: str = KEPT,
    error_class: type[TamagoError] = TamagoError,
) -> TamagoError:
    """A person-sized error for a failed write of `what` (e.g. "the config file /x/config.toml")."""
    tail = f"; {kept}." if kept else "."
    if is_disk_full(exc):
        message = f"The disk is full: could not save {what} ({reason(exc)}). Free some space and try again{tail}"
    else:
        message = f"Could not save {what}: {reason(exc)}{tail}"
    return error_class(message)


def atomic_write(
    path: str | os.PathLike,
    data: bytes | str,
    *,
    mode: int = 0o600,
    what: str | None = None,
    error_class: type[TamagoError] = TamagoError,
) -> None:
    """Replace `path` with `data` all at once, or leave it untouched and raise `error_class`."""
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    directory = target.parent
    tmp = directory / f".{target.name}.{os.getpid()}.tmp"
    label = what or str(target)
    kept = KEPT if target.exists() else "nothing was written"
    try:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except FileExistsError:  # a file where a directory should be
            raise NotADirectoryError(errno.ENOTDIR, f"{directory} is not a directory") from None
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.fchmod(fd, mode)
            write_all(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise write_error(exc, label, kept=kept, error_class=error_class) from exc
    fsync_dir(directory)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_dir(directory: Path) -> None:
    """Make a rename durable. Best effort: some file systems cannot fsync a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
