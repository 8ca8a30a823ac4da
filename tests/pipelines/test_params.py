"""Reading ``-p NAME=VALUE`` pairs: list parameters, item types, unknown names."""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import alambic as al
from alambic.errors import ParameterError
from alambic.pipelines import parse_cli_params, validate_params


@al.pipeline
def fraud(
    categories: tuple[str, ...] = ("auto", "moto", "loisir"),
    sizes: tuple[int, ...] = (10, 20),
    tags: list[str] | None = None,
    pair: tuple[int, str] = (1, "a"),
    n_trials: int = 12,
    label: str = "x",
) -> None:
    pass


def parse(pair: str) -> Any:
    name = pair.partition("=")[0]
    return parse_cli_params(fraud.specs, [pair])[name]


def refusal(pair: str) -> str:
    with pytest.raises(ParameterError) as caught:
        parse_cli_params(fraud.specs, [pair])
    return str(caught.value)


# -- list parameters -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pair", "expected"),
    [
        ("categories=auto,moto", ("auto", "moto")),
        ("categories= auto , moto ", ("auto", "moto")),
        ('categories=["auto","moto"]', ("auto", "moto")),
        ("categories=[auto,moto]", ("auto", "moto")),
        ("categories=[auto, moto]", ("auto", "moto")),
        ("categories=(auto,moto)", ("auto", "moto")),
        ("categories=[auto,]", ("auto",)),
        ("categories=['auto', 'moto']", ("auto", "moto")),
        ("categories=['a,b', 'c']", ("a,b", "c")),
        ('categories="a,b"', ("a,b",)),
        ("categories=auto", ("auto",)),
        ("categories=[75001,69002]", ("75001", "69002")),
        ("categories=75001,69002", ("75001", "69002")),
        ("categories=null", ("null",)),
        ("categories=[]", ()),
        ("tags=null", None),
        ("tags=[a,b]", ["a", "b"]),
    ],
    ids=[
        "comma",
        "comma-spaces",
        "json",
        "bare-words-in-brackets",
        "bare-words-with-spaces",
        "bare-words-in-parentheses",
        "trailing-comma",
        "python-literal",
        "python-literal-item-with-comma",
        "json-string-is-one-item",
        "one-word",
        "numbers-in-brackets-stay-text",
        "numbers-stay-text",
        "null-is-a-word-when-not-optional",
        "empty-brackets",
        "optional-null",
        "optional-list",
    ],
)
def test_list_parameters_are_read_as_the_user_meant(pair: str, expected: Any) -> None:
    assert parse(pair) == expected


@pytest.mark.parametrize(
    ("pair", "expected"),
    [
        ("sizes=1,2", (1, 2)),
        ("sizes=[1,2]", (1, 2)),
        ("sizes=(3, 4)", (3, 4)),
        ("sizes=5", (5,)),
        ("pair=[2, b]", (2, "b")),
        ("pair=2,b", (2, "b")),
    ],
    ids=["comma", "json", "parentheses", "one-number", "fixed-tuple-bare", "fixed-tuple-comma"],
)
def test_items_take_the_type_of_the_annotation(pair: str, expected: Any) -> None:
    assert parse(pair) == expected


@pytest.mark.parametrize(
    ("pair", "fragment"),
    [
        ("sizes=1,x", "item [1] is 'x'"),
        ("sizes=[1,x]", "item [1] is 'x'"),
        ('sizes=[1,"2",1.5]', "item [2] is 1.5"),
        ('categories=["a",1]', "item [1] is 1"),
    ],
    ids=["comma", "bare-words", "json", "json-number-for-text"],
)
def test_a_bad_item_is_named(pair: str, fragment: str) -> None:
    message = refusal(pair)
    name = pair.partition("=")[0]
    assert message.startswith(f"parameter {name!r} expects tuple[")
    assert fragment in message


