"""py-spy profiles and memory of the platform's service processes during a benchmark.

`make profile-signals` records, while `bench_signals` measures, one py-spy profile per
service process (the gateway with its gunicorn workers) into .cache/profile-signals/:
`<service>.txt` (collapsed stacks, py-spy's raw format; open it in speedscope or
flamegraph.pl) and `summary.txt` (per service the functions where most samples were,
by own time and including callees), so the next bottleneck is visible.
"""

import collections
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import psutil

from devstack.platform import Platform


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed: run `make setup`")
    return found


class Profiles:
    """Start with `start(seconds)` just before the measured run, `finish()` after it."""

    def __init__(self, platform: Platform, folder: Path) -> None:
        self.platform = platform
        self.folder = folder
        self.recorders: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, seconds: float) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        for service, proc in self.platform.procs.items():
            self.recorders[service] = subprocess.Popen(
                [
                    py_spy(),
                    "record",
                    "--pid",
                    str(proc.pid),
                    "--subprocesses",  # gunicorn's workers
                    "--duration",
                    str(int(seconds)),
                    "--rate",
                    "50",
                    "--format",
                    "raw",
                    "--nonblocking",  # sample without pausing the service
                    "--output",
                    str(self.folder / f"{service}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=(self.folder / f"{service}.py-spy.log").open("wb"),
            )

    def finish(self) -> None:
        for proc in self.recorders.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.terminate()
        lines = []
        for service in self.recorders:
            lines.extend(summarise(service, self.folder / f"{service}.txt"))
        (self.folder / "summary.txt").write_text("\n".join(lines) + "\n")
        print(f"  profiles: {self.folder}/ (summary.txt, <service>.txt)")


def summarise(service: str, path: Path, top: int = 12) -> list[str]:
    """The functions with most samples, own and inclusive, from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            frames = [f for f in stack.split(";") if f and not f.startswith("process ")]
            total += n
            if frames:
                own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
    out = [f"== {service}: {total} samples"]
    if total:
        out.append("  own time:")
        out += [f"    {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
        out.append("  including callees (project code):")
        ours = [(f, n) for f, n in inclusive.most_common() if "services/" in f or "services." in f]
        out += [f"    {100 * n / total:5.1f}%  {f}" for f, n in ours[:top]]
    return out


class RssWatch:
    """Peak RSS per service process (the gunicorn master and each worker on its own), sampled
    every second."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.peak: dict[str, float] = collections.defaultdict(float)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "RssWatch":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            for service, proc in self.platform.procs.items():
                for name, pid in _members(service, proc.pid):
                    self.peak[name] = max(self.peak[name], _own_rss(pid))

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join(5)
        return dict(self.peak)

    def report(self, aim_mb: float = 150.0) -> None:
        peaks = self.stop()
        print(f"  peak RSS per process (aim < {aim_mb:.0f} MB):")
        for name, mb in sorted(peaks.items()):
            print(f"    {name:24s} {mb:7.1f} MB{'' if mb < aim_mb else '  ABOVE AIM'}")


def _members(service: str, pid: int) -> list[tuple[str, int]]:
    """The process, and for the gateway each gunicorn worker separately."""
    out = [(service, pid)]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        out += [(f"{service} worker {i + 1}", int(c)) for i, c in enumerate(children.read_text().split())]
    return out


def _own_rss(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class CpuTime:
    """CPU seconds (user + system) each service process used between `start()` and `stop()`:
    unlike wall-clock samples it does not grow when other work on the machine takes the
    cores, so the cost per request of every hop can be compared across noisy runs."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.before: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        out: dict[str, float] = collections.defaultdict(float)
        for service, proc in self.platform.procs.items():
            for _name, pid in _members(service, proc.pid):
                out[service] += _cpu_seconds(pid)
        # PostgreSQL's backends of this platform (its data directory is in the workdir).
        out["postgres"] = postgres_cpu_seconds(self.platform.workdir)
        return out

    def start(self) -> "CpuTime":
        self.before = self._now()
        return self

    def report(self, count: int, unit: str = "request", scale: int = 1) -> None:
        """Print CPU milliseconds per `scale` units (e.g. per 1,000 rows) of every process."""
        after = self._now()
        used = {s: after[s] - self.before.get(s, 0.0) for s in after}
        per = max(1, count) / scale
        label = unit if scale == 1 else f"{scale:,} {unit}s"
        print(f"  CPU ms per {label} ({count:,} {unit}s):", end="")
        for service, seconds in used.items():
            print(f"  {service} {1000 * seconds / per:.2f}", end="")
        print(f"  total {1000 * sum(used.values()) / per:.2f}")


def postgres_cpu_seconds(workdir: Path) -> float:
    """CPU seconds used so far by the PostgreSQL server whose data directory is under
    `workdir` (postmaster and every backend still running)."""
    total = 0.0
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] == "postgres" and _serves(proc, workdir.resolve()):
            total += _cpu_seconds(proc.pid)
    return total


def _serves(proc: psutil.Process, workdir: Path) -> bool:
    """A postgres process of the server whose data directory lies under `workdir`."""
    try:
        root = proc.parent() if proc.parent() and proc.parent().name() == "postgres" else proc
        return str(workdir) in " ".join(root.cmdline())
    except psutil.Error:
        return False


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are fields 14 and 15 of /proc/<pid>/stat (after the command).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
