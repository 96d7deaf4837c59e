"""Small-count suppression for statistics (issue 16): the rule, as plain functions.

The rule (also in docs/statistics.md):
1. Primary: every count from 1 to 9 is shown as "<10". 0 and counts of 10 or more are shown.
2. Secondary: a table may show totals (a total per row, per column, and a grand total). Each
   row or column with its total is one sum. Within every such sum the hidden entries must not
   be computable from the shown ones: taking every "<10" as 1..9 and every "x" as 10 or
   more, no hidden entry may come out at a single value. Where one would, one more entry of
   that sum is hidden as "x": the smallest count of 10 or more that is still shown (a cell
   first, the total last). Hiding a total can make its own sum need another hidden entry;
   this repeats until every sum is safe. Zeros are never hidden.
3. A total that several tables share (say the number of signals registered in the period,
   under the months, the organisations and the age bands) is hidden in all of them as soon
   as one of them hides it (`suppress_together`).
4. Counts that overlap other tables without a shown sum - a stock such as the signals active
   at a month's end (last month's stock + registered - ended), per-domain counts (the sum of
   the organisations with that domain), matches per organisation (about the sum of its pairs)
   - are rounded to tens (`rounded`: 10 or more; 1..9 stays "<10"), so that subtracting them
   does not give a small count back.

Known limit: the rule protects each answer, not the difference between two answers for
overlapping periods; that is why statistics are only for administrators (docs/statistics.md).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

SMALL = "<10"
HIDDEN = "x"
LOWEST_SHOWN = 10

Cell = int | str
Position = tuple[int, int]


def small(count: int) -> bool:
    return 1 <= count < LOWEST_SHOWN


def shown(count: int) -> Cell:
    """A count without any sum around it: only the primary rule."""
    return SMALL if small(count) else count


def rounded(count: int) -> Cell:
    """A count that overlaps other tables (rule 4): to the nearest ten (halves up)."""
    if count == 0 or small(count):
        return shown(count)
    return max(LOWEST_SHOWN, (count + 5) // 10 * 10)


@dataclass
class Table:
    """A grid of counts with optional totals, before and after suppression.

    `values` is rows x columns. With `row_totals` each row gets a last column with its sum;
    with `column_totals` a last row with each column's sum; with both, a grand total at the
    bottom right. `cells` is the same grid (totals included) after suppression."""

    values: list[list[int]]
    row_totals: bool = False
    column_totals: bool = False
    cells: list[list[Cell]] = field(default_factory=list)
    # How many columns a table without rows has (its column totals are all 0).
    columns: int = 1

    def grid(self) -> list[list[int]]:
        """The counts with their totals appended, as they would be shown."""
        grid = [[*row, sum(row)] if self.row_totals else list(row) for row in self.values]
        if self.column_totals:
            width = len(grid[0]) if grid else self.columns + self.row_totals
            grid.append([sum(row[j] for row in grid) for j in range(width)])
        return grid

    def total_position(self) -> Position | None:
        """Where the one total of every cell is (grand total, or the single margin)."""
        grid = self.grid()
        if not grid or not grid[0]:
            return None
        if self.row_totals and self.column_totals:
            return len(grid) - 1, len(grid[0]) - 1
        if self.row_totals and len(grid) == 1:
            return 0, len(grid[0]) - 1
        if self.column_totals and len(grid[0]) == 1:
            return len(grid) - 1, 0
        return None


def _lines(table: Table, grid: list[list[int]]) -> list[tuple[list[Position], Position]]:
    """Every sum in the grid: (the positions that add up, the position of their total)."""
    lines: list[tuple[list[Position], Position]] = []
    height, width = len(grid), len(grid[0]) if grid else 0
    if table.row_totals:
        for i in range(height):
            lines.append(([(i, j) for j in range(width - 1)], (i, width - 1)))
    if table.column_totals:
        for j in range(width):
            lines.append(([(i, j) for i in range(height - 1)], (height - 1, j)))
    return lines


def _bounds(value: int) -> tuple[float, float]:
    """What a reader knows of a hidden entry: "<10" is 1..9, "x" is 10 or more."""
    return (1, LOWEST_SHOWN - 1) if small(value) else (LOWEST_SHOWN, float("inf"))


def pinned(parts: Sequence[Cell | int], total: Cell | int, values: Sequence[int], total_value: int) -> bool:
    """True when some hidden entry of the sum parts = total follows exactly from what is
    shown. `parts`/`total` are as shown (a string when hidden), `values` the true counts."""
    # The sum as: sum(sign * entry) == 0, with parts +1 and the total -1.
    entries = [(1, shown_, v) for shown_, v in zip(parts, values, strict=True)]
    entries.append((-1, total, total_value))
    known = sum(sign * s for sign, s, _ in entries if isinstance(s, int))
    hidden = [(sign, _bounds(v)) for sign, s, v in entries if isinstance(s, str)]
    for k, (sign, (low, high)) in enumerate(hidden):
        # sign * x = -known - sum(other signed entries): the range of the right-hand side.
        rest_low: float = -known
        rest_high: float = -known
        for m, (other_sign, (o_low, o_high)) in enumerate(hidden):
            if m == k:
                continue
            if other_sign > 0:
                rest_low, rest_high = rest_low - o_high, rest_high - o_low
            else:
                rest_low, rest_high = rest_low + o_low, rest_high + o_high
        x_low, x_high = (rest_low, rest_high) if sign > 0 else (-rest_high, -rest_low)
        if max(low, x_low) == min(high, x_high):
            return True
    return False


def suppress(table: Table, forced: frozenset[Position] = frozenset()) -> Table:
    """Apply the rule to `table` (its `cells` are filled in); `forced` positions are hidden
    whatever their value (a shared total hidden elsewhere)."""
    grid = table.grid()
    hidden = {(i, j) for i, row in enumerate(grid) for j, v in enumerate(row) if small(v)}
    hidden |= {p for p in forced if grid[p[0]][p[1]] > 0}
    lines = _lines(table, grid)

    def show(p: Position) -> Cell:
        v = grid[p[0]][p[1]]
        return (SMALL if small(v) else HIDDEN) if p in hidden else v

    changed = True
    while changed:
        changed = False
        for parts, total in lines:
            values = [grid[i][j] for i, j in parts]
            if not pinned([show(p) for p in parts], show(total), values, grid[total[0]][total[1]]):
                continue
            candidates = sorted((grid[i][j], (i, j)) for i, j in parts if (i, j) not in hidden and grid[i][j])
            if not candidates and total not in hidden and grid[total[0]][total[1]]:
                candidates = [(grid[total[0]][total[1]], total)]
            if candidates:
                hidden.add(candidates[0][1])
                changed = True
    table.cells = [[show((i, j)) for j in range(len(row))] for i, row in enumerate(grid)]
    return table


def suppress_together(tables: Sequence[Table]) -> list[Table]:
    """Suppress tables that share one total (each at `total_position`): once any of them
    hides it, it is hidden in every one of them."""
    done = [suppress(t) for t in tables]
    if any(_total_hidden(t) for t in done):
        done = [suppress(t, _forced_total(t)) for t in tables]
    return done


def _total_hidden(table: Table) -> bool:
    p = table.total_position()
    return p is not None and isinstance(table.cells[p[0]][p[1]], str)


def _forced_total(table: Table) -> frozenset[Position]:
    p = table.total_position()
    return frozenset([p]) if p is not None else frozenset()
