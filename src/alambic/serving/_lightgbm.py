"""One-row LightGBM scoring through its C API's single-row fast path.

``Booster.predict`` builds a predictor, a parameter string and ctypes arrays on every
call: for one row that is most of its cost (45 µs here, where the trees take under 7).
LightGBM's C API has a path for this case: ``LGBM_BoosterPredictForMatSingleRowFastInit``
prepares the prediction once, and ``LGBM_BoosterPredictForMatSingleRowFast`` scores a
row with it. :class:`OneRow` holds such a prepared prediction for a booster (its own
copy of the model, loaded from ``model_to_string``), on one thread, with the same
iterations ``Booster.predict`` uses (the best one when early stopping kept one, else
all). A call that finds it busy on another thread, or a LightGBM without that API, gets
None: the caller then scores through ``Booster.predict``.

Example:
    >>> import numpy as np
    >>> from lightgbm import LGBMRegressor
    >>> X = np.arange(40.0).reshape(20, 2)
    >>> model = LGBMRegressor(n_estimators=3, min_child_samples=2, verbose=-1)
    >>> booster = model.fit(X, X[:, 0]).booster_
    >>> fast = OneRow.of(booster)
    >>> bool(np.allclose(fast.predict(X[:1]), booster.predict(X[:1])))
    True
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import numpy as np

__all__ = ["OneRow"]

_NORMAL, _FLOAT64, _ROW_MAJOR = 0, 1, 1  # C_API_PREDICT_NORMAL, C_API_DTYPE_FLOAT64


class OneRow:
    """A booster's prepared one-row prediction (see the module's docstring)."""

    def __init__(self, lib: Any, booster: Any) -> None:
        self._lib, self._lock = lib, threading.Lock()
        self._handle, self._config = ctypes.c_void_p(), ctypes.c_void_p()
        self.width = booster.num_feature()
        iterations = ctypes.c_int()
        model = booster.model_to_string(num_iteration=-1).encode()
        _check(
            lib,
            lib.LGBM_BoosterLoadModelFromString(
                ctypes.c_char_p(model), ctypes.byref(iterations), ctypes.byref(self._handle)
            ),
        )
        classes = ctypes.c_int()
        _check(lib, lib.LGBM_BoosterGetNumClasses(self._handle, ctypes.byref(classes)))
        self.outputs = classes.value
        best = booster.best_iteration
        _check(
            lib,
            lib.LGBM_BoosterPredictForMatSingleRowFastInit(
                self._handle,
                ctypes.c_int(_NORMAL),
                ctypes.c_int(0),  # start iteration
                ctypes.c_int(best if best > 0 else -1),  # as Booster.predict picks
                ctypes.c_int(_FLOAT64),
                ctypes.c_int32(self.width),
                ctypes.c_char_p(b"num_threads=1"),
                ctypes.byref(self._config),
            ),
        )
        self._out = np.empty(self.outputs, dtype=np.float64)
        self._out_ptr = self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        self._length = ctypes.c_int64()

    @classmethod
    def of(cls, booster: Any) -> OneRow | None:
        """The prepared prediction of ``booster``, or None where LightGBM lacks the API."""
        try:
            import lightgbm.basic

            return cls(lightgbm.basic._LIB, booster)  # type: ignore[attr-defined]
        except (ImportError, AttributeError, OSError, RuntimeError, ValueError):
            return None

    def predict(self, row: np.ndarray) -> np.ndarray | None:
        """``Booster.predict`` of a ``[1, width]`` float64 C-ordered row (None: busy, or
        LightGBM refused it).

        Binary and regression models give shape ``[1]``, multiclass ``[1, classes]``.
        """
        if not self._lock.acquire(blocking=False):
            return None
        try:
            status = self._lib.LGBM_BoosterPredictForMatSingleRowFast(
                self._config,
                ctypes.c_void_p(row.ctypes.data),
                ctypes.byref(self._length),
                self._out_ptr,
            )
            scores = self._out.copy()
        finally:
            self._lock.release()
        if status != 0:  # Booster.predict says what is wrong
            return None
        return scores.reshape(1, -1) if self.outputs > 1 else scores

    def __del__(self) -> None:
        lib = getattr(self, "_lib", None)
        if lib is None:
            return
        if getattr(self, "_config", None):
            lib.LGBM_FastConfigFree(self._config)
        if getattr(self, "_handle", None):
            lib.LGBM_BoosterFree(self._handle)


def _check(lib: Any, status: int) -> None:
    if status != 0:
        lib.LGBM_GetLastError.restype = ctypes.c_char_p
        raise RuntimeError(lib.LGBM_GetLastError().decode(errors="replace"))
