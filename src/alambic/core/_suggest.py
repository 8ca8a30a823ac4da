"""“Did you mean …?”: the closest known name to a mistyped one."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["edit_distance", "suggest"]


def edit_distance(a: str, b: str) -> int:
    """The number of edits that turn ``a`` into ``b``, ignoring case.

    An edit inserts, deletes or replaces one character, or swaps two adjacent ones
    (Damerau-Levenshtein distance, in its optimal-string-alignment form).

    Example:
        >>> edit_distance("prodution", "production"), edit_distance("stagnig", "Staging")
        (1, 1)
    """
    a, b = a.casefold(), b.casefold()
    # Rows of the table of distances from a[:i] to each b[:j]: i - 2, i - 1 and i.
    two_back: list[int] = []
    one_back = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            replace = one_back[j - 1] + (a[i - 1] != b[j - 1])
            row[j] = min(row[j - 1] + 1, one_back[j] + 1, replace)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], two_back[j - 2] + 1)  # a swap of neighbours
        two_back, one_back = one_back, row
    return one_back[len(b)]


def suggest(word: str, choices: Iterable[str], *, max_distance: int = 2) -> str | None:
    """The choice ``word`` is most likely a typo of, or None when none is close.

    A choice is close when at most ``max_distance`` edits (:func:`edit_distance`,
    ignoring case) away from ``word``, and fewer edits than ``word`` has characters (a
    short word is not a typo of an unrelated short word). Of several close choices the
    nearest wins, then the first given. A choice equal to ``word`` but for case is
    returned as written in ``choices``; one equal to it exactly, too (distance 0), so
    callers check ``word in choices`` first when an exact match needs no suggestion.

    Args:
        word: what was typed.
        choices: the known names.
        max_distance: the most edits a typo makes.

    Returns:
        The closest choice, as written in ``choices``, or None.

    Example:
        >>> suggest("prodution", ["staging", "production"])
        'production'
        >>> print(suggest("champion", ["staging", "production"]))
        None
        >>> print(f"unknown parameter 'lerning_rate'; did you mean "
        ...       f"{suggest('lerning_rate', ['n_estimators', 'learning_rate'])!r}?")
        unknown parameter 'lerning_rate'; did you mean 'learning_rate'?
    """
    best: tuple[int, str] | None = None
    for choice in choices:
        distance = edit_distance(word, choice)
        if distance <= max_distance and distance < len(word):
            if best is None or distance < best[0]:
                best = (distance, choice)
    return None if best is None else best[1]
