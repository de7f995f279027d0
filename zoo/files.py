"""Writing files so that readers see a whole file or none (temporary name, then rename), strict
JSON, a lock that keeps two processes from writing one folder, and files named by their sha256."""

import errno
import hashlib
import json
import math
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path


def check_free_space(path, needed, what):
    """Raises OSError (ENOSPC) when the file system that will hold `path` has fewer than `needed`
    bytes free, naming `what` and both sizes.

    For writers that do not fail cleanly on a full disk: HDF5 (Keras's `.weights.h5`) meets the
    failed write in its own cleanup and brings Python down with a segmentation fault, where a
    check beforehand gives an error the caller can read. The disk may still fill during the
    write (another process): `atomic_write` then keeps the previous file, without the message.
    """
    folder = Path(path).parent
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise OSError(errno.ENOSPC, f"Not enough free space in {folder} for {what}: about {needed / 1e6:.1f} MB needed, {free / 1e6:.1f} MB free", str(path))


def _writer_tag():
    """8 hex digits naming this machine's boot and this process's pid namespace, in which a pid
    means one process; None where /proc does not say (macOS, say)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid")
    except OSError:
        return None
    return hashlib.sha256(f"{boot}:{namespace.st_dev}:{namespace.st_ino}".encode()).hexdigest()[:8]


# Read once: a process never changes machine or pid namespace.
WRITER_TAG = _writer_tag()
# How a temporary names its writer: `<tag>-<pid>` (`WRITER_TAG`), or `<pid>` alone where there is
# no tag and in the names of versions before the tag.
WRITER = r"(?:(?P<tag>[0-9a-f]{8})-)?(?P<pid>\d+)"


def writer_mark(pid=None):
    """The mark of writer `pid` (default: this process) on this machine and in this pid namespace,
    as temporaries carry it in their names (`WRITER`)."""
    pid = os.getpid() if pid is None else pid
    return str(pid) if WRITER_TAG is None else f"{WRITER_TAG}-{pid}"


def left_by_ended_writer(mark):
    """Whether a temporary named with `mark` (`WRITER`) was left by a process that has ended, so
    may be deleted. A pid means one process only on one machine and in one pid namespace: a mark
    with another tag (another machine's or container's writer, in a shared folder) is never judged
    here, and its own side cleans it up (so one left by a container that is gone, or by a machine
    booted since, stays until deleted by hand). A mark without a tag is judged by its pid alone."""
    found = re.fullmatch(WRITER, mark)
    if not found or found["tag"] not in (None, WRITER_TAG):
        return False
    return not process_alive(int(found["pid"]))


# `atomic_write`'s temporary files: `.<name>.<mark>.<random>.<name>`, ending in the file's own name
# (Keras and PIL choose the format by it), with the writer's mark (`WRITER`) to tell a killed writer's file.
TEMPORARY = re.compile(rf"\.(?P<name>.+)\.(?P<mark>{WRITER})\.[^.]+\.(?P=name)")


def atomic_write(path, write):
    """Calls `write(temporary_path)` in `path`'s folder, then renames the result to `path`.

    An interrupted write leaves whatever was at `path` before untouched. A process killed
    mid-write (SIGKILL) leaves its temporary file (`TEMPORARY`, named with its `writer_mark`), which
    `remove_stale_temporaries` deletes. The file gets the usual permissions (0666 less the
    umask), not the 0600 of a temporary file.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{writer_mark()}.", suffix=f".{path.name}")
    except OSError as error:
        raise _naming(path, error) from None
    os.close(fd)
    try:
        try:
            write(tmp)
        except OSError as error:  # a full disk, say: name the file asked for, not its temporary twin
            raise _naming(path, error) from error
        os.chmod(tmp, 0o666 & ~current_umask())
        try:
            os.replace(tmp, path)
        except OSError as error:
            raise _naming(path, error) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def temporary_folder(folder, name):
    """A `tempfile.TemporaryDirectory` in `folder` for scratch work, named as `atomic_write` names
    its temporary files (`TEMPORARY`, with `name`): a process killed while it works leaves it for
    `remove_stale_temporaries`."""
    return tempfile.TemporaryDirectory(dir=folder, prefix=f".{name}.{writer_mark()}.", suffix=f".{name}")


def remove_stale_temporaries(folder):
    """Deletes what processes killed midway left in `folder` (not below it): the temporary files of
    `atomic_write` and folders of `temporary_folder`, named `TEMPORARY` by a writer that has ended
    (`left_by_ended_writer`). Those of writers still at work are kept, and nothing else is touched.

    In a folder that other machines or containers write too (a shared cache, a network file
    system), their temporaries carry another tag and are kept, whatever their pid: each side
    cleans up its own. Temporaries without a tag (written where /proc is missing, or by versions
    before the tag) are judged by their pid alone, on this machine, in this pid namespace.
    """
    for path in Path(folder).glob(".*"):
        found = TEMPORARY.fullmatch(path.name)
        if not found or path.is_symlink() or not left_by_ended_writer(found["mark"]):
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _naming(path, error):
    """`error` again, naming the file asked for instead of the temporary one beside it."""
    if error.errno is None:  # raised without an errno (h5py, say): its message is all there is
        return OSError(f"Cannot write {path}: {error}")
    return type(error)(error.errno, f"Cannot write {path}: {error.strerror}")


