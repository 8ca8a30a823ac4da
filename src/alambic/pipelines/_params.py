"""Typed pipeline parameters: specs from the signature, validation of overrides."""

from __future__ import annotations

import copy
import inspect
import json
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

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
            problem = exc.errors()[0]["msg"] if exc.errors() else str(exc)
            raise ParameterError(
                f"parameter {self.name!r} expects {type_label(self.annotation)}, got {value!r} "
                f"({problem})"
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


def validate_params(specs: Mapping[str, ParamSpec], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Merge overrides with defaults and check every value against its type.

    Raises:
        ParameterError: an unknown name, a missing required value or a wrong type.
    """
    unknown = sorted(set(overrides) - set(specs))
    if unknown:
        known = ", ".join(specs) or "none"
        raise ParameterError(
            f"unknown parameter(s) {', '.join(unknown)}; this pipeline takes: {known}"
        )
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


def _parse_text(text: str, annotation: Any) -> Any:
    if annotation is str:
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    origin = typing.get_origin(annotation) or annotation
    if isinstance(origin, type) and origin in (list, tuple, set, frozenset):
        return [item.strip() for item in text.split(",") if item.strip()]
    return text


def parse_cli_params(specs: Mapping[str, ParamSpec], pairs: list[str]) -> dict[str, Any]:
    """Turn ``["n_estimators=300", "categories=auto,moto"]`` into typed overrides.

    Values are read as JSON when they parse as JSON; a list parameter also takes a
    comma-separated list; a str parameter takes the text as it is.

    Raises:
        ParameterError: a pair has no ``=``, names an unknown parameter or has a bad value.
    """
    overrides: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"-p {pair!r}: write parameters as NAME=VALUE")
        spec = specs.get(name)
        if spec is None:
            known = ", ".join(specs) or "none"
            raise ParameterError(f"unknown parameter {name!r}; this pipeline takes: {known}")
        overrides[name] = spec.validate(_parse_text(text, spec.annotation))
    return overrides
