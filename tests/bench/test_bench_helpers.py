"""Fast unit tests of the bench's parsing and summary helpers (no grading)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench import limits, runs, stats, tree


def test_parse_stat_handles_spaces_and_parens_in_the_name():
    line = b"4242 (py (x) y) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 12345 1000 10"
    ppid, cpu, start = tree.parse_stat(line)
    assert ppid == 17
    assert cpu == pytest.approx((250 + 50) / tree.CLOCK_TICKS)  # own utime+stime, not the children's 7+3
    assert start == 12345


def test_parse_pss_takes_the_total_not_the_breakdown():
    text = "55d0-7ff [rollup]\nRss:  2000 kB\nPss:  1234 kB\nPss_Dirty:  99 kB\nPss_Anon: 500 kB\n"
    assert tree.parse_pss_kb(text) == 1234
    assert tree.parse_pss_kb("Rss: 5 kB\n") == 0


def test_tree_of_walks_all_descendants_only():
    parents = {1: 0, 10: 1, 11: 10, 12: 11, 13: 10, 20: 1, 21: 20}
    assert sorted(tree.tree_of(10, parents)) == [10, 11, 12, 13]
    assert tree.tree_of(99, parents) == []


def test_run_measured_counts_a_grandchild_cpu(tmp_path):
    burn = "import time\nt=time.process_time()\nwhile time.process_time()-t<0.3: pass\n"
    code = f"import subprocess,sys; subprocess.run([sys.executable,'-c',{burn!r}])"
    m = tree.run_measured([sys.executable, "-c", code], tmp_path / "log", cwd=tmp_path, env=dict(os.environ), timeout=60)
    assert m.returncode == 0 and not m.timed_out
    assert m.cpu_s >= 0.3  # the grandchild's CPU reaches us through wait4
    assert m.children_cpu_s == pytest.approx(m.cpu_s, abs=0.02)
    assert m.tree_covered and m.peak_pss_mb > 0


def test_cgroup_parsing():
    own = limits.own_cgroups("4:memory:/a/b\n1:cpu,cpuacct:/\n0::/user.slice\n")
    assert own == {"memory": "/a/b", "cpu": "/", "cpuacct": "/", "": "/user.slice"}
    mounts = limits.cgroup_mounts("cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0\n"
                                  "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\nproc /proc proc rw 0 0\n")
    assert mounts["cpu"] == "/sys/fs/cgroup/cpu,cpuacct" and mounts[""] == "/sys/fs/cgroup/unified"
    assert limits.parse_flat_keyed("nr_periods 33\nnr_throttled 5\nbad line here\n") == {"nr_periods": 33, "nr_throttled": 5}


def test_summary_line_round_trips_and_says_na():
    line = stats.summary_line({"cpu_s": 123.44, "peak_mb": 901.6, "sandbox_ratio": 1.234, "template_s": 20.0, "hang_s": None, "jobs2_speedup": 1.8, "hints_cost": 0.031})
    assert line == "summary: cpu_s=123.4 peak_mb=902 sandbox_ratio=1.23 template_s=20.0 hang_s=na jobs2_speedup=1.80 hints_cost=0.03"
    assert stats.parse_summary(line)["hang_s"] is None
    assert stats.parse_summary(line)["peak_mb"] == 902


def test_stats_median_and_per_check_shares():
    s = stats.Stat([3.0, 1.0, 2.0])
    assert (s.median, s.min, s.max) == (2.0, 1.0, 3.0)
    reports = [{"seconds": 10.0, "outcomes": [{"id": "a", "status": "passed", "seconds": 6.0}, {"id": "b", "status": "passed", "seconds": 2.0},
                                               {"id": "c", "status": "not run", "seconds": 0.0}]},
               {"seconds": 12.0, "outcomes": [{"id": "a", "status": "passed", "seconds": 8.0}, {"id": "b", "status": "failed", "seconds": 4.0}]}]
    rows = stats.per_check(reports)
    assert [r[0] for r in rows] == ["a", "b"]
    assert rows[0][2] == pytest.approx(7.0 / 11.0)


def test_hang_submission_never_returns_from_import(tmp_path):
    sub = runs.make_hang(tmp_path / "hang")
    assert sorted(p.stem for p in sub.iterdir()) == sorted(runs.modules())
    module = next(sub.iterdir())
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run([sys.executable, str(module)], timeout=1)


def test_selected_uses_the_runners_only_rule():
    from autograder.rubric import load

    checks = load().checks
    assert runs.selected(checks, ()) == list(checks)
    ids = [c.id for c in runs.selected(checks, ("1c", "5g.2"))]
    assert ids and all(i.startswith("1c") or i == "5g.2" for i in ids)
