"""The worker's view of the filesystem: an allowlist, built in a private mount namespace.

As root, a freshly forked worker mounts an empty tmpfs as its new root and binds into it,
read-only, only what it needs: the interpreter and its libraries, a few files of /etc and its
copy of the submission; its scratch folder read-write; fresh, private /tmp, /var/tmp and
/dev/shm; a /dev with the harmless character devices; and a /proc that shows only its own
processes. Everything else on the host (the project, other users' files, other graders'
folders, the host's world-writable folders) does not exist in that view, and whatever the
worker writes outside its scratch folder vanishes with its namespace.
"""
from __future__ import annotations

import ctypes
import os
import sys
import sysconfig

from autograder.sandbox.hardening import MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REMOUNT, libc

# The system's libraries and programs; on merged-/usr systems the top-level ones are links.
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What libc, matplotlib and Python read from /etc; nothing here is secret on any host.
ETC_PATHS = (
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/passwd",
    "/etc/group", "/etc/nsswitch.conf", "/etc/fonts", "/etc/mime.types", "/etc/hosts",
)
DEVICES = ("null", "zero", "full", "random", "urandom")
# Private, empty and small: their pages are memory that no rlimit of the worker counts.
PRIVATE_TMPFS = {"/tmp": b"size=32m,mode=1777", "/var/tmp": b"size=8m,mode=1777", "/dev/shm": b"size=16m,mode=1777"}


class ViewError(OSError):
    """The kernel refused a step of building the view; the worker then keeps the host's view."""


def visible_paths(sys_path: list[str]) -> list[str]:
    """Everything the worker may read, as real paths (links at the top level kept as links)."""
    paths = stdlib_and_prefix(sys_path)
    links = sorted({link for name in (sys.prefix, *sys.path) if name for link in [_first_link(name)] if link})
    return [p for p in SYSTEM_PATHS + ETC_PATHS if os.path.lexists(p)] + [p for p in paths if not _under_any(p, SYSTEM_PATHS)] + links


def _first_link(path: str) -> str | None:
    """The first link on the way to ``path`` (a project's ``.venv`` pointing at the real venv):
    the modules imported through it keep that path in their ``__file__``, so the view has it too."""
    current = "/"
    for part in os.path.abspath(path).strip("/").split("/"):
        current = os.path.join(current, part)
        if os.path.islink(current):
            return None if _under_any(current, SYSTEM_PATHS) else current
    return None


def stdlib_and_prefix(sys_path: list[str]) -> list[str]:
    """The interpreter's own folders: its prefixes, its standard library and its import path."""
    names = [sys.prefix, sys.base_prefix, sysconfig.get_paths()["stdlib"], *sys_path]
    out: list[str] = []
    for name in names:
        real = os.path.realpath(name)
        if os.path.exists(real) and not _under_any(real, out):
            out = [p for p in out if not _under_any(p, [real])] + [real]
    return out


def _under_any(path: str, roots) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def enter(new_root: str, visible: list[str], hidden_files: list[str], read_only: list[str], writable: list[str]) -> None:
    """Build the view at ``new_root`` (an empty folder) and chroot into it. Needs root and a
    private mount namespace already unshared; raises ViewError on any refusal.

    ``read_only`` and ``writable`` are folders bound at their own paths (the submission copy,
    the scratch folder); ``hidden_files`` are files inside visible folders that stay unreadable.
    """
    os.umask(0o022)  # the folders made on the way must be traversable by the sandbox user
    # Order matters: a mount hides what was made beneath its point before it, so the private
    # folders come first and the bound paths (some of which may lie under /tmp) after them.
    _mount(b"tmpfs", new_root, b"tmpfs", MS_NOSUID | MS_NODEV, b"size=4m,mode=0755")
    dev = _inside(new_root, "/dev")
    os.makedirs(dev, exist_ok=True)
    _mount(b"tmpfs", dev, b"tmpfs", MS_NOSUID | MS_NOEXEC, b"size=64k,mode=0755")
    for name in DEVICES:
        _bind(f"/dev/{name}", os.path.join(dev, name), read_only=False, devices=True)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join(dev, name))
    for path, options in PRIVATE_TMPFS.items():
        target = _inside(new_root, path)
        os.makedirs(target, exist_ok=True)
        _mount(b"tmpfs", target, b"tmpfs", MS_NOSUID | MS_NODEV, options)
    for path in visible:
        if os.path.islink(path):
            os.makedirs(os.path.dirname(_inside(new_root, path)), exist_ok=True)
            os.symlink(os.readlink(path), _inside(new_root, path))
        else:
            _bind(path, _inside(new_root, path), read_only=True)
    for path in hidden_files:
        target = _inside(new_root, path)
        if os.path.isfile(target):
            _bind("/dev/null", target, read_only=True)
    for path in read_only:
        _bind(path, _inside(new_root, path), read_only=True)
    for path in writable:
        _bind(path, _inside(new_root, path), read_only=False)
    os.makedirs(_inside(new_root, "/proc"), exist_ok=True)


def mount_proc(new_root: str) -> None:
    """A /proc of this process's PID namespace, where other users' processes are invisible anyway."""
    target = _inside(new_root, "/proc")
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    try:
        _mount(b"proc", target, b"proc", flags, b"hidepid=invisible")
    except ViewError:
        _mount(b"proc", target, b"proc", flags, b"hidepid=2")


def seal(new_root: str) -> None:
    """Make the view's own root read-only and move into it for good."""
    _mount(None, new_root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, None)
    os.chdir(new_root)
    os.chroot(".")
    os.chdir("/")


def _inside(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def _bind(source: str, target: str, read_only: bool, devices: bool = False) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            with open(target, "wb"):
                pass
    _mount(source.encode(), target, None, MS_BIND, None)
    flags = MS_REMOUNT | MS_BIND | MS_NOSUID | (0 if devices else MS_NODEV) | (MS_RDONLY if read_only else 0)
    _mount(None, target, None, flags, None)


def _mount(source: bytes | None, target: str, fstype: bytes | None, flags: int, data: bytes | None) -> None:
    if libc.mount(source, target.encode(), fstype, flags, data) != 0:
        err = ctypes.get_errno()
        raise ViewError(err, f"mount {target}: {os.strerror(err)}")


def carve(roots: list[str], hidden: list[str]) -> list[str]:
    """``roots`` with the ``hidden`` files cut out, as a list of paths to allow one by one.

    For an allowlist that can only grant whole subtrees (Landlock): a root that holds a hidden
    file is replaced by its entries, down the path to the file, without the file itself.
    """
    out: list[str] = []
    stack = list(roots)
    while stack:
        path = stack.pop()
        inside = [h for h in hidden if h.startswith(path.rstrip("/") + "/")]
        if path in hidden:
            continue
        if not inside or not os.path.isdir(path) or os.path.islink(path):
            out.append(path)
            continue
        try:
            stack += [os.path.join(path, name) for name in os.listdir(path)]
        except OSError:
            continue
    return sorted(out)


def hidden_files(import_path: list[str], markers: tuple[str, ...]) -> list[str]:
    """Files of the installed packages that stay hidden on purpose (``installcheck.DELIBERATELY_HIDDEN``:
    a folder and a name prefix, relative to an entry of the import path)."""
    found = []
    for marker in markers:
        parent, stem = os.path.split(marker.lstrip("/"))
        for entry in import_path:
            folder = os.path.join(entry, parent)
            if os.path.isdir(folder):
                found += [os.path.join(folder, n) for n in os.listdir(folder) if n.startswith(stem)]
    return sorted(set(found))
