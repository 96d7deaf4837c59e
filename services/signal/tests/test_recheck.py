"""Issue 18: the re-check's plain rules (moves, pacing) without a network."""

import asyncio

from services.signal.recheck import Pacer, move_kind


def test_move_kinds() -> None:
    region = frozenset({"0599"})
    assert move_kind("0599", "0599", region) == "none"
    assert move_kind("0599", "", region) == "none"
    assert move_kind("0599", "0228", region) == "out"
    assert move_kind("0599", "0228", frozenset({"0599", "0228"})) == "within"
    assert move_kind("", "0599", frozenset()) == "within"


def test_pacer_sleeps_only_when_ahead_of_the_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    async def run() -> None:
        pacer = Pacer(100.0, clock=lambda: now[0], sleep=record)
        await pacer.account(50)  # 50 people in 0 s at 100/s: half a second ahead
        now[0] = 2.0
        await pacer.account(50)  # 100 people in 2 s: behind, no sleep

    asyncio.run(run())
    assert slept == [0.5]
