"""Unit tests of bench.memory_profile's parsing and attribution (no grading)."""
from __future__ import annotations

import json
import os

from bench import memory_profile as mp


def test_parse_rollup_takes_the_pss_fields():
    text = "55d0-7ff [rollup]\nRss:  2000 kB\nPss:  1234 kB\nPss_Dirty:  99 kB\nPss_Anon: 500 kB\nPss_File: 700 kB\nPss_Shmem: 34 kB\n"
    assert mp.parse_rollup_kb(text) == {"Pss": 1234, "Pss_Anon": 500, "Pss_File": 700, "Pss_Shmem": 34}
    assert mp.parse_rollup_kb("Rss: 5 kB\n") == {"Pss": 0, "Pss_Anon": 0, "Pss_File": 0, "Pss_Shmem": 0}


def test_rollup_of_this_process():
    mine = mp.rollup_kb(os.getpid())
    assert mine["Pss"] > 0 and mine["Pss_Anon"] <= mine["Pss"]
    assert mp.rollup_kb(2**22 + 12345) is None  # no such process


def test_roles_by_depth():
    parents = {10: 1, 11: 10, 12: 11, 13: 12, 14: 10}
    assert [mp.role_of(p, 10, parents) for p in (10, 11, 12, 13, 14)] == ["grader", "supervisor", "worker", "worker", "supervisor"]


def test_progress_names_the_check_being_graded(tmp_path):
    results = tmp_path / "results.json"
    progress = mp.Progress(results, ["1a.1", "1a.2", "5g.2"])
    assert progress.current(worker_seen=False) == "start-up"  # no file yet
    results.write_text(json.dumps({"tests": []}))
    assert progress.current(worker_seen=False) == "start-up"
    assert progress.current(worker_seen=True) == "1a.1"
    results.write_text(json.dumps({"tests": [{}, {}]}))
    os.utime(results, ns=(1, 10**18))  # a new mtime, whatever the file system's resolution
    assert progress.current(worker_seen=True) == "5g.2"
    results.write_text("{not json")
    os.utime(results, ns=(1, 2 * 10**18))
    assert progress.current(worker_seen=True) == "5g.2"  # a half-written file keeps the last count
    results.write_text(json.dumps({"tests": [{}, {}, {}]}))
    os.utime(results, ns=(1, 3 * 10**18))
    assert progress.current(worker_seen=True) == "shut-down"


def test_progress_skips_checks_not_selected(tmp_path):
    results = tmp_path / "results.json"
    progress = mp.Progress(results, ["1a.1", "3b.1", "3b.2", "5c.1"], {"3b.1", "3b.2"})
    results.write_text(json.dumps({"tests": [{}]}))
    assert progress.current(worker_seen=True) == "3b.1"
    results.write_text(json.dumps({"tests": [{}, {}, {}]}))
    os.utime(results, ns=(1, 10**18))
    assert progress.current(worker_seen=True) == "shut-down"  # 5c.1 is recorded as not run at once


def test_phase_table_keeps_each_phase_peak_and_role_maxima():
    def s(t, phase, g, sup, w):
        return mp.Sample(t, phase, {"grader": g, "supervisor": sup, "worker": w}, {"grader": g, "supervisor": sup, "worker": w}, {"grader": 1, "supervisor": 1, "worker": 1})

    samples = [s(0.0, "start-up", 100, 0, 0), s(0.1, "a", 50, 40, 30), s(0.2, "a", 80, 10, 0), s(0.3, "b", 60, 60, 60)]
    phases = {p.phase: p for p in mp.by_phase(samples)}
    assert phases["a"].peak is samples[1]  # 120 > 90
    assert phases["a"].role_max_kb == {"grader": 80, "supervisor": 40, "worker": 30}
    lines = mp.profile_table(samples, {"a": 1.5})
    assert "during b" in lines[0] and any(line.startswith("a ") and "1.5" in line for line in lines)
