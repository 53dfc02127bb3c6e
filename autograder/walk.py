"""Walking and removing folder trees a submission made, without recursion and within limits.

Python 3.11's ``os.walk`` and ``shutil.rmtree`` recurse once per folder level: a chain of
1,100 nested folders (an upload, or what a worker builds in its scratch folder) raises
``RecursionError``, and a path longer than ``PATH_MAX`` cannot even be named. Here:

* ``walk`` is iterative, never follows links, and stops at a depth, an entry count and a
  path length; what it did not visit is reported (``Walker.limit``, a ``WalkLimit``) for
  the caller to turn into a message, never raised from the middle of the walk;
* ``remove_tree`` removes any tree however deep or long its paths, working relative to
  directory descriptors with a constant number of them open; it never raises and falls
  back to ``rm -rf --one-file-system`` when it cannot finish.
"""
from __future__ import annotations

import os
import stat
import subprocess
from typing import Iterator

MAX_DEPTH = 64
MAX_ENTRIES = 100_000
MAX_PATH = 4000  # bytes: every path yielded can be passed to open(), stat() and friends (PATH_MAX is 4096)


class WalkLimit(Exception):
    """Part of a tree was not walked: it is deeper, larger or has longer paths than allowed."""

    def __init__(self, reason: str, path: str, limit: int) -> None:
        self.reason = reason  # "depth" | "entries" | "path length"
        self.path = path  # the first folder (or entry) not walked
        self.limit = limit
        super().__init__(self.describe())

    def describe(self, root: str | None = None) -> str:
        """A sentence for a person: what was skipped and why."""
        where = self.path
        if root is not None:
            try:
                where = os.path.relpath(self.path, root)
            except ValueError:
                pass
        if len(where) > 120:
            where = where[:60] + "..." + where[-57:]
        if self.reason == "depth":
            return f"folders nested more than {self.limit} deep were skipped (the first: {where})"
        if self.reason == "entries":
            return f"only the first {self.limit} files and folders were looked at (the rest, from {where}, were skipped)"
        return f"folders whose paths are longer than {self.limit} bytes were skipped (the first: {where})"


class Walker:
    """``for folder, dirs, files in walk(root): ...``, like ``os.walk(root, followlinks=False)``.

    Top-down: ``dirs`` may be pruned in place. ``dirs`` holds real folders only; links (to
    folders too), files and everything else are in ``files``. After the loop ``limit`` is the
    first ``WalkLimit`` met (or None), ``limits`` the first of each kind, and ``truncated``
    says whether anything was skipped.
    Folders that cannot be listed are skipped silently, as ``os.walk`` does.
    """

    def __init__(self, root: str | os.PathLike, max_depth: int = MAX_DEPTH, max_entries: int = MAX_ENTRIES, max_path: int = MAX_PATH) -> None:
        self.root = os.fspath(root)
        self.max_depth = max_depth
        self.max_entries = max_entries
        self.max_path = max_path
        self.limits: list[WalkLimit] = []
        self.entries = 0

    @property
    def limit(self) -> WalkLimit | None:
        return self.limits[0] if self.limits else None

    @property
    def truncated(self) -> bool:
        return bool(self.limits)

    def describe(self) -> str:
        """What was not walked, in one sentence ('' when everything was)."""
        return "; ".join(limit.describe(self.root) for limit in self.limits)

    def _hit(self, reason: str, path: str, limit: int) -> None:
        if all(known.reason != reason for known in self.limits):
            self.limits.append(WalkLimit(reason, path, limit))

    def __iter__(self) -> Iterator[tuple[str, list[str], list[str]]]:
        stack: list[tuple[str, int]] = [(self.root, 0)]
        while stack:
            folder, depth = stack.pop()
            dirs: list[str] = []
            files: list[str] = []
            try:
                scanner = os.scandir(folder)
            except OSError:
                continue
            with scanner:
                for entry in scanner:
                    if self.entries >= self.max_entries:
                        self._hit("entries", entry.path, self.max_entries)
                        stack.clear()
                        break
                    self.entries += 1
                    try:
                        is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        is_dir = False
                    (dirs if is_dir else files).append(entry.name)
            yield folder, dirs, files
            children = []
            for name in dirs:
                path = os.path.join(folder, name)
                if depth + 1 > self.max_depth:
                    self._hit("depth", path, self.max_depth)
                elif len(os.fsencode(path)) > self.max_path:
                    self._hit("path length", path, self.max_path)
                else:
                    children.append((path, depth + 1))
            stack.extend(reversed(children))  # visited in the order of ``dirs``


