"""How the listener splits a fetch's ids into the workers' batches."""

from __future__ import annotations

import pytest

from workers.listener import chunks


@pytest.mark.parametrize(("n", "size", "lengths"), [
    (0, 8, []),
    (1, 8, [1]),
    (8, 8, [8]),
    (9, 8, [5, 4]),
    (50, 8, [8, 7, 7, 7, 7, 7, 7]),
    (7, 1, [1] * 7),
])
def test_even_pieces_in_order(n: int, size: int, lengths: list[int]) -> None:
    ids = list(range(100, 100 + n))
    pieces = chunks(ids, size)
    assert [len(p) for p in pieces] == lengths
    assert [i for p in pieces for i in p] == ids
    assert all(len(p) <= size for p in pieces)
