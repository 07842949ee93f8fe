"""Which miners to step down or sleep to bring a site under an import limit, losing the
least hashrate, and which to wake, in what order, when the limit lifts.

Each unit (a miner, or an HTTP load) has a ladder of levels, highest power first: its
default profile, its lower power profiles, and sleep (the idle draw, no hashrate) where
the firmware can sleep. Moving a unit one rung down saves ``dW`` [W] and loses ``dH``
[TH/s]; its cost is ``dH / dW`` [TH/s per W], the inverse of the step's efficiency
[J/TH]. The planner takes the cheapest rung of any unit, again and again, until the
savings cover the need (a greedy fractional knapsack: exact up to the last rung taken
whenever each ladder's costs rise as it descends, as they do for real profiles, which
are more efficient at lower power). So the least efficient miners sleep first, and a
step down to a lower profile, which keeps most of the hashrate, comes before a stop.

Waking is the same ladder climbed the other way: the rung with the most hashrate per
watt first, no more than a wake step's worth of power at a time, and never past the
headroom under the current limit.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Level:
    """One rung: ``name`` (a profile name, ``"default"`` or ``"sleep"``), power [W] and
    hashrate [TH/s]."""

    name: str
    watts: float
    hashrate_th: float


@dataclass
class Unit:
    """What the planner knows of a unit: its ladder (highest power first), the level it
    is at, the power read back [W] (None when it did not answer) and whether the agent
    may command it (not lying, answering)."""

    key: str
    ladder: list[Level]
    level: int = 0
    watts: float | None = None
    controllable: bool = True

    def power(self) -> float:
        """[W] what the unit draws now: its reading, else its level's rating."""
        return self.watts if self.watts is not None else self.ladder[self.level].watts


@dataclass(frozen=True)
class Move:
    """Put ``key`` at ladder index ``level`` (expected power ``watts`` [W])."""

    key: str
    level: int
    name: str
    watts: float
    saves_w: float
    loses_th: float


@dataclass(order=True)
class _Step:
    cost: float
    order: int
    key: str = field(compare=False)
    to: int = field(compare=False)
    saves_w: float = field(compare=False)
    loses_th: float = field(compare=False)


def _down(unit: Unit, at: int, from_w: float, order: int) -> _Step | None:
    if at + 1 >= len(unit.ladder):
        return None
    here, there = unit.ladder[at], unit.ladder[at + 1]
    saves = from_w - there.watts
    loses = here.hashrate_th - there.hashrate_th
    if saves <= 0:
        return _Step(float("inf"), order, unit.key, at + 1, 0.0, loses)
    return _Step(loses / saves, order, unit.key, at + 1, saves, loses)


def plan_reduction(units: list[Unit], need_w: float) -> list[Move]:
    """The moves that save at least ``need_w`` [W] with the least hashrate lost, one
    move per unit (its final level). Uncontrollable units are left alone; if every
    rung is taken and the need is not met, the moves returned are all there are."""
    if need_w <= 0:
        return []
    by_key = {u.key: u for u in units}
    heap: list[_Step] = []
    for i, u in enumerate(units):
        if u.controllable:
            step = _down(u, u.level, u.power(), i)
            if step is not None:
                heap.append(step)
    heapq.heapify(heap)
    taken: list[_Step] = []
    saved = 0.0
    while heap and saved < need_w:
        step = heapq.heappop(heap)
        taken.append(step)
        saved += step.saves_w
        u = by_key[step.key]
        nxt = _down(u, step.to, u.ladder[step.to].watts, step.order)
        if nxt is not None:
            heapq.heappush(heap, nxt)
    # The last rung taken may make earlier, cheaper ones unnecessary: undo any rung that
    # is its unit's last and whose savings the need can spare, largest loss first.
    level = {s.key: s.to for s in taken}
    for step in sorted(taken, key=lambda s: -s.loses_th):
        if level[step.key] == step.to and saved - step.saves_w >= need_w:
            saved -= step.saves_w
            level[step.key] = step.to - 1
            step.saves_w = step.loses_th = 0.0
    moves = []
    for key, to in level.items():
        u = by_key[key]
        if to == u.level:
            continue
        saves = sum(s.saves_w for s in taken if s.key == key)
        loses = sum(s.loses_th for s in taken if s.key == key)
        lvl = u.ladder[to]
        moves.append(Move(key, to, lvl.name, lvl.watts, saves, loses))
    return moves


def plan_wake(units: list[Unit], headroom_w: float, step_w: float) -> list[Move]:
    """Moves up the ladders adding at most ``min(headroom_w, step_w)`` [W], the most
    hashrate per watt first; a rung that does not fit is skipped (a smaller one may)."""
    budget = min(headroom_w, step_w)
    if budget <= 0:
        return []
    heap: list[tuple[float, int, str, int]] = []
    by_key = {u.key: u for u in units}
    for i, u in enumerate(units):
        if u.controllable and u.level > 0:
            heap.append(_up_cost(u, u.level, u.power(), i))
    heapq.heapify(heap)
    final: dict[str, tuple[int, float]] = {}
    used = 0.0
    while heap:
        _cost, order, key, to = heapq.heappop(heap)
        u = by_key[key]
        at = to + 1
        from_w = u.power() if key not in final else u.ladder[at].watts
        adds = u.ladder[to].watts - from_w
        if used + adds > budget:
            continue
        used += adds
        gains = u.ladder[to].hashrate_th - u.ladder[at].hashrate_th
        final[key] = (to, final.get(key, (0, 0.0))[1] + gains)
        if to > 0:
            heapq.heappush(heap, _up_cost(u, to, u.ladder[to].watts, order))
    moves = []
    for key, (to, gains) in final.items():
        lvl = by_key[key].ladder[to]
        moves.append(Move(key, to, lvl.name, lvl.watts, -(lvl.watts), -gains))
    return moves


def _up_cost(u: Unit, at: int, from_w: float, order: int) -> tuple[float, int, str, int]:
    there = u.ladder[at - 1]
    adds = max(there.watts - from_w, 1e-9)
    gains = there.hashrate_th - u.ladder[at].hashrate_th
    return (-gains / adds, order, u.key, at - 1)


def ladder(
    rated_w: float,
    hashrate_th: float,
    profiles: list[Level],
    idle_w: float | None,
) -> list[Level]:
    """The ladder of a miner: default, its lower profiles by falling power, then sleep
    at ``idle_w`` [W] if it can sleep (None: it cannot)."""
    rungs = [Level("default", rated_w, hashrate_th)]
    rungs += sorted((p for p in profiles if p.watts < rated_w), key=lambda p: -p.watts)
    if idle_w is not None:
        rungs.append(Level("sleep", idle_w, 0.0))
    return rungs