def walk(root: str | os.PathLike, max_depth: int = MAX_DEPTH, max_entries: int = MAX_ENTRIES, max_path: int = MAX_PATH) -> Walker:
    """An iterative, bounded ``os.walk`` (see ``Walker``); check ``.limit`` after the loop."""
    return Walker(root, max_depth, max_entries, max_path)


def walk_strict(root: str | os.PathLike, max_depth: int = MAX_DEPTH, max_entries: int = MAX_ENTRIES, max_path: int = MAX_PATH) -> Iterator[tuple[str, list[str], list[str]]]:
    """Like ``walk``, but raise the ``WalkLimit`` (after yielding what was walked) when one was met."""
    walker = Walker(root, max_depth, max_entries, max_path)
    yield from walker
    if walker.limit is not None:
        raise walker.limit


# ----------------------------------------------------------------------------- removal

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0)


def remove_tree(path: str | os.PathLike) -> bool:
    """Remove ``path`` and everything below it; True when it is gone. Never raises.

    A link is removed, never followed. Folders are entered by descriptor (``openat`` with
    ``O_NOFOLLOW``) and left by ``..``, checked against the folder that was entered, so at
    most two descriptors are open whatever the depth, and no path longer than the root's
    is ever used. Folders on another filesystem are not entered. If anything is left (a
    folder it may not enter, a race), ``rm -rf --one-file-system`` gets a try.
    """
    try:
        path = os.fspath(path)
        _remove_by_fd(path)
    except Exception:
        pass
    if not _lexists(path):
        return True
    try:
        subprocess.run(["rm", "-rf", "--one-file-system", "--", path], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600, check=False)
    except Exception:
        pass
    return not _lexists(path)


def _lexists(path) -> bool:
    try:
        os.lstat(path)
        return True
    except FileNotFoundError:
        return False
    except Exception:
        return True


def _remove_by_fd(path: str) -> None:
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(path)
        return
    fd = os.open(path, _DIR_FLAGS)
    try:
        top = os.fstat(fd)
        # Each level: [name in its parent, (dev, ino) of the parent, sub-folders still to remove, looked again].
        frames: list[list] = [["", (0, 0), _clear_files(fd, top), False]]
        while frames:
            frame = frames[-1]
            name, parent_id, pending, _ = frame
            if pending:
                child = pending.pop()
                try:
                    child_fd = os.open(child, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    continue
                except OSError:
                    _unlink_at(child, fd)  # no longer a folder (or a link now): remove the entry itself
                    continue
                child_info = os.fstat(child_fd)
                if child_info.st_dev != top.st_dev:
                    os.close(child_fd)  # another filesystem mounted here: never entered
                    continue
                here = os.fstat(fd)
                os.close(fd)
                fd = child_fd
                frames.append([child, (here.st_dev, here.st_ino), _clear_files(fd, child_info), False])
                continue
            if not frame[3]:
                # All below is gone (or could not go): one more look, for entries made meanwhile.
                frame[3] = True
                frame[2] = _clear_files(fd, os.fstat(fd))
                continue
            if len(frames) == 1:
                break
            parent_fd = os.open("..", _DIR_FLAGS, dir_fd=fd)
            parent = os.fstat(parent_fd)
            if (parent.st_dev, parent.st_ino) != parent_id:
                os.close(parent_fd)
                raise OSError("a folder was moved during removal")
            os.close(fd)
            fd = parent_fd
            frames.pop()
            try:
                os.rmdir(name, dir_fd=fd)
            except FileNotFoundError:
                pass
            except OSError:
                pass  # left for the fallback
    finally:
        os.close(fd)
    os.rmdir(path)


def _clear_files(fd: int, info: os.stat_result) -> list[str]:
    """Unlink every non-folder in the folder ``fd``; return the names of its sub-folders."""
    if info.st_uid == os.geteuid() and (info.st_mode & 0o700) != 0o700:
        try:
            os.fchmod(fd, 0o700)
        except OSError:
            pass
    folders = []
    with os.scandir(fd) as entries:
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                folders.append(entry.name)
            else:
                _unlink_at(entry.name, fd)
    return folders


def _unlink_at(name: str, fd: int) -> None:
    try:
        os.unlink(name, dir_fd=fd)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        pass
    except OSError:
        pass
