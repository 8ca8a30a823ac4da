"""Safe model formats (skops, LightGBM text, XGBoost UBJSON) with signatures and versions.

Names load lazily: registering the model materializers at ``import alambic`` costs nothing.
"""

from typing import TYPE_CHECKING

from alambic.core._lazy import lazy_exports

_EXPORTS = {
    "register_materializers": "._materializer",
    "Flavor": "._flavors",
    "flavor_for": "._flavors",
    "flavor_registry": "._flavors",
    "get_flavor": "._flavors",
    "register_flavor": "._flavors",
    "Model": "._model",
    "dumps_model": "._model",
    "load_model": "._model",
    "loads_model": "._model",
    "package": "._model",
    "package_manifest": "._model",
    "save_model": "._model",
    "Signature": "._signature",
    "infer_signature": "._signature",
}
__all__ = [
    "Flavor",
    "Model",
    "Signature",
    "dumps_model",
    "flavor_for",
    "flavor_registry",
    "get_flavor",
    "infer_signature",
    "load_model",
    "loads_model",
    "package",
    "package_manifest",
    "register_flavor",
    "register_materializers",
    "save_model",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from alambic.models._flavors import (
        Flavor,
        flavor_for,
        flavor_registry,
        get_flavor,
        register_flavor,
    )
    from alambic.models._materializer import register_materializers
    from alambic.models._model import (
        Model,
        dumps_model,
        load_model,
        loads_model,
        package,
        package_manifest,
        save_model,
    )
    from alambic.models._signature import Signature, infer_signature
