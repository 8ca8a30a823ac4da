"""Materializers turn step outputs into one file and back, without pickle.

Built in: pandas and polars DataFrames (Parquet via pyarrow), pandas Series, numpy
arrays and scalars (``.npy``, no pickled objects), JSON-able values, bytes, and local
files (:class:`pathlib.Path`). Register your own for other types::

    from alambic.store import Materializer, register_materializer

    class TorchModule(Materializer):
        name = "torch-state-dict"
        types = ("torch.nn.Module",)

        def save(self, value, path):
            torch.save(value.state_dict(), path)

        def load(self, path):
            ...

    register_materializer(TorchModule())

Pickle (cloudpickle) is used only where a user opts in, with ``@al.step(allow_pickle=True)``
or ``ALAMBIC_ALLOW_PICKLE=true``: loading a pickle runs code, so alambic never does it
silently.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from alambic.core import BUILTIN, USER, PluginRegistry
from alambic.errors import MaterializerError

__all__ = [
    "Materializer",
    "find_materializer",
    "get_materializer",
    "materializer_registry",
    "register_materializer",
    "type_name",
]


def type_name(value: Any) -> str:
    """Return ``module.QualName`` of a value's type."""
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


class Materializer(ABC):
    """Stores values of some types as one file, and loads them back.

    Attributes:
        name: a unique, stable name recorded with every artifact it writes.
        types: the types it handles, as classes or ``"module.Name"`` strings (strings
            keep heavy libraries unimported until a value of theirs shows up).
    """

    name: ClassVar[str]
    types: ClassVar[tuple[type | str, ...]] = ()

    def can_save(self, value: Any) -> bool:
        """Return whether this materializer handles ``value``."""
        for kind in self.types:
            cls: Any = kind
            if isinstance(kind, str):
                module, _, attr = kind.rpartition(".")
                loaded = sys.modules.get(module)
                cls = getattr(loaded, attr, None) if loaded is not None else None
                if cls is None:  # its library is not even imported: cannot be its instance
                    continue
            if isinstance(value, cls):
                return True
        return False

    def dumps(self, value: Any) -> tuple[bytes, dict[str, Any]] | None:
        """Optionally serialise small values in memory (bytes, metadata); None means use save."""
        return None

    @abstractmethod
    def save(self, value: Any, path: Path) -> dict[str, Any] | None:
        """Write ``value`` to the file ``path``; may return JSON-able metadata."""

    @abstractmethod
    def load(self, path: Path) -> Any:
        """Read the value back from ``path``."""

    def load_with_meta(self, path: Path, meta: dict[str, Any]) -> Any:
        """Read the value back, given the metadata :meth:`save` returned (default: ignore it)."""
        return self.load(path)


class PandasMaterializer(Materializer):
    name = "pandas-parquet"
    types = ("pandas.DataFrame",)

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        value.to_parquet(path, engine="pyarrow")
        return {"rows": len(value), "columns": [str(c) for c in value.columns]}

    def load(self, path: Path) -> Any:
        import pandas as pd

        return pd.read_parquet(path, engine="pyarrow")


class PandasSeriesMaterializer(Materializer):
    name = "pandas-series-parquet"
    types = ("pandas.Series",)

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        frame = value.to_frame(name="__series__" if value.name is None else value.name)
        frame.to_parquet(path, engine="pyarrow")
        return {"rows": len(value), "name": value.name}

    def load(self, path: Path) -> Any:
        import pandas as pd

        frame = pd.read_parquet(path, engine="pyarrow")
        series = frame.iloc[:, 0]
        return series.rename(None) if series.name == "__series__" else series


class PolarsMaterializer(Materializer):
    name = "polars-parquet"
    types = ("polars.DataFrame",)

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        value.write_parquet(path)
        return {"rows": value.height, "columns": list(value.columns)}

    def load(self, path: Path) -> Any:
        from alambic.core import optional_import

        return optional_import("polars", extra="polars").read_parquet(path)


class NumpyMaterializer(Materializer):
    name = "numpy-npy"
    types = ("numpy.ndarray",)

    def can_save(self, value: Any) -> bool:
        # Object arrays would need pickle; they are refused here like any unknown type.
        return super().can_save(value) and getattr(value.dtype, "hasobject", False) is False

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        import numpy as np

        scalar = isinstance(value, np.generic)
        with open(path, "wb") as handle:
            np.save(handle, np.asarray(value), allow_pickle=False)
        return {"shape": list(np.shape(value)), "dtype": str(value.dtype), "scalar": scalar}

    def load(self, path: Path) -> Any:
        import numpy as np

        return np.load(path, allow_pickle=False)


class NumpyScalarMaterializer(NumpyMaterializer):
    """numpy scalars (``np.float32(1.5)``), loaded back as scalars of the same dtype."""

    name = "numpy-scalar"
    types = ("numpy.generic",)

    def load(self, path: Path) -> Any:
        return super().load(path)[()]


