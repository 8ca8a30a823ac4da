"""Typed pipeline parameters: specs from the signature, validation of overrides."""

from __future__ import annotations

import ast
import copy
import inspect
import json
import re
import types
import typing
from collections import abc
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from alambic.core import suggest
from alambic.errors import DefinitionError, ParameterError
from alambic.pipelines._graph import type_label

__all__ = ["ParamSpec", "param_specs", "parse_cli_params", "validate_params"]

_MISSING = inspect.Parameter.empty


@dataclass(frozen=True)
class ParamSpec:
    """One pipeline parameter: its name, type and default."""

    name: str
    annotation: Any
    default: Any = _MISSING

    @property
    def required(self) -> bool:
        """Whether a value must be given at run time."""
        return self.default is _MISSING

    def to_json(self) -> dict[str, Any]:
        """The parameter as stored in the pipeline definition."""
        data: dict[str, Any] = {"type": type_label(self.annotation), "required": self.required}
        if not self.required:
            data["default"] = self.default
        return data

    def validate(self, value: Any) -> Any:
        """Return ``value`` converted to the parameter's type.

        Raises:
            ParameterError: naming the parameter and the expected type.
        """
        if self.annotation is None:
            return value
        try:
            result = TypeAdapter(self.annotation).validate_python(value)
        except ValidationError as exc:
            raise ParameterError(
                f"parameter {self.name!r} expects {type_label(self.annotation)}, got {value!r} "
                f"({_problem(exc)})"
            ) from None
        try:
            json.dumps(result, allow_nan=True)
        except TypeError:
            raise ParameterError(
                f"parameter {self.name!r}: {value!r} is not JSON-able; parameters are stored "
                "with the run, so use numbers, strings, booleans, lists and dicts"
            ) from None
        return result


def param_specs(fn: Callable[..., Any], pipeline: str) -> dict[str, ParamSpec]:
    """Read the parameters of a pipeline function from its signature.

    An unannotated parameter takes the type of its default (``n=200`` is an int).

    Raises:
        DefinitionError: a parameter is *args/**kwargs, or its default does not fit its type.
    """
    try:
        hints = typing.get_type_hints(fn)
    except Exception as exc:
        raise DefinitionError(
            f"pipeline {pipeline!r}: cannot resolve its annotations: {exc}"
        ) from exc
    specs: dict[str, ParamSpec] = {}
    for name, parameter in inspect.signature(fn).parameters.items():
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise DefinitionError(
                f"pipeline {pipeline!r}: *{name} is not allowed; parameters need names"
            )
        annotation = hints.get(name)
        if (
            annotation is None
            and parameter.default is not _MISSING
            and parameter.default is not None
        ):
            annotation = type(parameter.default)
        spec = ParamSpec(name, annotation, copy.deepcopy(parameter.default))
        if not spec.required:
            try:
                spec = ParamSpec(name, annotation, spec.validate(spec.default))
            except ParameterError as exc:
                raise DefinitionError(f"pipeline {pipeline!r}: default of {exc}") from None
        specs[name] = spec
    return specs


def _problem(exc: ValidationError) -> str:
    """Pydantic's first complaint, naming the item it is about (``item [1] is 'x': …``)."""
    errors = exc.errors()
    if not errors:
        return str(exc)
    first = errors[0]
    loc = first.get("loc", ())
    if loc and all(isinstance(part, int) for part in loc):
        path = "".join(f"[{part}]" for part in loc)
        return f"item {path} is {first.get('input')!r}: {first['msg']}"
    return str(first["msg"])


def _unknown(names: list[str], specs: Mapping[str, ParamSpec]) -> ParameterError:
    """The error for parameter names the pipeline does not take, with a close name if any."""
    choices = list(specs)
    known = ", ".join(choices) or "none"
    if len(names) == 1:
        close = suggest(names[0], choices)
        hint = f"did you mean {close!r}? This" if close else "this"
        return ParameterError(f"unknown parameter {names[0]!r}; {hint} pipeline takes: {known}")
    named = []
    for name in names:
        close = suggest(name, choices)
        named.append(f"{name!r} (did you mean {close!r}?)" if close else repr(name))
    return ParameterError(f"unknown parameters {', '.join(named)}; this pipeline takes: {known}")


