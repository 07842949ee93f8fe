"""The response planner against hand-computed cases.

Three miners (ladders highest power first):

- A: default 3250 W / 140 TH, profile "-1" 2900 W / 130 TH, sleep 15 W;
- B: 3000 W / 100 TH (30 J/TH), sleep 15 W;
- C: 3500 W / 100 TH (35 J/TH, the least efficient), sleep 15 W.

Cost of each rung in TH/s lost per W saved:
A default->-1: 10/350 = 0.02857; C sleep: 100/3485 = 0.02869; B sleep: 100/2985 = 0.0335;
A -1->sleep: 130/2885 = 0.0451.
"""

from __future__ import annotations

import pytest

from megawatt.site.planner import Level, Unit, ladder, plan_reduction, plan_wake


def fleet() -> list[Unit]:
    a = ladder(3250, 140, [Level("-1", 2900, 130)], 15)
    b = ladder(3000, 100, [], 15)
    c = ladder(3500, 100, [], 15)
    return [Unit("A", a), Unit("B", b), Unit("C", c)]


def moves(units: list[Unit], need: float) -> dict[str, str]:
    return {m.key: m.name for m in plan_reduction(units, need)}


def test_a_profile_step_comes_before_any_stop() -> None:
    # 300 W: A's step to "-1" (350 W, 10 TH) is the cheapest rung.
    assert moves(fleet(), 300) == {"A": "-1"}


def test_least_efficient_sleeps_first_and_unneeded_rungs_are_undone() -> None:
    # 1000 W: greedy takes A -1 (350 W) then C sleep (3485 W); C alone covers the need,
    # so A's step is undone: 100 TH lost, not 110.
    plan = plan_reduction(fleet(), 1000)
    assert {m.key: m.name for m in plan} == {"C": "sleep"}
    assert plan[0].saves_w == pytest.approx(3485)
    assert plan[0].loses_th == pytest.approx(100)


def test_larger_need_takes_the_next_cheapest() -> None:
    # 5000 W: A -1 (350) + C sleep (3485) = 3835 < 5000, then B sleep (2985) = 6820.
    # Undo check: dropping A's step leaves 6470 >= 5000, so A stays at default.
    assert moves(fleet(), 5000) == {"B": "sleep", "C": "sleep"}


def test_everything_and_still_short() -> None:
    plan = plan_reduction(fleet(), 100_000)
    assert {m.key: m.name for m in plan} == {"A": "sleep", "B": "sleep", "C": "sleep"}
    assert sum(m.saves_w for m in plan) == pytest.approx(3235 + 2985 + 3485)


def test_uncontrollable_units_are_left_alone() -> None:
    units = fleet()
    units[2].controllable = False  # C lies: B must go instead
    assert moves(units, 1000) == {"B": "sleep"}


def test_savings_count_from_the_read_back_power() -> None:
    units = fleet()
    units[2].watts = 1000.0  # C reads 1000 W (throttling): sleeping it saves only 985 W
    plan = plan_reduction(units, 2000)
    assert {m.key: m.name for m in plan} == {"B": "sleep"}


def test_no_need_no_moves() -> None:
    assert plan_reduction(fleet(), 0) == []
    assert plan_reduction(fleet(), -5) == []


def test_wake_most_hashrate_per_watt_first_within_the_step() -> None:
    units = fleet()
    for u in units:
        u.level = len(u.ladder) - 1
        u.watts = 15.0
    # A sleep->-1 adds 2885 W for 130 TH (0.045/W, the best), B 2985 W for 100 TH,
    # C 3485 W for 100 TH. A step of 6000 W: A to -1 (2885) + B (2985) = 5870 W.
    woken = {m.key: m.name for m in plan_wake(units, float("inf"), 6000)}
    assert woken == {"A": "-1", "B": "default"}
    # Headroom binds before the step does.
    assert {m.key for m in plan_wake(units, 3000, 6000)} == {"A"}
    assert plan_wake(units, 0, 6000) == []


def test_wake_climbs_a_ladder_in_steps() -> None:
    units = fleet()[:1]
    units[0].level = 1  # A at -1 drawing 2900 W
    units[0].watts = 2900.0
    assert [(m.key, m.name) for m in plan_wake(units, 1000, 1000)] == [("A", "default")]
    assert plan_wake(units, 300, 1000) == []  # 350 W does not fit