def _is_jsonable(value: Any, depth: int = 0) -> bool:
    if depth > 100:
        return False
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return True
    if isinstance(value, list | tuple):
        return all(_is_jsonable(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_jsonable(v, depth + 1) for k, v in value.items())
    return False


class JsonMaterializer(Materializer):
    """None, booleans, numbers, strings, and lists/tuples/dicts of them (tuples load as lists)."""

    name = "json"

    def can_save(self, value: Any) -> bool:
        exact = type(value) in (type(None), bool, int, float, str, list, tuple, dict)
        return exact and _is_jsonable(value)

    def dumps(self, value: Any) -> tuple[bytes, dict[str, Any]]:
        data = json.dumps(value, sort_keys=True, allow_nan=True).encode("utf-8")
        meta: dict[str, Any] = {"kind": type(value).__name__}
        if isinstance(value, bool | int | str) or (
            isinstance(value, float) and math.isfinite(value)
        ):
            if not isinstance(value, str) or len(value) <= 200:
                meta["value"] = value
        return data, meta

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        data, meta = self.dumps(value)
        path.write_bytes(data)
        return meta

    def load(self, path: Path) -> Any:
        return json.loads(path.read_text(encoding="utf-8"))


class BytesMaterializer(Materializer):
    name = "bytes"
    types = (bytes, bytearray)

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        path.write_bytes(bytes(value))
        return {"bytes": len(value)}

    def load(self, path: Path) -> Any:
        return path.read_bytes()


class FileMaterializer(Materializer):
    """A local file returned as a :class:`pathlib.Path`; loaded as a Path to a private copy."""

    name = "file"
    types = (Path,)

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        if not Path(value).is_file():
            raise MaterializerError(
                f"{value} is not a file; a step may return a Path only to an existing file"
            )
        shutil.copyfile(value, path)
        return {"filename": Path(value).name}

    def load(self, path: Path) -> Any:
        return self.load_with_meta(path, {})

    def load_with_meta(self, path: Path, meta: dict[str, Any]) -> Any:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="alambic-file-"))
        target = folder / str(meta.get("filename") or path.name)
        shutil.copyfile(path, target)
        return target


class PickleMaterializer(Materializer):
    """cloudpickle, for values of any type; only ever used on explicit opt-in."""

    name = "cloudpickle"

    def can_save(self, value: Any) -> bool:
        return True

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        import cloudpickle

        path.write_bytes(cloudpickle.dumps(value))
        return {}

    def load(self, path: Path) -> Any:
        import cloudpickle

        return cloudpickle.loads(path.read_bytes())


PICKLE = PickleMaterializer()
_BUILTINS: list[Materializer] = [
    JsonMaterializer(),
    PandasMaterializer(),
    PandasSeriesMaterializer(),
    PolarsMaterializer(),
    NumpyMaterializer(),
    NumpyScalarMaterializer(),
    BytesMaterializer(),
    FileMaterializer(),
]
_BUILTIN_NAMES = frozenset({m.name for m in _BUILTINS} | {PICKLE.name})


def _checked(materializer: Any) -> Materializer:
    """A materializer instance (a class is instantiated) that is allowed its name."""
    if isinstance(materializer, type) and issubclass(materializer, Materializer):
        materializer = materializer()
    if not isinstance(materializer, Materializer):
        raise MaterializerError(
            f"{materializer!r} is not a Materializer instance; subclass alambic.store.Materializer"
        )
    if not getattr(materializer, "name", None):
        raise MaterializerError(f"{type(materializer).__name__} needs a class attribute `name`")
    return materializer


materializer_registry: PluginRegistry[Materializer] = PluginRegistry(
    "materializer",
    error=MaterializerError,
    group="alambic.materializers",
    adapt=_checked,
    missing=lambda name, known: (
        f"no materializer named {name!r} is registered in this process; import the module "
        "that registers it (alambic.store.register_materializer) before loading this artifact"
    ),
)
materializer_registry.register_all([(m.name, m) for m in _BUILTINS], precedence=BUILTIN)


def register_materializer(materializer: Materializer) -> Materializer:
    """Register a materializer; it is tried before the built-ins and earlier ones.

    Registering one with the name of an existing user materializer replaces it.
    Third-party packages can also list theirs in the ``alambic.materializers``
    entry-point group (``name = "package.module:MyMaterializer"``).

    Example:
        >>> class Upper(Materializer):
        ...     name = "upper-text"
        ...     types = ()
        ...     def save(self, value, path): path.write_text(value)
        ...     def load(self, path): return path.read_text()
        >>> register_materializer(Upper()).name
        'upper-text'
    """
    if not isinstance(materializer, Materializer):
        raise MaterializerError(
            f"{materializer!r} is not a Materializer instance; subclass alambic.store.Materializer"
        )
    checked = _checked(materializer)
    reserved = checked.name.startswith("alambic-") and not type(checked).__module__.startswith(
        "alambic."
    )
    if checked.name in _BUILTIN_NAMES or reserved:
        raise MaterializerError(
            f"{checked.name!r} is a built-in materializer name; choose another name"
        )
    materializer_registry.register(checked.name, checked, precedence=USER)
    return checked


def find_materializer(
    value: Any, *, allow_pickle: bool = False, what: str = "value"
) -> Materializer:
    """Return the materializer for ``value``.

    Raises:
        MaterializerError: no materializer handles the value and pickle is not allowed.
    """
    found = materializer_registry.first(lambda materializer: materializer.can_save(value))
    if found is not None:
        return found
    if allow_pickle:
        return PICKLE
    raise MaterializerError(
        f"{what} is a {type_name(value)}, which alambic cannot store without pickle. "
        "Register a materializer for it (class MyType(alambic.store.Materializer): ...; "
        "alambic.store.register_materializer(MyType())), or opt in to pickling with "
        "@al.step(allow_pickle=True) or ALAMBIC_ALLOW_PICKLE=true"
    )


def get_materializer(name: str, *, allow_pickle: bool = False) -> Materializer:
    """Return the registered materializer called ``name`` (used when loading)."""
    if name == PICKLE.name and not allow_pickle:
        raise MaterializerError(
            "this artifact was pickled; loading it runs code, so alambic refuses unless you "
            "opt in with @al.step(allow_pickle=True) or ALAMBIC_ALLOW_PICKLE=true"
        )
    if name == PICKLE.name:
        return PICKLE
    return materializer_registry.get(name)
