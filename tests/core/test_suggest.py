"""“Did you mean …?”: edit distance and the closest known name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alambic.core import edit_distance, suggest


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("production", "production", 0),
        ("prodution", "production", 1),  # a deletion
        ("porduction", "production", 1),  # a swap of neighbours counts once
        ("productoin", "production", 1),
        ("PRODUCTION", "production", 0),  # case is ignored
        ("", "abc", 3),
        ("kitten", "sitting", 3),
    ],
    ids=["same", "deletion", "swap", "swap-at-end", "case", "empty", "classic"],
)
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance
    assert edit_distance(b, a) == distance


@given(st.text(max_size=12), st.text(max_size=12))
def test_edit_distance_is_symmetric_and_bounded(a: str, b: str) -> None:
    assert edit_distance(a, a) == 0
    assert edit_distance(a, b) == edit_distance(b, a)
    # Case folding may lengthen a word ('ß' → 'ss'): the bound is on the folded words.
    assert edit_distance(a, b) <= max(len(a.casefold()), len(b.casefold()))


@pytest.mark.parametrize(
    ("word", "choices", "expected"),
    [
        ("prodution", ["staging", "production"], "production"),
        ("Staging", ["staging"], "staging"),  # as written in the choices
        ("champion", ["staging", "production"], None),  # too far from all
        ("ab", ["xy"], None),  # two edits, but the word has only two letters
        ("", ["a"], None),
        ("n_trial", ["n_trials", "n_trail"], "n_trials"),  # a tie: the first given wins
        ("n_trals", ["n_jobs", "n_trials"], "n_trials"),
    ],
    ids=["typo", "case", "far", "short-word", "empty", "tie", "nearest"],
)
def test_suggest(word: str, choices: list[str], expected: str | None) -> None:
    assert suggest(word, choices) == expected


def test_suggest_takes_a_stricter_bound() -> None:
    assert suggest("prdution", ["production"]) == "production"
    assert suggest("prdution", ["production"], max_distance=1) is None