def check_output_file(path, option="-o"):
    """Raises, before any work, when `path` cannot become a file: it is a folder, or a folder on
    its way is a file. (A missing folder is fine: `atomic_write` makes it.) `option` names the
    setting in the message."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{option} {path} is a folder; give a file name in it.")
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise NotADirectoryError(f"{option} {path}: {parent} is a file, not a folder.")
            return


def check_regular_file(path):
    """Returns `path`; raises OSError naming it when it is not a file to read: a folder, a named
    pipe (reading one waits for a writer for ever, so it is opened without waiting and refused), a
    socket or device, a broken link or a loop of links, or a file this user may not read.
    apps/node/sample.js's readRegularFile says the same, in the same words."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise type(error)(_unreadable(path, error)) from None
    try:
        mode = os.fstat(fd).st_mode
    finally:
        os.close(fd)
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        raise (IsADirectoryError if stat.S_ISDIR(mode) else OSError)(f"{path} is {kind}, not a file.")
    return path


def _unreadable(path, error):
    """Why `path` could not be opened (`error`), in words."""
    if error.errno == errno.ENOENT and os.path.islink(path):
        return f"{path} is a link to {os.readlink(path)}, which does not exist."
    reasons = {errno.ENOENT: "does not exist", errno.ELOOP: "is a loop of links, not a file", errno.ENXIO: "is a socket, not a file", errno.EACCES: "cannot be read: permission denied"}
    return f"{path} {reasons.get(error.errno, f'cannot be read: {error.strerror}')}."


def atomic_write_text(path, text):
    """Writes `text` to `path` atomically; see `atomic_write`."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def sha256(path, chunk_size=1 << 20):
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def process_alive(pid):
    """Whether a process `pid` runs on this machine, in this pid namespace (see `left_by_ended_writer`)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # OverflowError: beyond any pid the system gives
        return False
    except PermissionError:  # another user's process
        return True
    return True


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def json_ready(value):
    """`value` with every NaN or infinite float (Python or numpy) replaced by None, numpy scalars
    and arrays made plain: what strict JSON (RFC 8259, no NaN or Infinity) can hold."""
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy scalars and arrays
        return json_ready(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(value, indent=2):
    """Strict JSON text of `value` (non-finite numbers become null; see `json_ready`), newline-terminated."""
    return json.dumps(json_ready(value), indent=indent, allow_nan=False) + "\n"


def atomic_write_json(path, value, indent=2):
    """Writes `value` as strict JSON to `path` atomically; see `to_json` and `atomic_write`."""
    return atomic_write_text(path, to_json(value, indent))


def load_json(path):
    """Parses the JSON file at `path` strictly: NaN and Infinity (which JSON does not have, and
    other languages' parsers refuse) are errors; a ValueError names the file."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    try:
        return json.loads(Path(path).read_text(), parse_constant=refuse)
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None


class LeftAside(OSError):
    """`exchange` by renames could not finish: what was at `second` is left at `aside`
    (`.<second's name>.exchange-<mark>` beside `second`, the mark naming this process as `WRITER`
    does, so that a clean-up can tell one left by a process that has ended). With `swapped`,
    `second` holds what was `first` (the last rename failed); without, `first` is still where it
    was and nothing is at `second` (putting `first` there failed, and so did moving what was
    there back)."""

    aside = None
    swapped = True


def exchange(first, second):
    """Swaps two paths in one step where the system allows it (Linux `renameat2(RENAME_EXCHANGE)`),
    so a reader always finds one whole folder at either path; elsewhere three renames, through a
    third name: should the second fail, `second` is moved back from that name (should that fail
    too, `LeftAside`, not `swapped`, names where it is); should the last fail, `second` holds what
    was `first` and `LeftAside` names where the old `second` is. Both paths must exist."""
    first, second = Path(first), Path(second)
    if _renameat2_exchange(first, second):
        return
    aside = second.with_name(f".{second.name}.exchange-{writer_mark()}")
    os.rename(second, aside)
    try:
        os.rename(first, second)
    except OSError as error:
        try:
            os.rename(aside, second)
        except OSError as back:
            left = LeftAside(error.errno, f"{first} could not be moved to {second} ({error.strerror}), nor what was at {second} moved back "
                                          f"there ({back.strerror}); it is left at {aside}")
            left.aside, left.swapped = aside, False
            raise left from error
        raise
    try:
        os.rename(aside, first)
    except OSError as error:
        left = LeftAside(error.errno, f"{second} now holds what was {first}, but what was at {second} could not be moved to {first} "
                                      f"({error.strerror}); it is left at {aside}")
        left.aside = aside
        raise left from error


def _renameat2_exchange(first, second):
    """True when the kernel swapped the two paths atomically; False where renameat2 is missing."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):  # old kernel or a filesystem without it
        return False
    raise OSError(error, os.strerror(error), str(second))


class FolderInUse(OSError):
    """Another process holds the lock of a folder (e.g. a training run writing to it)."""


class FolderLock:
    """An exclusive lock on a folder for one process: `with FolderLock("runs/dcgan", "training"): ...`.

    The lock is `fcntl.flock` on `<folder>/.lock`, which holds the owner's pid and start time for
    messages. The kernel drops the lock when its process ends, however it ends (SIGKILL too), so
    a lock file left by a dead process is simply taken over. A second holder fails at once with
    `FolderInUse` naming the folder and the holder's pid.
    """

    NAME = ".lock"

    def __init__(self, folder, purpose="in use"):
        self.folder = Path(folder)
        self.purpose = purpose
        self._file = None

    def __enter__(self):
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / self.NAME
        handle = open(path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise FolderInUse(
                f"{self.folder} is in use by another process ({holder}); wait for it to finish or use another folder."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, {self.purpose} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc):
        import fcntl

        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        return False
