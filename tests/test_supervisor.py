"""Issue 14 row 13: `make run` restarts a crashed service with back-off and says so."""

import subprocess
import sys
from pathlib import Path

from devstack.platform import SERVICES, Supervisor, restart_delay


def test_the_delay_doubles_up_to_the_cap() -> None:
    assert [restart_delay(n, 1.0, 30.0) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


class _Processes:
    """What the Supervisor uses of a Platform, with real (tiny) processes as services."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.started: list[str] = []

    def start_service(self, name: str) -> None:
        self.started.append(name)
        self.procs[name] = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])

    def _ready(self, name: str) -> bool:
        return self.procs[name].poll() is None

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.kill()
            proc.wait()


def test_a_crashed_service_is_restarted_with_back_off_and_the_rest_runs_on(tmp_path: Path) -> None:
    platform = _Processes(tmp_path)
    try:
        for name in SERVICES:
            platform.start_service(name)
        supervisor = Supervisor(platform, base=1.0, cap=30.0, stable_after=60.0)  # type: ignore[arg-type]
        assert supervisor.poll(now=0.0) == []

        platform.procs["match"].kill()
        platform.procs["match"].wait()
        said = supervisor.poll(now=10.0)
        assert len(said) == 1 and said[0].startswith("match is gestopt (code -9); herstart over 1 s")
        assert supervisor.poll(now=10.5) == []  # waits out the back-off
        assert supervisor.poll(now=11.0) == ["match wordt herstart (poging 1)"]
        assert supervisor.poll(now=11.1) == ["match draait weer"]

        # Crashing again soon after: twice the delay. Other services were never touched.
        platform.procs["match"].kill()
        platform.procs["match"].wait()
        assert "herstart over 2 s" in supervisor.poll(now=12.0)[0]
        assert supervisor.poll(now=14.0) == ["match wordt herstart (poging 2)"]
        assert platform.started.count("match") == 3
        assert all(platform.started.count(name) == 1 for name in SERVICES if name != "match")
        assert supervisor.settled() and supervisor.restarts == 2

        # After a stable minute the next crash starts from the shortest delay again.
        platform.procs["match"].kill()
        platform.procs["match"].wait()
        assert "herstart over 1 s" in supervisor.poll(now=200.0)[0]
    finally:
        platform.stop()
