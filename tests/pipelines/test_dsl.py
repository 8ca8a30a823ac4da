"""Tracing pipelines into graphs, and the errors that name the step and argument."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import alambic as al
from alambic.errors import DefinitionError, ParameterError
from alambic.pipelines import Graph, Node, parse_cli_params, validate_params
from tests.pipelines import flows


@al.step
def extract(category: str) -> pd.DataFrame:
    return pd.DataFrame({"category": [category]})


@al.step
def train(df: pd.DataFrame, n_estimators: int) -> dict[str, float]:
    return {"auc": 0.9}


@al.step
def evaluate(model: dict[str, float]) -> float:
    return model["auc"]


@al.step
def publish(model: dict[str, float]) -> None:
    return None


@al.step
def count(n: int) -> int:
    return n


@al.step
def listing() -> list[str]:
    return ["a"]


@al.pipeline
def fraud(
    categories: list[str] = ["auto", "moto", "loisir"],
    n_estimators: int = 200,
    min_auc: float = 0.8,
) -> None:
    for category in al.map(categories):
        model = train(extract(category), n_estimators)
        score = evaluate(model)
        with al.when(score >= min_auc):
            publish(model)


def test_a_step_outside_a_pipeline_is_a_plain_call() -> None:
    assert evaluate({"auc": 0.7}) == 0.7
    assert flows.square(4) == 16


def test_the_issue_example_traces_into_a_static_graph() -> None:
    graph = fraud.graph
    assert graph.topological_order() == ["extract", "train", "evaluate", "publish"]
    assert all(graph.nodes[n].scopes == ["map_1"] for n in graph.nodes)
    assert graph.maps["map_1"]["source"] == {"param": "categories"}
    assert graph.nodes["publish"].guards == [["when_1", True]]
    assert graph.conditions["when_1"]["expr"] == {
        "op": ">=",
        "args": [{"output": "evaluate", "name": "return"}, {"param": "min_auc"}],
    }
    assert graph.nodes["train"].args == {
        "df": {"output": "extract", "name": "return"},
        "n_estimators": {"param": "n_estimators"},
    }
    assert graph.params["categories"] == {
        "type": "list[str]",
        "required": False,
        "default": ["auto", "moto", "loisir"],
    }


def test_definition_round_trips_through_json_with_the_same_hash() -> None:
    graph = fraud.graph
    again = Graph.from_json(graph.to_json())
    assert again.hash == graph.hash
    assert again.to_json() == graph.to_json()
    assert len(graph.hash) == 64


def test_hash_changes_with_the_code_of_a_step() -> None:
    @al.step
    def evaluate(model: dict[str, float]) -> float:  # same name, different body
        return model["auc"] * 2

    @al.pipeline
    def fraud_v2(
        categories: list[str] = ["auto", "moto", "loisir"],
        n_estimators: int = 200,
        min_auc: float = 0.8,
    ) -> None:
        for category in al.map(categories):
            model = train(extract(category), n_estimators)
            score = evaluate(model)
            with al.when(score >= min_auc):
                publish(model)

    assert fraud_v2.graph.nodes["train"].code_hash == fraud.graph.nodes["train"].code_hash
    assert fraud_v2.graph.nodes["evaluate"].code_hash != fraud.graph.nodes["evaluate"].code_hash


def test_calling_a_step_twice_gives_unique_node_names() -> None:
    @al.pipeline
    def twice(n: int = 1) -> Any:
        return count(count(n))

    assert sorted(twice.graph.nodes) == ["count", "count_2"]
    assert twice.graph.nodes["count_2"].args == {"n": {"output": "count", "name": "return"}}


def test_map_over_a_step_output_and_gathering() -> None:
    graph = flows.dynamic.graph
    assert graph.maps["map_1"]["source"] == {"output": "numbers", "name": "return"}
    assert graph.nodes["total"].args["values"] == {
        "gather": {"output": "square", "name": "return"},
        "over": ["map_1"],
    }
    assert graph.nodes["total"].scopes == []


def test_otherwise_is_the_else_branch() -> None:
    graph = flows.gated.graph
    assert graph.nodes["publish"].guards == [["when_1", True]]
    assert graph.nodes["alert"].guards == [["when_1", False]]


def test_tuple_annotation_means_several_outputs() -> None:
    assert flows.pairs.graph.nodes["split_pair"].outputs == ["0", "1"]


def test_describe_and_mermaid_show_the_dag() -> None:
    rows = fraud.graph.describe()
    assert [r["node"] for r in rows] == ["extract", "train", "evaluate", "publish"]
    assert rows[3]["when"] == "evaluate >= parameter 'min_auc'"
    assert "n_estimators←$n_estimators" in rows[1]["inputs"]
    mermaid = fraud.graph.to_mermaid()
    assert mermaid.startswith("flowchart TD")
    assert "train --> evaluate" in mermaid


# -- errors --------------------------------------------------------------------------------
def definition_error(fn: Any) -> str:
    with pytest.raises(DefinitionError) as caught:
        al.pipeline(fn).graph  # noqa: B018
    return str(caught.value)


def test_unknown_argument_names_step_and_argument() -> None:
    def bad(n: int = 1) -> None:
        count(m=n)  # type: ignore[call-arg]

    message = definition_error(bad)
    assert "step 'count'" in message and "'m'" in message


def test_missing_argument_is_refused() -> None:
    def bad() -> None:
        count()  # type: ignore[call-arg]

    assert "step 'count'" in definition_error(bad)
    assert "missing" in definition_error(bad)


def test_wrong_type_where_annotated_names_step_argument_and_source() -> None:
    def bad(name: str = "x") -> None:
        count(name)

    message = definition_error(bad)
    assert "argument 'n' of step 'count' expects int" in message
    assert "parameter 'name' of type str" in message


def test_tuples_and_lists_of_fitting_items_are_interchangeable() -> None:
    def tuple_into_list(words: tuple[str, ...] = ("a",)) -> None:
        flows.joined(words)

    def list_into_tuple(words: list[str] = ["a"]) -> None:
        flows.kind_of(words)

    for fn in (tuple_into_list, list_into_tuple):
        al.pipeline(fn).graph  # noqa: B018 - traced without an error

    def numbers_into_words(values: tuple[int, ...] = (1,)) -> None:
        flows.joined(values)

    message = definition_error(numbers_into_words)
    assert "expects list[str]" in message and "tuple[int, ...]" in message


def test_a_step_output_of_the_wrong_type_is_refused() -> None:
    def bad() -> None:
        count(extract("a"))

    assert "expects int, but gets extract of type DataFrame" in definition_error(bad)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (lambda n: al.map(n), "al.map needs a list, but the value is of type int"),
        (lambda n: al.map(count(n)), "al.map needs a list, but the value is of type int"),
        (lambda n: al.map(3), "al.map needs a list"),
    ],
    ids=["int-parameter", "int-output", "constant"],
)
def test_map_over_a_non_list_is_refused(body: Any, expected: str) -> None:
    def bad(n: int = 1) -> None:
        for _ in body(n):
            pass

    assert expected in definition_error(bad)


def test_map_over_a_list_output_is_accepted() -> None:
    @al.pipeline
    def good() -> None:
        for item in al.map(listing()):
            extract(item)

    assert good.graph.nodes["extract"].scopes == ["map_1"]


def test_python_if_on_a_runtime_value_points_to_al_when() -> None:
    def bad(n: int = 1) -> None:
        if count(n) > 3:
            count(n)

    assert "al.when" in definition_error(bad)


def test_python_for_on_a_runtime_value_points_to_al_map() -> None:
    def bad() -> None:
        for _ in listing():
            pass

    assert "al.map(" in definition_error(bad)


def test_otherwise_needs_a_when_right_before() -> None:
    def bad(n: int = 1) -> None:
        with al.otherwise():
            count(n)

    assert "must come right after" in definition_error(bad)


def test_a_non_jsonable_constant_argument_is_refused() -> None:
    def bad() -> None:
        evaluate(pd.DataFrame())  # type: ignore[arg-type]

    message = definition_error(bad)
    assert "argument 'model' of step 'evaluate'" in message
    assert "constant DataFrame" in message


def test_dsl_verbs_outside_a_pipeline_are_refused() -> None:
    with pytest.raises(DefinitionError, match=r"inside an @al\.pipeline"):
        al.when(True)  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match=r"inside an @al\.pipeline"):
        next(iter(al.map([1, 2])))


def test_a_bad_default_is_refused_at_definition() -> None:
    def bad(n: int = "many") -> None:  # type: ignore[assignment]
        count(n)

    assert "default of parameter 'n' expects int" in definition_error(bad)


def test_calling_a_pipeline_directly_explains_how_to_run_it() -> None:
    with pytest.raises(DefinitionError, match=r"al.run\(fraud"):
        fraud()


def test_a_cycle_in_a_definition_is_named() -> None:
    def node(name: str, source: str) -> Node:
        return Node(
            id=name,
            step=name,
            code={},
            code_hash="x",
            args={"x": {"output": source, "name": "return"}},
        )

    graph = Graph(
        name="loop",
        params={},
        nodes={"a": node("a", "c"), "b": node("b", "a"), "c": node("c", "b")},
    )
    with pytest.raises(DefinitionError, match="cycle: a -> c -> b -> a"):
        graph.validate()


def test_an_unknown_reference_in_a_definition_is_named() -> None:
    graph = Graph(
        name="g",
        params={},
        nodes={"a": Node(id="a", step="a", code={}, code_hash="x", args={"x": {"param": "nope"}})},
    )
    with pytest.raises(DefinitionError, match="argument 'x' of step 'a' uses unknown parameter"):
        graph.validate()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(min_value=0, max_value=50), max_size=3), min_size=1, max_size=12)
)
def test_random_dags_trace_to_a_valid_topological_order(shape: list[list[int]]) -> None:
    """Step k may read any earlier steps' outputs; the order must respect every edge."""

    @al.step
    def combine(values: list[int]) -> int:
        return sum(values)

    def body() -> None:
        outputs: list[Any] = []
        for picks in shape:
            inputs = [outputs[p % len(outputs)] for p in picks] if outputs else []
            outputs.append(combine(inputs))

    graph = al.pipeline(body).graph
    order = graph.topological_order()
    assert sorted(order) == sorted(graph.nodes)
    position = {node: i for i, node in enumerate(order)}
    for node in graph.nodes:
        for dep in graph.dependencies(node):
            assert position[dep] < position[node]
    assert Graph.from_json(graph.to_json()).hash == graph.hash