@pytest.mark.parametrize(
    ("pair", "comma", "json_list"),
    [
        ("categories=[auto,moto", "auto,moto", '["auto","moto"]'),
        ("categories=auto,moto]", "auto,moto", '["auto","moto"]'),
        ("categories=(auto,moto", "auto,moto", '["auto","moto"]'),
        ("categories=[auto,moto)", "auto,moto", '["auto","moto"]'),
        ('categories=[auto,"moto"]', "auto,moto", '["auto","moto"]'),
        ("categories=[auto,,moto]", "auto,moto", '["auto","moto"]'),
        ("categories=[auto,[moto]]", "auto,moto", '["auto","moto"]'),
        ("categories=[", "auto,moto,loisir", '["auto","moto","loisir"]'),
        ("sizes=[1,2", "1,2", "[1,2]"),
    ],
    ids=[
        "unclosed",
        "unopened",
        "unclosed-parenthesis",
        "mismatched",
        "mixed-quotes",
        "empty-item",
        "nested",
        "no-words-shows-the-default",
        "numbers",
    ],
)
def test_a_value_that_looks_like_a_list_but_is_not_one_is_refused(
    pair: str, comma: str, json_list: str
) -> None:
    name, _, text = pair.partition("=")
    message = refusal(pair)
    assert message.startswith(f"parameter {name!r} (tuple[")
    assert f"cannot read {text!r} as a list" in message
    assert f"-p {name}={comma} or -p '{name}={json_list}'" in message


@pytest.mark.parametrize("pair", ["categories=", "categories=,", "categories= , "])
def test_a_list_given_no_value_is_refused_with_how_to_ask_for_an_empty_one(pair: str) -> None:
    message = refusal(pair)
    assert "holds no value" in message
    assert "-p categories=a,b" in message and "-p 'categories=[]'" in message


def test_the_suggested_spellings_read_back_as_the_list() -> None:
    message = refusal("categories=[auto,moto")
    for spelling in ("categories=auto,moto", 'categories=["auto","moto"]'):
        assert spelling in message
        assert parse(spelling) == ("auto", "moto")


def test_brackets_mean_nothing_to_a_str_parameter() -> None:
    assert parse("label=[auto,moto") == "[auto,moto"


words = st.text(string.ascii_letters + string.digits + "_-.:/ ", min_size=1, max_size=8).map(
    str.strip
)
word_lists = st.lists(words.filter(bool), max_size=5)


@given(word_lists)
def test_comma_json_and_bracket_lists_round_trip(items: list[str]) -> None:
    expected = tuple(items)
    if items:  # an empty comma list is refused (see above)
        assert parse("categories=" + ",".join(items)) == expected
    assert parse("categories=" + json.dumps(items)) == expected
    assert parse("categories=[" + ",".join(items) + "]") == expected


@given(st.lists(st.integers(min_value=-(10**12), max_value=10**12), max_size=5))
def test_int_lists_round_trip(items: list[int]) -> None:
    expected = tuple(items)
    if items:
        assert parse("sizes=" + ",".join(map(str, items))) == expected
    assert parse("sizes=" + json.dumps(items)) == expected
    assert parse("sizes=(" + "".join(f"{item}, " for item in items) + ")") == expected


# -- unknown names -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pair", "hint"),
    [("n_trial=3", "'n_trials'"), ("N_TRIALS=3", "'n_trials'"), ("categorie=a", "'categories'")],
    ids=["missing-letter", "case", "plural"],
)
def test_an_unknown_name_suggests_the_closest_one(pair: str, hint: str) -> None:
    name = pair.partition("=")[0]
    message = refusal(pair)
    assert message.startswith(f"unknown parameter {name!r}; did you mean {hint}? ")
    assert "takes: categories, sizes, tags, pair, n_trials, label" in message


def test_an_unknown_name_far_from_every_parameter_gets_no_suggestion() -> None:
    message = refusal("zzz=1")
    assert message.startswith("unknown parameter 'zzz'; this pipeline takes: categories")
    assert "did you mean" not in message


def test_validate_params_suggests_too() -> None:
    with pytest.raises(ParameterError) as caught:
        validate_params(fraud.specs, {"n_trial": 3, "zzz": 1})
    assert str(caught.value).startswith(
        "unknown parameters 'n_trial' (did you mean 'n_trials'?), 'zzz'; this pipeline takes:"
    )
