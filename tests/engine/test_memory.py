"""autograder.memory: glibc thresholds, trimming and the gc freeze, each in a fresh interpreter."""
from __future__ import annotations

import subprocess
import sys

from autograder.config import PROJECT_ROOT

CODE = r"""
import gc, sys
import numpy as np
from autograder import memory

def anon_kb():
    for line in open("/proc/self/smaps_rollup"):
        if line.startswith("Pss_Anon:"):
            return int(line.split()[1])

assert memory.tune_malloc() is True
# 2000 x 2000 float64 blocks (the part 5 matrices): freed, they must leave the process
# (glibc's default would keep them in the heap once its adaptive threshold has grown).
before = anon_kb()
for _ in range(6):
    blocks = [np.ones((2000, 2000)) for _ in range(3)]
    small = [np.ones(1000) for _ in range(100)]  # small blocks allocated after them pin the heap's top
    del blocks
memory.trim()
assert anon_kb() - before < 20_000, anon_kb() - before  # untuned: about 95 MB stay

junk = [[i] for i in range(1000)]
memory.freeze_heap()
frozen = gc.get_freeze_count()
assert frozen > 1000
memory.freeze_heap()  # once only
assert gc.get_freeze_count() == frozen
print("ok")
"""


def test_memory_hygiene_in_a_fresh_interpreter():
    out = subprocess.run([sys.executable, "-c", CODE], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


KEPT_OUT = r"""
import sys
from autograder import assignment
from autograder.probes import load_all

load_all()
kept_out = assignment.current().not_preloaded
assert kept_out, "the manifest keeps nothing out"
for name in kept_out:
    assert name not in sys.modules, f"{name} was loaded with the payload"
    __import__(name)  # still importable afterwards, by a student's own import
print("ok")
"""


def test_what_the_manifest_keeps_out_of_the_payload_is_not_loaded_but_still_importable():
    out = subprocess.run([sys.executable, "-c", KEPT_OUT], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok"
