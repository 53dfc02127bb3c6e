"""Memory hygiene for the grader's process tree (glibc malloc tuning, heap trimming, gc freezing).

Grading forks: the grader forks the sandbox supervisor after the heavy imports, and the
supervisor forks one worker per check. Pages shared copy-on-write are counted once (PSS
splits them), so two things keep the tree small:

- big blocks go back to the kernel when freed. glibc serves a block from the heap unless it
  exceeds the mmap threshold, and raises that threshold (up to 32 MB) each time an mmapped
  block is freed; from then on every 2000 x 2000 float64 matrix (30.5 MiB) lands in the heap,
  which keeps it after ``del``. ``tune_malloc`` fixes the threshold (which also turns off that
  adaptation), so blocks of ``MMAP_THRESHOLD`` bytes or more are mmapped and unmapped on free;
- pages inherited at fork stay shared. A full garbage collection writes to every tracked
  object's header, copying every page of the parent's heap in whichever process runs it;
  ``freeze_heap`` moves everything alive into the permanent generation first.

Every function is a no-op where it does not apply (not glibc, not CPython >= 3.7).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 20  # blocks of 1 MiB and more: mmapped, returned to the kernel on free
TRIM_THRESHOLD = 4 << 20  # give back the heap's top once 4 MiB of it are free

_libc = None
_state = {"tuned": False, "frozen": False}


def _glibc():
    global _libc
    if _libc is None:
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            lib.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
            lib.mallopt.restype = ctypes.c_int
            lib.malloc_trim.argtypes = [ctypes.c_size_t]
            lib.malloc_trim.restype = ctypes.c_int
            _libc = lib
        except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
            _libc = False
    return _libc or None


def tune_malloc() -> bool:
    """Fix glibc's mmap and trim thresholds for this process and the processes it forks later."""
    lib = _glibc()
    if lib is None:
        return False
    ok = bool(lib.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(lib.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    _state["tuned"] = ok
    return ok


def trim() -> None:
    """Return the free memory of every malloc arena to the kernel (after a heavy check)."""
    lib = _glibc()
    if lib is not None:
        lib.malloc_trim(0)


def freeze_heap() -> None:
    """Collect garbage once, then exempt every live object from later collections (call before fork).

    Objects alive now are never collected afterwards, so call it once, when the heap holds
    what the process keeps (imported modules, loaded data); ``gc.unfreeze`` undoes it.
    """
    if _state["frozen"]:
        return
    gc.collect()
    gc.freeze()
    _state["frozen"] = True