# -- parameters ----------------------------------------------------------------------------
def test_overrides_are_typed_and_validated() -> None:
    specs = fraud.specs
    assert validate_params(specs, {"n_estimators": "300"})["n_estimators"] == 300
    with pytest.raises(ParameterError, match=r"parameter 'n_estimators' expects int, got 'many'"):
        validate_params(specs, {"n_estimators": "many"})
    with pytest.raises(ParameterError, match="unknown parameter"):
        validate_params(specs, {"n_estimator": 3})


def test_required_parameters_must_be_given() -> None:
    with pytest.raises(ParameterError, match=r"'marker_dir' .* is required"):
        validate_params(flows.retried.specs, {})


@pytest.mark.parametrize(
    ("pair", "expected"),
    [
        ("n_estimators=300", {"n_estimators": 300}),
        ("min_auc=0.85", {"min_auc": 0.85}),
        ("categories=auto,moto", {"categories": ["auto", "moto"]}),
        ('categories=["a b","c"]', {"categories": ["a b", "c"]}),
    ],
    ids=["int", "float", "comma-list", "json-list"],
)
def test_cli_values_are_parsed_by_type(pair: str, expected: dict[str, Any]) -> None:
    assert parse_cli_params(fraud.specs, [pair]) == expected


def test_cli_strings_stay_strings() -> None:
    @al.pipeline
    def texts(day: str = "x") -> None:
        pass

    assert parse_cli_params(texts.specs, ["day=2026"]) == {"day": "2026"}


@pytest.mark.parametrize(
    "pair",
    ["n_estimators", "=3", "n_estimators=abc", "zzz=1"],
    ids=["no-equals", "no-name", "bad-int", "unknown"],
)
def test_bad_cli_values_are_refused(pair: str) -> None:
    with pytest.raises(ParameterError):
        parse_cli_params(fraud.specs, [pair])
