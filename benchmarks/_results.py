"""Results files that several benchmark processes may update at once.

`update(path, change)` holds an exclusive lock on `path + ".lock"`, reads the file as it is now (not as
it was when the process started), applies `change(data) -> data` and replaces the file atomically. Two
runs of `quality.py` or `sequences.py` on different variants therefore keep each other's records.
"""

import contextlib
import fcntl
import json
import os


@contextlib.contextmanager
def locked(path):
    """An exclusive lock on `path + ".lock"` for the `with` block (other processes wait)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def update(path, change, default):
    """Under the lock: `data = change(current contents or default())`, written atomically; returns data."""
    with locked(path):
        data = default()
        if os.path.exists(path):
            with open(path) as f:
                data = json.load(f)
        data = change(data)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, path)
        return data