def validate_params(specs: Mapping[str, ParamSpec], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Merge overrides with defaults and check every value against its type.

    Raises:
        ParameterError: an unknown name (with the closest known one), a missing
            required value or a wrong type.

    Example:
        >>> specs = {"n_trials": ParamSpec("n_trials", int, 12)}
        >>> validate_params(specs, {"n_trials": "40"})
        {'n_trials': 40}
    """
    unknown = sorted(set(overrides) - set(specs))
    if unknown:
        raise _unknown(unknown, specs)
    values: dict[str, Any] = {}
    for name, spec in specs.items():
        if name in overrides:
            values[name] = spec.validate(overrides[name])
        elif spec.required:
            raise ParameterError(
                f"parameter {name!r} ({type_label(spec.annotation)}) is required; "
                f"pass it with -p {name}=VALUE"
            )
        else:
            values[name] = copy.deepcopy(spec.default)
    return values


# The types a list parameter may be declared with (``list[str]``, ``tuple[int, ...]``…).
_SEQUENCES: tuple[Any, ...] = (
    list,
    tuple,
    set,
    frozenset,
    abc.Sequence,
    abc.MutableSequence,
    abc.Set,
    abc.MutableSet,
)
_PAIRS = {"[": "]", "(": ")"}
_NOT_JSON = object()
# An item of a list written with bare words, ``[auto, moto]``: no quote, bracket or comma.
_BARE_WORD = re.compile(r"[^\[\](){}\"',]+")
_WORDS = re.compile(r"[^\[\](){}\"',\s]+")


def _sequence(annotation: Any) -> Any:
    """The list type a parameter takes (``list[str] | None`` → ``list[str]``), else None.

    A union is a list parameter only when every member but None is one.
    """
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _sequence(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        found = [_sequence(member) for member in members]
        return found[0] if found and all(f is not None for f in found) else None
    return annotation if (origin or annotation) in _SEQUENCES else None


def _item_type(sequence: Any) -> Any:
    """The type of the first item of a list type (None when it says nothing)."""
    args = [a for a in typing.get_args(sequence) if a is not Ellipsis]
    return args[0] if args else None


def _literal(text: str) -> list[Any] | None:
    """A Python list or tuple literal (``['auto', 'moto']``, ``(1, 2)``), else None."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return list(value) if isinstance(value, list | tuple) else None


def _bare_words(text: str) -> list[str] | None:
    """The items of ``[auto, moto]``, as a shell user types a list, else None."""
    inner = text[1:-1].strip()
    if not inner:
        return []
    items = [item.strip() for item in inner.split(",")]
    if len(items) > 1 and items[-1] == "":
        items.pop()  # a trailing comma, as Python allows: (auto,)
    return items if all(_BARE_WORD.fullmatch(item) for item in items) else None


def _readings(text: str, decoded: Any) -> Iterator[list[Any]]:
    """The ways a value in brackets reads as a list: JSON, a Python literal, bare words."""
    if isinstance(decoded, list):
        yield decoded
    for read in (_literal, _bare_words):
        items = read(text)
        if items is not None:
            yield items


def _bracketed(text: str, decoded: Any, *, texts: bool) -> list[Any] | None:
    """The items of a value in brackets, or None when it does not read as a list.

    When the items are texts, the first reading whose items all are strings wins, so
    ``[75001,69002]`` for a ``list[str]`` is two strings, as ``75001,69002`` is.
    """
    first = None
    for items in _readings(text, decoded):
        if not texts or all(isinstance(item, str) for item in items):
            return items
        first = items if first is None else first
    return first


def _how_to_write(spec: ParamSpec, text: str) -> str:
    """Both ways to write a list parameter, with the words the user typed when there are some."""
    words = _WORDS.findall(text)
    if not words and isinstance(spec.default, list | tuple | set | frozenset) and spec.default:
        words = [str(item) for item in spec.default]
    words = words or ["a", "b"]
    numeric = _item_type(_sequence(spec.annotation)) in (int, float, bool)
    items = []
    for word in words:
        try:
            decoded = json.loads(word) if numeric else word
        except json.JSONDecodeError:
            decoded = word
        items.append(json.dumps(decoded))
    return f"-p {spec.name}={','.join(words)} or -p '{spec.name}=[{','.join(items)}]'"


def _optional(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    is_union = origin is typing.Union or origin is types.UnionType
    return is_union and type(None) in typing.get_args(annotation)


def _parse_list(spec: ParamSpec, text: str) -> Any:
    """Read a list parameter: a JSON list, a bracket list of bare words, or a comma list.

    Items stay text; :meth:`ParamSpec.validate` converts them to the item type.

    Raises:
        ParameterError: the value looks like a list (brackets) but cannot be read as one.
    """
    stripped = text.strip()
    try:
        decoded = json.loads(stripped)
    except json.JSONDecodeError:
        decoded = _NOT_JSON
    if isinstance(decoded, dict) or (decoded is None and _optional(spec.annotation)):
        return decoded
    if isinstance(decoded, str):  # '"a,b"': one item, commas and all
        return [decoded]
    opens, closes = stripped[:1] in _PAIRS, stripped[-1:] in _PAIRS.values()
    if not opens and not closes:
        words = [item.strip() for item in stripped.split(",") if item.strip()]
        if not words:  # `-p categories=` is a slip far more often than a wish for nothing
            raise ParameterError(
                f"parameter {spec.name!r} ({type_label(spec.annotation)}): {text!r} holds no "
                f"value; give one or more (-p {spec.name}=a,b), or -p '{spec.name}=[]' "
                "for an empty list"
            )
        return words
    items = None
    if opens and len(stripped) > 1 and _PAIRS[stripped[0]] == stripped[-1]:
        texts = _item_type(_sequence(spec.annotation)) is str
        items = _bracketed(stripped, decoded, texts=texts)
    if items is None:
        raise ParameterError(
            f"parameter {spec.name!r} ({type_label(spec.annotation)}): cannot read {text!r} "
            f"as a list; write {_how_to_write(spec, stripped)}"
        )
    return items


def _parse_text(spec: ParamSpec, text: str) -> Any:
    if spec.annotation is str:
        return text
    if _sequence(spec.annotation) is not None:
        return _parse_list(spec, text)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_cli_params(specs: Mapping[str, ParamSpec], pairs: list[str]) -> dict[str, Any]:
    """Turn ``["n_estimators=300", "categories=auto,moto"]`` into typed overrides.

    Values are read as JSON when they parse as JSON; a str parameter takes the text as
    it is. A list parameter takes a JSON list (``["auto","moto"]``), a comma list
    (``auto,moto``) or a bracket list of bare words (``[auto,moto]``); its items are
    converted to the item type (``tuple[int, ...]`` → ints).

    Raises:
        ParameterError: a pair has no ``=``, names an unknown parameter (with the closest
            known name), or has a value that does not fit its type, or that looks like a
            list (brackets) but cannot be read as one.

    Example:
        >>> specs = {"categories": ParamSpec("categories", tuple[str, ...], ("auto",))}
        >>> parse_cli_params(specs, ["categories=[auto,moto]"])
        {'categories': ('auto', 'moto')}
    """
    overrides: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"-p {pair!r}: write parameters as NAME=VALUE")
        spec = specs.get(name)
        if spec is None:
            raise _unknown([name], specs)
        overrides[name] = spec.validate(_parse_text(spec, text))
    return overrides
