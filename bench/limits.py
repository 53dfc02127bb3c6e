"""Gradescope-like limits for one command: half a CPU and a memory cap.

Tried in order, each as a fresh child cgroup under the one this process is in (so
it nests inside whatever limits already apply to us, and never moves anything out):

1. cgroup v2: ``cpu.max = 50000 100000`` and ``memory.max``;
2. cgroup v1 (hybrid hosts): ``cpu.cfs_quota_us/cfs_period_us`` and ``memory.limit_in_bytes``;
3. neither: ``taskset -c 0`` (sched_setaffinity to CPU 0: one whole CPU, not half) and no
   memory cap, which the report then says.

The CPU and memory parts fall back independently. After the run, ``evidence()`` reads
what the kernel counted (periods throttled, peak memory charged, OOM kills), so the
report can show that the limit was actually in force.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PERIOD_US = 100_000


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def parse_flat_keyed(text: str) -> dict[str, int]:
    """``key value`` lines (cpu.stat, memory.events, memory.oom_control) as a dict."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def own_cgroups(proc_cgroup: str) -> dict[str, str]:
    """/proc/self/cgroup as {controller: path}; the v2 entry under the key ''."""
    out = {}
    for line in proc_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            out[c] = path
    return out


def cgroup_mounts(mounts: str) -> dict[str, str]:
    """{controller: mount point} from /proc/self/mounts; the v2 mount under ''."""
    out = {}
    for line in mounts.splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        if parts[2] == "cgroup2":
            out.setdefault("", parts[1])
        elif parts[2] == "cgroup":
            for opt in parts[3].split(","):
                out.setdefault(opt, parts[1])
    return out


