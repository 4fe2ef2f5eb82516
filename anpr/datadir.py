"""`ANPR_DATA_DIR` holds personal data (the embedded bus keeps reads and hits, the API store
hits and the audit log): the directory is 0700 and its files 0600 (issue 11, item 6).

`private_umask()` makes everything the process creates private (SQLite creates its `-wal` and
`-shm` files itself, with the process umask); `secure_data_dir` fixes a directory made before.

`claim_data_dir` keeps a second embedded process off a directory one already serves from: the
embedded bus has no group membership, so two of them would both consume every group (each
matcher matching every read, each notify worker delivering every webhook). The claim is an
`flock` on a file in the directory, released by the kernel however the process ends, so a
killed `anpr run` leaves nothing to clean up. `anpr admin` and `anpr hotlist load` take no
claim: they write beside a running `anpr run` by design.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from anpr.errors import ConfigError

DIR_MODE = 0o700
FILE_MODE = 0o600
CLAIM_FILE = "serving.lock"


def private_umask() -> None:
    """Files 0600 and directories 0700 from now on, for this process."""
    os.umask(0o077)


def secure_data_dir(path: Path) -> None:
    """Create `path` 0700 (parents as the umask says), and make it and the files in it that
    this user owns private; `ConfigError` naming it when that cannot be done, or when this
    user cannot write in it."""
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        uid = os.getuid()
        if path.stat().st_uid == uid:
            path.chmod(DIR_MODE)
        for child in path.iterdir():
            info = child.lstat()
            if info.st_uid != uid or stat.S_ISLNK(info.st_mode):
                continue
            child.chmod(DIR_MODE if stat.S_ISDIR(info.st_mode) else FILE_MODE)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
        raise ConfigError(
            f"the data directory {path} (ANPR_DATA_DIR) cannot be created or made private: "
            f"{exc.strerror or exc}{where}"
        ) from None
    # Another user's directory, or a read-only mount: SQLite would fail later, in a traceback.
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(
            f"the data directory {path} (ANPR_DATA_DIR) is not writable by this user "
            f"(uid {os.getuid()}): give it to this user, or set ANPR_DATA_DIR to one it owns"
        )


@contextlib.contextmanager
def claim_data_dir(path: Path, command: str) -> Iterator[None]:
    """Hold `path` for this process while the block runs; `ConfigError` naming the holder's
    process id when another process holds it."""
    secure_data_dir(path)
    fd = os.open(path / CLAIM_FILE, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            raise ConfigError(
                f"the data directory {path} is in use by another embedded process "
                f"(`{holder}`); stop it first, or give this one another ANPR_DATA_DIR"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"anpr {command}, pid {os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
