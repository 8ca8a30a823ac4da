"""The step cache's fingerprints: typed, stable keys, and what changed between two of them."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from alambic.pipelines._cache import Fingerprint, Inline, Stored

INPUTS: dict[str, Any] = {
    "rows": {"value": 5},
    "frame": {"artifact": {"hash": "ab" * 32, "materializer": "json"}, "path": ["train"]},
    "many": {"list": [{"value": 1}, {"artifact": {"hash": "cd" * 32}}]},
    "opts": {"dict": {"k": {"value": [1, "two"]}}},
}


def test_keys_are_those_alambic_0_1_0_computed() -> None:
    # Pinned from 0.1.0: a change here would make every cached step of every user miss.
    plain = Fingerprint.of("c0de", INPUTS)
    assert plain.key(["return"]) == (
        "bd9093239f0f60655e235028cc8f0e88aab68a6201473542b30ed3f0858a376b"
    )
    with_data = Fingerprint.of("c0de", INPUTS, "snap-1")
    assert with_data.key(["train", "test"]) == (
        "9c654fbc6c07c415cd2a471dcfe0d357d869736c96419eb660b1d14282c519e7"
    )


def test_arguments_are_typed_and_read_back_from_their_stored_form() -> None:
    fingerprint = Fingerprint.of("c0de", INPUTS, "snap-1")
    assert fingerprint.args["rows"] == Inline(5)
    assert fingerprint.args["frame"] == Stored("ab" * 32, ("train",))
    assert fingerprint.args["many"] == [Inline(1), Stored("cd" * 32)]
    assert fingerprint.args["opts"] == {"k": Inline([1, "two"])}
    again = Fingerprint.from_components(fingerprint.components())
    assert again == fingerprint


def test_changes_name_the_code_the_data_and_each_argument() -> None:
    before = Fingerprint.of("c0de", INPUTS, "snap-1")
    changed = {
        **INPUTS,
        "rows": {"value": 7},
        "frame": {"artifact": {"hash": "ef" * 32}, "path": ["train"]},
        "many": {"list": [{"value": 2}, {"artifact": {"hash": "cd" * 32}}]},
        "opts": {"dict": {"k": {"value": [1, "three"]}}},
    }
    after = Fingerprint.of("c0de2", changed, "snap-2")
    assert after.changes_since(before) == [
        "its code changed",
        "the data it reads changed",
        f"input 'frame' changed (content {'ab' * 4} → {'ef' * 4})",
        "input 'many' changed (content)",
        "argument 'opts' changed ({'k': [1, 'two']} → {'k': [1, 'three']})",
        "argument 'rows' changed (5 → 7)",
    ]
    assert after.changes_since(after) == []


def test_a_user_dict_with_a_key_named_a_is_a_value_not_a_content_hash() -> None:
    before = Fingerprint.of("c", {"config": {"value": {"a": 1}}})
    after = Fingerprint.of("c", {"config": {"value": {"a": 2}}})
    assert after.changes_since(before) == ["argument 'config' changed ({'a': 1} → {'a': 2})"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)
descriptions = st.recursive(
    st.builds(lambda v: {"value": v}, json_values)
    | st.builds(lambda h: {"artifact": {"hash": h}}, st.text("0123456789abcdef", min_size=4)),
    lambda inner: (
        st.builds(lambda items: {"list": items}, st.lists(inner, max_size=3))
        | st.builds(lambda d: {"dict": d}, st.dictionaries(st.text(max_size=3), inner, max_size=3))
    ),
    max_leaves=6,
)


@given(st.dictionaries(st.text(min_size=1, max_size=5), descriptions, max_size=4))
def test_the_stored_form_round_trips_to_the_same_key(inputs: dict[str, Any]) -> None:
    fingerprint = Fingerprint.of("code", inputs)
    again = Fingerprint.from_components(fingerprint.components())
    assert again.key(["return"]) == fingerprint.key(["return"])
    assert again.changes_since(fingerprint) == []


def test_a_dict_argument_keyed_like_the_stored_form_keeps_its_key() -> None:
    # {"v": …} is also how an inline value is stored: reading it back must not change it.
    fingerprint = Fingerprint.of("code", {"odd": {"dict": {"v": {"value": 1}}}})
    again = Fingerprint.from_components(fingerprint.components())
    assert again.key(["return"]) == fingerprint.key(["return"])
    assert fingerprint.changes_since(again) == []


def test_a_dict_argument_keyed_a_that_becomes_a_reference_is_explained() -> None:
    # {"a": step()} was stored as a dict holding a stored value; read back, it must not
    # pass for a content hash when the argument is now the step's output itself.
    before = Fingerprint.of("c", {"x": {"dict": {"a": {"artifact": {"hash": "ab" * 32}}}}})
    after = Fingerprint.of("c", {"x": {"artifact": {"hash": "cd" * 32}}})
    old = Fingerprint.from_components(before.components())
    assert after.changes_since(old) == ["input 'x' changed (content)"]
