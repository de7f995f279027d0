"""Writing files so that readers see a whole file or none: temporary name, then rename."""

import os
import tempfile
from pathlib import Path


def atomic_write(path, write):
    """Calls `write(temporary_path)` in `path`'s folder, then renames the result to `path`.

    An interrupted write leaves whatever was at `path` before untouched. The file gets the
    usual permissions (0666 less the umask), not the 0600 of a temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.name)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def atomic_write_text(path, text):
    """Writes `text` to `path` atomically; see `atomic_write`."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
