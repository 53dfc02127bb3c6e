"""Homework 7's adversarial submissions made at run time (zips, links, FIFOs, odd names: what
git cannot hold), named by a case's ``builder`` (the manifest's ``adversarial_builders`` hook)."""
from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Callable

from autograder.config import PROJECT_ROOT
from autograder.verify.catalogue import Fixture

REFERENCE = PROJECT_ROOT / "reference"


def _zip_entry(archive: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o100644) -> None:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def _build_zip_slip(fixture: Fixture, dest: Path, subs: dict[str, str]) -> Path:
    """A zip whose honest modules sit under hw7/ next to traversal, absolute and link entries."""
    marker = subs["MARKER"]
    payload = f"open({marker + '-zipslip'!r}, 'w').write('escaped')\n".encode()
    target = dest.parent / f"{dest.name}.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for item in sorted(dest.iterdir()):
            if item.is_file():
                _zip_entry(archive, f"hw7/{item.name}", item.read_bytes())
        _zip_entry(archive, "../../../../../../tmp/" + Path(marker).name + "-slip.py", payload)
        _zip_entry(archive, "../q_rnn_last_name.py", payload)
        _zip_entry(archive, "/tmp/" + Path(marker).name + "-abs.py", payload)
        _zip_entry(archive, "C:/evil/q_rnn_last_name.py", payload)
        _zip_entry(archive, "hw7\\..\\..\\q_autoencoder.py", payload)
        _zip_entry(archive, "q_linear_autoencoder.py", str(REFERENCE / "q_rnn_and_grad.py").encode(), mode=0o120777)
        _zip_entry(archive, "__MACOSX/hw7/._q_rnn_and_grad.py", b"\x00\x05\x16\x07junk")
        _zip_entry(archive, "hw7/.ipynb_checkpoints/q_rnn_and_grad-checkpoint.ipynb", b"{not json")
        _zip_entry(archive, "deep/er/q_rnn_and_grad.py", payload)
        _zip_entry(archive, "hw7/q_rnn_and_grad.ipynb", b"{not json")
        big = zipfile.ZipInfo("hw7/padding.bin", date_time=(2026, 1, 1, 0, 0, 0))
        big.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(big, b"\0" * (8 * 1024 * 1024))
    return target


def _build_zip_bomb(fixture: Fixture, dest: Path, subs: dict[str, str]) -> Path:
    """A zip that expands past the intake's total-size cap (about 200 MB of zeros, 200 KB on disk)."""
    target = dest.parent / f"{dest.name}.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for item in sorted(dest.iterdir()):
            if item.is_file():
                _zip_entry(archive, item.name, item.read_bytes())
        info = zipfile.ZipInfo("data/zeros.bin", date_time=(2026, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as handle:
            chunk = b"\0" * (1 << 20)
            for _ in range(210):
                handle.write(chunk)
    return target


def _build_not_a_zip(fixture: Fixture, dest: Path, subs: dict[str, str]) -> Path:
    target = dest.parent / f"{dest.name}.zip"
    target.write_bytes(b"PK\x03\x04" + os.urandom(2048))
    return target


def _build_hostile_names(fixture: Fixture, dest: Path, subs: dict[str, str]) -> Path:
    """Links, a FIFO and odd names next to honest modules (made at run time: git cannot hold them)."""
    marker = subs["MARKER"]
    (dest / "q_rnn_last_name.py").symlink_to(REFERENCE / "q_rnn_last_name.py")
    os.mkfifo(dest / "q_autoencoder.py")
    (dest / "q_linear_autoencoder.py").mkdir()
    (dest / "q_graph_clustering.py").symlink_to("/dev/zero")
    (dest / "linked_dir").symlink_to(REFERENCE, target_is_directory=True)
    (dest / "loop").symlink_to(dest / "loop")
    for name in ("new\nline.py", "tab\there.py", "-rf.py", "$(touch " + Path(marker).name + ").py", "ü" * 60 + ".py", "a" * 250 + ".py", " q_rnn_and_grad.py", "Q_RNN_AND_GRAD.PY"):
        (dest / name).write_bytes(f"open({marker + '-name'!r}, 'w').write('ran')\n".encode())
    try:
        (dest / os.fsdecode(b"bad-\xff\xfe-bytes.py")).write_bytes(b"raise SystemExit\n")
    except (OSError, UnicodeError):
        pass
    return dest


def _build_symlinked_module(fixture: Fixture, dest: Path, subs: dict[str, str]) -> Path:
    target = dest / f"{fixture.module}.py"
    if target.exists():
        target.unlink()
    target.symlink_to(REFERENCE / f"{fixture.module}.py")
    return dest


def _chain(top: Path, depth: int, name: str, leaf: tuple[str, bytes] | None = None) -> None:
    """``depth`` nested folders under ``top``, made by descriptor (paths past PATH_MAX are fine)."""
    top.mkdir(parents=True, exist_ok=True)
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(name, 0o755, dir_fd=fd)
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        if leaf is not None:
            out = os.open(leaf[0], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=fd)
            try:
                os.write(out, leaf[1])
            finally:
                os.close(out)
    finally:
        os.close(fd)


def _build_deep_submission_folder(fixture: Fixture, dest: Path, subs: dict[str, str]) -> Path:
    """The module moved 1,100 folders deep, plus a chain of 200-character names longer than
    PATH_MAX holding another copy (recursive walks raise RecursionError on the first)."""
    module = dest / f"{fixture.module}.py"
    code = module.read_bytes()
    module.unlink()
    _chain(dest / "nested", 1100, "d", leaf=(module.name, code))
    _chain(dest / "long", 30, "L" * 200, leaf=(module.name, code))
    return dest


BUILDERS: dict[str, Callable[[Fixture, Path, dict[str, str]], Path]] = {
    "symlinked_module": _build_symlinked_module,
    "zip_slip": _build_zip_slip,
    "zip_bomb": _build_zip_bomb,
    "not_a_zip": _build_not_a_zip,
    "hostile_names": _build_hostile_names,
    "deep_submission_folder": _build_deep_submission_folder,
}
