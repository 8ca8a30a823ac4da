"""Endpoint configurations: weighted variants, shadows, a holdout share, capture.

A configuration is plain data (stored as JSON, audited on each change) and is checked
entirely before it is stored: a bad weight or an unsafe name never reaches a server.

Variant weights are relative, as SageMaker's are: each variant gets its weight over the
sum of the weights (negative weights, and weights that are all 0, are refused). What is
stored is those shares, summing to 1, as alambic has always stored them: a server of any
release reads a stored endpoint the same way.

Example:
    >>> e = Endpoint.parse("fraud", {"variants": ["fraud-auto@production:9", "fraud-auto/8:1"]})
    >>> [(v.name, v.weight) for v in e.variants]
    [('fraud-auto@production', 0.9), ('fraud-auto/8', 0.1)]
    >>> e = Endpoint.parse("fraud", {"variants": ["a=fraud-auto/7:0.5", "b=fraud-auto/8:0.25"]})
    >>> [f"{v.weight:.0%}" for v in e.variants]
    ['67%', '33%']
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from alambic.errors import ConfigError

__all__ = ["Endpoint", "Variant"]

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_VARIANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@/-]{0,199}$")
_HEADER = re.compile(r"^[A-Za-z0-9-]{1,100}$")
_RELATIVE = "weights are relative shares: 9 and 1 send 90% and 10% of the traffic"
_KEYS = {
    "variants",
    "shadows",
    "holdout",
    "public",
    "capture",
    "key_header",
    "max_body_bytes",
    "description",
}


def _check_name(what: str, name: Any) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise ConfigError(
            f"{what} {name!r} is not allowed: use letters, digits, '.', '_' and '-' "
            f"(pattern {NAME.pattern})"
        )
    return name


def _fraction(what: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number between 0 and 1, got {value!r}") from None
    if not (0.0 <= number <= 1.0) or math.isnan(number):
        raise ConfigError(f"{what} must be between 0 and 1, got {value!r}")
    return number


def _variant_parts(text: Any) -> tuple[Any, Any, Any]:
    """The name, model and weight of ``[NAME=]REF[:WEIGHT]`` or a dict, unchecked."""
    if isinstance(text, dict):
        model = text.get("model")
        return text.get("name") or model, model, text.get("weight", 1.0)
    if not isinstance(text, str):
        raise ConfigError(f"a variant is 'REF[:WEIGHT]' or a dict, not {text!r}")
    name, eq, rest = text.partition("=")
    if not eq:
        name, rest = "", text
    model, colon, raw = rest.rpartition(":")
    if not colon:
        model, raw = rest, "1"
    return name or model, model, raw


@dataclass(frozen=True)
class Variant:
    """One model behind an endpoint: a registry reference and its share of traffic.

    Attributes:
        name: the label responses, captures and metrics carry (the reference by default).
        model: ``name@alias``, ``name/3`` or ``name`` (the latest version).
        weight: relative share of traffic (normalised over the endpoint's variants).
    """

    name: str
    model: str
    weight: float = 1.0

    @classmethod
    def parse(cls, text: str | dict[str, Any] | Variant) -> Variant:
        """``[NAME=]REF[:WEIGHT]`` or ``{"name", "model", "weight"}``.

        Example:
            >>> Variant.parse("challenger=fraud-auto/8:0.1")
            Variant(name='challenger', model='fraud-auto/8', weight=0.1)
        """
        from alambic.errors import AlambicError
        from alambic.registry import parse_ref

        if isinstance(text, Variant):
            return text
        name, model, weight = _variant_parts(text)
        if not isinstance(model, str):
            raise ConfigError(f"variant {text!r} needs a model reference (name@alias, name/3)")
        try:
            parse_ref(model)
        except AlambicError as exc:
            raise ConfigError(f"variant {text!r}: {exc}") from None
        try:
            number = float(weight)
        except (TypeError, ValueError):
            raise ConfigError(
                f"variant {text!r}: the weight must be a number ({_RELATIVE})"
            ) from None
        if not math.isfinite(number) or number < 0:
            raise ConfigError(f"variant {text!r}: the weight must be a number >= 0 ({_RELATIVE})")
        if not isinstance(name, str) or not _VARIANT.match(name):
            raise ConfigError(
                f"variant name {name!r} is not allowed: use letters, digits and . _ - @ / "
                f"(pattern {_VARIANT.pattern})"
            )
        return cls(name, model, number)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "weight": self.weight}


def _shares(endpoint: str, variants: tuple[Variant, ...]) -> tuple[Variant, ...]:
    """The variants with their weights made shares of the traffic (summing to 1).

    Weights are relative, as SageMaker's are: 9 and 1 are 90% and 10%, 0.5 and 0.25 are
    67% and 33%. Weights that sum to 1 already are kept as they are, so a stored
    configuration (kept as shares) reads back unchanged.
    """
    total = sum(v.weight for v in variants)
    if total == 0:
        raise ConfigError(
            f"endpoint {endpoint!r}: every variant has weight 0 (the weights sum to 0), so no "
            f"request could be answered; give at least one variant a weight > 0 ({_RELATIVE})"
        )
    if not math.isfinite(total):
        raise ConfigError(
            f"endpoint {endpoint!r}: the weights are too large to add up; use smaller numbers "
            "(they are relative: 9 and 1 is the same split as 0.9 and 0.1)"
        )
    if math.isclose(total, 1.0):
        return variants
    return tuple(Variant(v.name, v.model, v.weight / total) for v in variants)


@dataclass(frozen=True)
class Endpoint:
    """A named endpoint: variants sharing traffic, shadows, a holdout share.

    Attributes:
        name: the endpoint's name (also its model name in the v2 protocol).
        variants: answer requests; their weights are shares of the traffic, summing to 1
            (the weights given are relative: 9 and 1 become 0.9 and 0.1).
        shadows: receive a copy of each request after the response; never answer.
        holdout: share of requests flagged ``"holdout": true`` (the caller then ignores
            the model's decision, so unbiased outcomes keep reaching the training base).
        public: invocation needs no token (admin routes always do).
        capture: share of requests and responses written to the capture store.
        key_header: the request header whose value keeps a caller on one variant.
        max_body_bytes: requests with a larger body get 413.
        description: free text.
    """

    name: str
    variants: tuple[Variant, ...]
    shadows: tuple[Variant, ...] = ()
    holdout: float = 0.0
    public: bool = False
    capture: float = 1.0
    key_header: str = "x-caller-id"
    max_body_bytes: int = 10 * 1024 * 1024
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def parse(cls, name: str, config: dict[str, Any]) -> Endpoint:
        """Check a configuration (as stored, or as given by a user).

        Raises:
            ConfigError: what is wrong and what is allowed.
        """
        _check_name("endpoint name", name)
        unknown = set(config) - _KEYS
        if unknown:
            raise ConfigError(
                f"endpoint {name!r}: unknown setting(s) {sorted(unknown)}; known: {sorted(_KEYS)}"
            )
        raw = config.get("variants") or []
        if isinstance(raw, str | dict):
            raw = [raw]
        variants = tuple(Variant.parse(v) for v in raw)
        if not variants:
            raise ConfigError(f"endpoint {name!r} needs at least one variant (REF[:WEIGHT])")
        variants = _shares(name, variants)
        shadows = tuple(Variant.parse(v) for v in config.get("shadows") or [])
        names = [v.name for v in (*variants, *shadows)]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(
                f"endpoint {name!r}: variant names must differ, {duplicates} repeat; "
                "name them (NAME=REF)"
            )
        header = str(config.get("key_header", "x-caller-id"))
        if not _HEADER.match(header):
            raise ConfigError(f"endpoint {name!r}: key_header {header!r} is not a header name")
        limit = config.get("max_body_bytes", 10 * 1024 * 1024)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1024:
            raise ConfigError(f"endpoint {name!r}: max_body_bytes must be an integer >= 1024")
        return cls(
            name=name,
            variants=variants,
            shadows=shadows,
            holdout=_fraction("holdout", config.get("holdout", 0.0)),
            public=bool(config.get("public", False)),
            capture=_fraction("capture", config.get("capture", 1.0)),
            key_header=header.lower(),
            max_body_bytes=limit,
            description=str(config.get("description", "")),
        )

    def to_config(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "variants": [v.to_dict() for v in self.variants],
            "shadows": [v.to_dict() for v in self.shadows],
            "holdout": self.holdout,
            "public": self.public,
            "capture": self.capture,
            "key_header": self.key_header,
            "max_body_bytes": self.max_body_bytes,
            "description": self.description,
        }

    @property
    def models(self) -> list[str]:
        """Every reference the endpoint serves (variants, then shadows)."""
        return [v.model for v in (*self.variants, *self.shadows)]
