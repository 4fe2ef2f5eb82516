"""`ANPR_DATA_DIR` holds personal data (the embedded bus keeps reads and hits, the API store
hits and the audit log): the directory is 0700 and its files 0600 (issue 11, item 6).

`private_umask()` makes everything the process creates private (SQLite creates its `-wal` and
`-shm` files itself, with the process umask); `secure_data_dir` fixes a directory made before.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_umask() -> None:
    """Files 0600 and directories 0700 from now on, for this process."""
    os.umask(0o077)


def secure_data_dir(path: Path) -> None:
    """Create `path` 0700 (parents as the umask says), and make it and the files in it that
    this user owns private."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    uid = os.getuid()
    if path.stat().st_uid == uid:
        path.chmod(DIR_MODE)
    for child in path.iterdir():
        info = child.lstat()
        if info.st_uid != uid or stat.S_ISLNK(info.st_mode):
            continue
        child.chmod(DIR_MODE if stat.S_ISDIR(info.st_mode) else FILE_MODE)