@dataclass
class Confinement:
    """Where the limited command goes; ``preexec`` runs in the child before exec."""

    cpu: str = "none"  # how the CPU limit is applied
    memory: str = "none"  # how the memory cap is applied ('none': not enforced)
    memory_mb: int = 768
    notes: list[str] = field(default_factory=list)
    cpu_dir: Path | None = None
    memory_dir: Path | None = None
    cpu_kind: str = ""  # 'v1' | 'v2' | 'taskset'
    memory_kind: str = ""  # 'v1' | 'v2' | ''
    resident_peak_bytes: int = 0  # sampled peak of anon + shmem (the page cache left out)
    _sampling: threading.Event | None = field(default=None, repr=False)
    _sampler: threading.Thread | None = field(default=None, repr=False)

    @property
    def memory_enforced(self) -> bool:
        return self.memory_dir is not None

    def preexec(self) -> None:
        pid = str(os.getpid())
        for d in {self.cpu_dir, self.memory_dir} - {None}:
            _write(d / "cgroup.procs", pid)
        if self.cpu_kind == "taskset":
            os.sched_setaffinity(0, {0})

    def resident_bytes(self) -> int:
        """Anonymous and shared memory charged to the memory cgroup now: what the grading
        holds, without the page cache (which fills any cap, and the kernel reclaims)."""
        if self.memory_dir is None:
            return 0
        stat = parse_flat_keyed(_read(self.memory_dir / "memory.stat"))
        return stat.get("anon" if self.memory_kind == "v2" else "rss", 0) + stat.get("shmem", 0)

    def start_sampling(self, interval: float = 0.02) -> None:
        """Sample ``resident_bytes`` in a thread until ``evidence()`` is read."""
        if self.memory_dir is None or self._sampler is not None:
            return
        self._sampling = threading.Event()

        def loop() -> None:
            while not self._sampling.is_set():
                self.resident_peak_bytes = max(self.resident_peak_bytes, self.resident_bytes())
                self._sampling.wait(interval)

        self._sampler = threading.Thread(target=loop, daemon=True)
        self._sampler.start()

    def _stop_sampling(self) -> None:
        if self._sampler is not None:
            self._sampling.set()
            self._sampler.join()
            self._sampler = None

    def evidence(self) -> dict[str, object]:
        """What the kernel counted for the cgroups since they were created."""
        self._stop_sampling()
        out: dict[str, object] = {}
        if self.cpu_dir is not None:
            stat = parse_flat_keyed(_read(self.cpu_dir / "cpu.stat"))
            out["cpu periods"] = stat.get("nr_periods", 0)
            out["throttled periods"] = stat.get("nr_throttled", 0)
            throttled = stat.get("throttled_usec", stat.get("throttled_time", 0) // 1000)
            out["throttled s"] = round(throttled / 1e6, 1)
        if self.memory_kind == "v2":
            peak = _read(self.memory_dir / "memory.peak").strip()
            out["memory peak MB"] = round(int(peak) / 2**20) if peak.isdigit() else "n/a"
            out["oom kills"] = parse_flat_keyed(_read(self.memory_dir / "memory.events")).get("oom_kill", 0)
        elif self.memory_kind == "v1":
            peak = _read(self.memory_dir / "memory.max_usage_in_bytes").strip()
            out["memory peak MB"] = round(int(peak) / 2**20) if peak.isdigit() else "n/a"
            out["limit hits"] = int(_read(self.memory_dir / "memory.failcnt").strip() or 0)
            out["oom kills"] = parse_flat_keyed(_read(self.memory_dir / "memory.oom_control")).get("oom_kill", 0)
        if self.memory_dir is not None:
            out["resident peak MB"] = round(self.resident_peak_bytes / 2**20) if self.resident_peak_bytes else "n/a"
        return out

    def close(self) -> None:
        self._stop_sampling()
        for d in {self.cpu_dir, self.memory_dir} - {None}:
            for _ in range(50):  # processes may take a moment to leave
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                self.notes.append(f"could not remove {d}")


def _make_dir(mount: str, own: str, tag: str) -> Path:
    d = Path(mount) / own.lstrip("/") / tag
    d.mkdir()
    return d


def _try_v2(conf: Confinement, mounts: dict[str, str], own: dict[str, str], tag: str, cpu_quota_us: int) -> None:
    if "" not in mounts or "" not in own:
        conf.notes.append("cgroup v2: no unified hierarchy")
        return
    parent = Path(mounts[""]) / own[""].lstrip("/")
    available = _read(parent / "cgroup.controllers").split()
    wanted = [c for c in ("cpu", "memory") if c in available]
    if not wanted:
        conf.notes.append(f"cgroup v2: controllers {available or 'none'} available at {parent}, not cpu/memory")
        return
    try:
        enabled = _read(parent / "cgroup.subtree_control").split()
        if any(c not in enabled for c in wanted):
            _write(parent / "cgroup.subtree_control", " ".join("+" + c for c in wanted))
        d = _make_dir(mounts[""], own[""], tag)
    except OSError as exc:
        conf.notes.append(f"cgroup v2: {exc}")
        return
    try:
        if "cpu" in wanted:
            _write(d / "cpu.max", f"{cpu_quota_us} {PERIOD_US}")
            conf.cpu_dir, conf.cpu_kind, conf.cpu = d, "v2", f"cgroup v2 cpu.max = {cpu_quota_us} {PERIOD_US}"
        if "memory" in wanted:
            _write(d / "memory.max", str(conf.memory_mb * 2**20))
            try:
                _write(d / "memory.swap.max", "0")
            except OSError:
                pass
            conf.memory_dir, conf.memory_kind, conf.memory = d, "v2", f"cgroup v2 memory.max = {conf.memory_mb} MB"
    except OSError as exc:
        conf.notes.append(f"cgroup v2: {exc}")
        if conf.cpu_dir is None and conf.memory_dir is None:
            d.rmdir()


def _try_v1_cpu(conf: Confinement, mounts: dict[str, str], own: dict[str, str], tag: str, cpu_quota_us: int) -> None:
    if "cpu" not in mounts or "cpu" not in own:
        conf.notes.append("cgroup v1: no cpu hierarchy")
        return
    try:
        d = _make_dir(mounts["cpu"], own["cpu"], tag)
    except OSError as exc:
        conf.notes.append(f"cgroup v1 cpu: {exc}")
        return
    try:
        _write(d / "cpu.cfs_period_us", str(PERIOD_US))
        _write(d / "cpu.cfs_quota_us", str(cpu_quota_us))
        conf.cpu_dir, conf.cpu_kind = d, "v1"
        conf.cpu = f"cgroup v1 cpu.cfs_quota_us = {cpu_quota_us} per {PERIOD_US}"
    except OSError as exc:
        conf.notes.append(f"cgroup v1 cpu: {exc}")
        d.rmdir()


def _try_v1_memory(conf: Confinement, mounts: dict[str, str], own: dict[str, str], tag: str) -> None:
    if "memory" not in mounts or "memory" not in own:
        conf.notes.append("cgroup v1: no memory hierarchy")
        return
    try:
        d = _make_dir(mounts["memory"], own["memory"], tag)
    except OSError as exc:
        conf.notes.append(f"cgroup v1 memory: {exc}")
        return
    try:
        _write(d / "memory.limit_in_bytes", str(conf.memory_mb * 2**20))
        try:  # no swap either, where the kernel accounts it
            _write(d / "memory.memsw.limit_in_bytes", str(conf.memory_mb * 2**20))
        except OSError:
            pass
        conf.memory_dir, conf.memory_kind = d, "v1"
        conf.memory = f"cgroup v1 memory.limit_in_bytes = {conf.memory_mb} MB"
    except OSError as exc:
        conf.notes.append(f"cgroup v1 memory: {exc}")
        d.rmdir()


def confine(cpu_fraction: float = 0.5, memory_mb: int = 768) -> Confinement:
    """Set up the limits as well as this machine allows; call ``close()`` when done."""
    conf = Confinement(memory_mb=memory_mb)
    tag = f"autograder-bench-{os.getpid()}-{time.monotonic_ns()}"
    quota = int(cpu_fraction * PERIOD_US)
    try:
        mounts = cgroup_mounts(Path("/proc/self/mounts").read_text())
        own = own_cgroups(Path("/proc/self/cgroup").read_text())
    except OSError as exc:
        mounts, own = {}, {}
        conf.notes.append(f"cgroups unreadable: {exc}")
    _try_v2(conf, mounts, own, tag, quota)
    if conf.cpu_dir is None:
        _try_v1_cpu(conf, mounts, own, tag, quota)
    if conf.memory_dir is None:
        _try_v1_memory(conf, mounts, own, tag)
    if conf.cpu_dir is None:
        conf.cpu_kind, conf.cpu = "taskset", "taskset -c 0 (sched_setaffinity: one whole CPU, not half; no cgroup allowed)"
    if conf.memory_dir is None:
        conf.memory = f"not enforced (no memory cgroup): peak PSS compared with {memory_mb} MB instead"
    return conf
