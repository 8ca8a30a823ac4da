"""Endpoint configurations, tokens and their CLI: checked before stored, audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import alambic as al
from alambic.errors import ConfigError, ServingError, StoreError
from alambic.serving import Endpoint, Variant, create_endpoint, get_endpoint, update_endpoint
from alambic.serving._endpoints import check_token, endpoint_history, serving_store
from alambic.serving._predictor import RequestError
from alambic.serving._protocols import columns_from_mlflow, columns_from_v2
from tests.cli.helpers import invoke
from tests.serving.helpers import COLUMNS, lgbm, register_live


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fraud-auto@production", Variant("fraud-auto@production", "fraud-auto@production", 1.0)),
        ("fraud-auto/8:0.1", Variant("fraud-auto/8", "fraud-auto/8", 0.1)),
        ("b=fraud-auto:3", Variant("b", "fraud-auto", 3.0)),
        ({"model": "m/2", "weight": 2}, Variant("m/2", "m/2", 2.0)),
    ],
    ids=["alias", "weight", "named", "dict"],
)
def test_variants_parse(text: Any, expected: Variant) -> None:
    assert Variant.parse(text) == expected


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "at least one variant"),
        ({"variants": ["m@Production"]}, "alias 'Production' is not allowed"),
        ({"variants": ["m/x"]}, "NAME/VERSION"),
        ({"variants": ["m:-1"]}, "weight must be a number >= 0"),
        ({"variants": ["m:abc"]}, "weight must be a number"),
        ({"variants": ["m:0"]}, "sum to 0"),
        ({"variants": ["a=m/1:0", "b=m/2:0.0"]}, "every variant has weight 0"),
        ({"variants": ["a=m/1:-0.5", "b=m/2:1"]}, r"weight must be a number >= 0 \(weights are re"),
        ({"variants": ["m:inf"]}, "weight must be a number >= 0"),
        ({"variants": ["m:nan"]}, "weight must be a number >= 0"),
        ({"variants": ["a=m/1:1e308", "b=m/2:1e308"]}, "too large to add up"),
        ({"variants": ["a=m/1", "a=m/2"]}, "names must differ"),
        ({"variants": ["m"], "holdout": 1.5}, "holdout must be between 0 and 1"),
        ({"variants": ["m"], "capture": "all"}, "capture must be a number"),
        ({"variants": ["m"], "max_body_bytes": 10}, "max_body_bytes"),
        ({"variants": ["m"], "key_header": "a b"}, "not a header name"),
        ({"variants": ["m"], "colour": "red"}, "unknown setting"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_configurations_are_refused_with_what_is_allowed(
    config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Endpoint.parse("e", config)


@pytest.mark.parametrize(
    ("weights", "shares"),
    [
        (["9", "1"], [0.9, 0.1]),
        (["0.5", "0.25"], [2 / 3, 1 / 3]),
        (["3", "1"], [0.75, 0.25]),
        (["1", "0"], [1.0, 0.0]),
        (["0.7", "0.3"], [0.7, 0.3]),
        (["1", "4", "1"], [1 / 6, 4 / 6, 1 / 6]),
    ],
    ids=["nine-to-one", "halves-and-quarters", "three-to-one", "one-parked", "sum-1", "thirds"],
)
def test_weights_are_relative_shares_stored_as_they_read_back(
    weights: list[str], shares: list[float]
) -> None:
    variants = [f"v{i}=m/{i + 1}:{w}" for i, w in enumerate(weights)]
    endpoint = Endpoint.parse("e", {"variants": variants})
    assert [v.weight for v in endpoint.variants] == pytest.approx(shares, abs=1e-15)
    # the stored form holds the shares, and reads back exactly (no drift at each read,
    # so an update with the same weights is no change)
    stored = endpoint.to_config()
    assert [v["weight"] for v in stored["variants"]] == [v.weight for v in endpoint.variants]
    assert Endpoint.parse("e", stored).to_config() == stored


def test_an_update_with_the_same_relative_weights_is_no_change() -> None:
    register_live(lgbm())
    variants = ["a=toy/1:1", "b=toy@production:4", "c=toy:1"]  # sixths: 1/6 + 4/6 + 1/6
    create_endpoint("fraud", variants=variants)
    update_endpoint("fraud", variants=variants)
    assert serving_store().get_endpoint("fraud").revision == 1
    assert [e.action for e in endpoint_history("fraud")] == ["create-endpoint"]
    # a row a server of an earlier release wrote (shares, summing to 1) reads unchanged
    older = {"variants": [{"name": "a", "model": "m/1", "weight": 0.16666666666666666},
                          {"name": "b", "model": "m/2", "weight": 0.8333333333333334}]}  # fmt: skip
    assert [v.weight for v in Endpoint.parse("e", older).variants] == [
        0.16666666666666666,
        0.8333333333333334,
    ]


def test_weights_are_normalised_and_the_config_round_trips() -> None:
    endpoint = Endpoint.parse("e", {"variants": ["a=m/1:3", "b=m/2:1"], "shadows": ["m/3"]})
    assert [v.weight for v in endpoint.variants] == [0.75, 0.25]
    assert Endpoint.parse("e", endpoint.to_config()) == endpoint
    assert endpoint.models == ["m/1", "m/2", "m/3"]


def test_endpoints_are_stored_audited_and_checked_against_the_registry() -> None:
    with pytest.raises(ServingError, match="no model group 'toy'"):
        create_endpoint("e", variants=["toy@production"])
    register_live(lgbm())
    create_endpoint("e", variants=["toy@production"], holdout=0.05)
    with pytest.raises(StoreError, match="already exists"):
        create_endpoint("e", variants=["toy@production"])
    update_endpoint("e", comment="more holdout", holdout=0.1)
    assert (
        get_endpoint("e").holdout == 0.1 and get_endpoint("e").variants[0].model == "toy@production"
    )
    assert serving_store().get_endpoint("e").revision == 2
    with pytest.raises(ConfigError):
        update_endpoint("e", holdout=2)
    assert get_endpoint("e").holdout == 0.1  # a refused change changes nothing
    update_endpoint("e", holdout=0.1)  # no change: no revision, no reload, no audit row
    assert serving_store().get_endpoint("e").revision == 2
    for ref, says in (("toy/9", "toy/9 names no version"), ("toy@staging", "promote one")):
        with pytest.raises(ServingError, match=says):  # a server could not load it
            update_endpoint("e", variants=[ref])
    with pytest.raises(ServingError, match="names no version"):
        create_endpoint("f", variants=["toy@production"], shadows=["toy/7"])
    al.serving.delete_endpoint("e")
    actions = [(a.action, a.comment) for a in endpoint_history("e")]
    assert actions == [
        ("create-endpoint", ""),
        ("update-endpoint", "more holdout"),
        ("delete-endpoint", ""),
    ]
    assert al.serving.list_endpoints() == []


def test_tokens_are_hashed_scoped_and_revocable() -> None:
    text, record = al.serving.create_token("site", scope="invoke", endpoints=["e"])
    store = serving_store()
    assert check_token(store, text) == record
    assert text.split("_", 2)[2] not in record.hash
    assert check_token(store, text + "x") is None
    assert check_token(store, "not-a-token") is None
    al.serving.revoke_token(text)  # the token text works as an id too
    assert check_token(store, text) is None
    with pytest.raises(ServingError, match="scope 'root' is unknown"):
        al.serving.create_token("x", scope="root")


# -- protocol parsers: any JSON value gives columns or a RequestError, never anything else --
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
keys = st.sampled_from(["dataframe_split", "dataframe_records", "instances", "inputs", "x"])


@settings(max_examples=300, deadline=None)
@given(payload=st.dictionaries(keys, json_values, max_size=2) | json_values)
def test_parsers_refuse_any_malformed_body_cleanly(payload: Any) -> None:
    for parse in (
        lambda p: columns_from_mlflow(p, COLUMNS),
        lambda p: columns_from_v2(p, {"price": "float", "year": "int", "brand": "category"}),
    ):
        try:
            columns = parse(payload)
        except RequestError as exc:
            assert 400 <= exc.status < 500 and str(exc)
        else:
            assert isinstance(columns, dict)
            # lists, or float64 arrays where a float column's values are all numbers
            assert all(isinstance(v, list | np.ndarray) for v in columns.values())


# The whole request path before scoring (protocol parser, then the signature's checks),
# fed bodies shaped like real ones: v2 tensors with any nesting, ids, outputs; CSV text.
_PREDICTOR: list[Any] = []


def _predictor() -> Any:
    from alambic.serving._predictor import Predictor

    if not _PREDICTOR:
        _PREDICTOR.append(Predictor(lgbm(), "toy/1"))
    return _PREDICTOR[0]


tensors = st.fixed_dictionaries(
    {
        "name": st.sampled_from([*COLUMNS, "x"]),
        "shape": st.lists(st.integers(0, 2), min_size=1, max_size=2)
        | st.lists(st.integers(-1, 3), max_size=3)
        | json_values,
        "datatype": st.sampled_from(["FP64", "INT64", "BYTES", "BOOL", "fp32", "X"]),
        "data": st.lists(
            st.floats() | st.integers() | st.text(max_size=3) | st.lists(st.floats(), max_size=2),
            max_size=4,
        )
        | json_values,
    }
)
v2_bodies = st.fixed_dictionaries(
    {"inputs": st.lists(tensors, max_size=4)},
    optional={
        "id": st.text(max_size=5) | json_values,
        "outputs": st.lists(st.fixed_dictionaries({"name": st.text(max_size=14)}), max_size=2)
        | json_values,
    },
)
csv_text = st.lists(
    st.lists(st.sampled_from(["1", "2.5", "", "bmw", "x", "1e400", '"a,b"', "nan"]),
             min_size=2, max_size=4),
    max_size=4,
).map(lambda rows: "\n".join(",".join(r) for r in [COLUMNS, *rows]))  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(body=v2_bodies)
def test_any_v2_body_is_scored_or_refused_with_a_4xx(body: Any) -> None:
    import json

    from alambic.serving._scoring import _v2_parse

    raw = json.dumps(body).encode()  # the stdlib writes any int, and NaN (then refused)
    _request_path(lambda p: _v2_parse(raw, {"content-type": "application/json"}, p))


@settings(max_examples=200, deadline=None)
@given(text=csv_text)
def test_any_csv_body_is_scored_or_refused_with_a_4xx(text: str) -> None:
    from alambic.serving._scoring import _mlflow_parse

    _request_path(lambda p: _mlflow_parse(text.encode(), {"content-type": "text/csv"}, p))


def _request_path(parse: Any) -> None:
    predictor = _predictor()
    try:
        parsed = parse(predictor)
        outputs = predictor.predict(predictor.matrix(parsed.columns))
    except RequestError as exc:
        assert 400 <= exc.status < 500 and str(exc)
    else:
        assert len(outputs.predictions) >= 1
        if parsed.id is not None:
            assert all(" " <= c <= "~" for c in parsed.id)  # it goes into a header


@pytest.mark.e2e  # the alambic command, in processes of its own
def test_the_cli_manages_endpoints_tokens_and_labels(tmp_path: Path) -> None:
    register_live(lgbm())

    def run(*args: str) -> Any:
        return invoke(tmp_path, *args)

    created = run("endpoints", "create", "fraud", "-v", "a=toy@production:9", "-v", "b=toy/1:1",
                  "--holdout", "0.05", "--public")  # fmt: skip
    assert created.code == 0, created.transcript
    assert "90%" in created.out and "10%" in created.out and "public" in created.out
    refused = run("endpoints", "create", "bad", "-v", "toy@production:-3")
    assert refused.code == 2 and "weight must be a number >= 0" in refused.err
    updated = run("endpoints", "update", "fraud", "--holdout", "0.1", "-m", "wider holdout")
    assert updated.code == 0 and "holdout 10.0%" in updated.out, updated.transcript
    listed = run("endpoints", "list")
    assert "fraud" in listed.out and "rev 2" in listed.out
    shown = run("endpoints", "show", "fraud")
    assert "update-endpoint" in shown.out and "wider holdout" in shown.out
    assert "holdout: 0.05 → 0.1" in shown.out  # what each change changed
    described = run("endpoints", "update", "fraud", "--description", "listing site")
    assert described.code == 0 and get_endpoint("fraud").description == "listing site"
    bad_port = run("serve", "--port", "99999")
    assert bad_port.code == 2 and "65535" in bad_port.err

    pd.DataFrame({"request_id": ["r1", "r2"], "label": [1, 0]}).to_csv(tmp_path / "l.csv",
                                                                       index=False)  # fmt: skip
    labelled = run("endpoints", "labels", "fraud", str(tmp_path / "l.csv"))
    assert labelled.code == 0 and "stored 2 labels" in labelled.out
    pd.DataFrame({"id": ["r1"]}).to_csv(tmp_path / "bad.csv", index=False)
    bad = run("endpoints", "labels", "fraud", str(tmp_path / "bad.csv"))
    assert bad.code == 2 and "request_id and label" in bad.err

    token = run("tokens", "create", "site", "--scope", "invoke", "-e", "fraud")
    assert token.code == 0 and token.out.startswith("alm_") and token.out.count("\n") == 1
    token_id = token.out.split("_")[1]
    assert f"token {token_id} (invoke) for site: printed once; stored hashed" in token.err
    assert token_id in run("tokens", "list").out
    revoked = run("tokens", "revoke", token_id)
    assert revoked.code == 0 and "revoked" in revoked.out
    assert run("tokens", "create", "x", "--scope", "root").code == 2

    assert run("endpoints", "delete", "fraud").code == 0
    assert run("endpoints", "show", "fraud").code == 2
    history = run("endpoints", "history", "fraud")  # a deleted endpoint's trail stays
    assert history.code == 0 and "delete-endpoint" in history.out and "created" in history.out
    assert run("endpoints", "history", "never").code == 2
