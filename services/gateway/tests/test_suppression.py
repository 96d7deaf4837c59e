"""The small-count suppression rule (services/gateway/suppression.py), without a network."""

from hypothesis import given, settings
from hypothesis import strategies as st

from services.gateway.suppression import (
    HIDDEN,
    SMALL,
    Table,
    pinned,
    rounded,
    shown,
    suppress,
    suppress_together,
)


def column(values: list[int]) -> Table:
    """A one-column table with its total underneath."""
    return suppress(Table([[v] for v in values], column_totals=True))


def test_primary_every_count_from_1_to_9_is_small() -> None:
    assert [shown(v) for v in (0, 1, 5, 9, 10, 250)] == [0, SMALL, SMALL, SMALL, 10, 250]


def test_overlapping_counts_are_rounded_to_tens_but_small_ones_stay_small() -> None:
    assert [rounded(v) for v in (0, 3, 10, 14, 15, 123)] == [0, SMALL, 10, 10, 20, 120]


def test_a_column_without_small_counts_is_shown_whole() -> None:
    assert column([10, 0, 25]).cells == [[10], [0], [25], [35]]


def test_one_small_cell_under_a_total_hides_a_second_cell_the_smallest() -> None:
    # 3 alone would follow from 48 - 12 - 33: so 12 (the smallest shown count) is hidden too.
    assert column([3, 12, 33]).cells == [[SMALL], [HIDDEN], [33], [48]]


def test_two_small_cells_are_enough_when_their_sum_does_not_pin_them() -> None:
    assert column([3, 4, 20]).cells == [[SMALL], [SMALL], [20], [27]]


def test_two_small_cells_adding_up_to_2_are_both_1_so_a_third_is_hidden() -> None:
    # "<10" + "<10" = 2 can only be 1 + 1.
    assert column([1, 1, 15, 30]).cells == [[SMALL], [SMALL], [HIDDEN], [30], [47]]


def test_a_small_and_a_hidden_cell_that_would_still_pin_hide_one_more() -> None:
    # 1 + x = 11 with x >= 10 pins both, so 20 is hidden too.
    assert column([1, 10, 20]).cells == [[SMALL], [HIDDEN], [HIDDEN], [31]]


def test_when_only_the_total_is_left_the_total_is_hidden() -> None:
    # 1 + x = 11 pins both; nothing else is left to hide but the total.
    assert column([1, 10]).cells == [[SMALL], [HIDDEN], [HIDDEN]]
    # 2 + x = 12 does not: it may be 1 + 11 as well.
    assert column([2, 10]).cells == [[SMALL], [HIDDEN], [12]]


def test_a_small_total_is_small_too() -> None:
    assert column([4, 0]).cells == [[SMALL], [0], [SMALL]]


def test_zeros_are_never_hidden() -> None:
    assert column([5, 0, 0, 40]).cells[1:3] == [[0], [0]]


def test_two_way_table_hides_in_rows_and_columns() -> None:
    table = suppress(Table([[5, 20, 30], [40, 50, 60]], row_totals=True, column_totals=True))
    cells = table.cells
    assert cells[0][0] == SMALL
    # Row 0 and column 0 each got a second hidden entry.
    assert sum(isinstance(c, str) for c in cells[0]) >= 2
    assert sum(isinstance(row[0], str) for row in cells) >= 2


def test_a_shared_total_hidden_in_one_table_is_hidden_in_all() -> None:
    # In the first table the total must go (1 + 10); the second would have shown it.
    first = Table([[1], [10]], column_totals=True)
    second = Table([[11]], column_totals=True)
    a, b = suppress_together([first, second])
    assert a.cells[-1] == [HIDDEN]
    assert b.cells[-1] == [HIDDEN]
    # ... and the second then hides its only cell as well, or the total would follow from it.
    assert b.cells[0] == [HIDDEN]


def test_pinned_sees_a_single_hidden_cell() -> None:
    assert pinned([SMALL, 20], 25, [5, 20], 25)
    assert not pinned([SMALL, SMALL], 11, [5, 6], 11)


counts = st.integers(min_value=0, max_value=40)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=1, max_value=5).flatmap(
        lambda width: st.lists(st.lists(counts, min_size=width, max_size=width), min_size=1, max_size=6)
    ),
    st.booleans(),
    st.booleans(),
)
def test_no_small_count_is_ever_shown_nor_recomputable(
    values: list[list[int]], row_totals: bool, column_totals: bool
) -> None:
    table = suppress(Table(values, row_totals=row_totals, column_totals=column_totals))
    grid = table.grid()
    for i, row in enumerate(grid):
        for j, value in enumerate(row):
            cell = table.cells[i][j]
            if isinstance(cell, int):
                assert cell == value and not 1 <= cell <= 9
            else:
                assert cell == (SMALL if 1 <= value <= 9 else HIDDEN)
                assert value != 0
    # No row or column sum pins a hidden entry.
    height, width = len(grid), len(grid[0])
    if row_totals:
        for i in range(height):
            assert not pinned(table.cells[i][:-1], table.cells[i][-1], grid[i][:-1], grid[i][-1])
    if column_totals:
        for j in range(width):
            parts = [table.cells[i][j] for i in range(height - 1)]
            assert not pinned(parts, table.cells[-1][j], [grid[i][j] for i in range(height - 1)], grid[-1][j])
