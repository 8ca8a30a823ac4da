"""Peer side of the serving benchmark: the same LightGBM model behind MLServer.

Runs only inside benchmarks/.venv-mlserver (see benchmarks/peers/requirements-mlserver.txt;
MLServer 1.7.1 needs fastapi<0.116, which clashes with Prefect's pins in .venv-peers),
never in alambic's own environment. Two commands:

    benchmarks/.venv-mlserver/bin/python benchmarks/peers/mlserver_serving.py \
        save MODEL_TXT OUT_DIR
    benchmarks/.venv-mlserver/bin/python benchmarks/peers/mlserver_serving.py \
        serve OUT_DIR HTTP_PORT GRPC_PORT PARALLEL_WORKERS

``save`` copies MODEL_TXT (the booster alambic's side fitted, as
``booster_.save_model`` writes it) into OUT_DIR with the ``model-settings.json`` of
MLServer's LightGBM runtime (``mlserver_lightgbm.LightGBMModel``, model name ``bench``),
loads it with this venv's LightGBM and checks that the trees it reads are the very
ones in MODEL_TXT. It prints one JSON line. ``serve`` writes ``settings.json``
(the ports, ``parallel_workers``, metrics, tracing and Kafka off, no debug) and replaces
itself with ``mlserver start OUT_DIR``. MLServer's uvicorn uses uvloop and httptools,
both installed in that venv (its best configuration). LightGBM's OpenMP is held to one
thread (``OMP_NUM_THREADS=1``), as the model alambic serves was fitted with ``n_jobs=1``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

MODEL = "bench"


def _trees(model_text: str) -> str:
    return model_text.split("end of trees", 1)[0]


def _save(model_txt: str, out_dir: str) -> dict[str, Any]:
    import lightgbm
    import mlserver

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_txt, out / "model.txt")
    settings = {
        "name": MODEL,
        "implementation": "mlserver_lightgbm.LightGBMModel",
        "parameters": {"uri": "./model.txt", "version": "v1"},
    }
    (out / "model-settings.json").write_text(json.dumps(settings, indent=2))
    loaded = lightgbm.Booster(model_file=str(out / "model.txt")).model_to_string()
    return {
        "tool": "mlserver",
        "version": mlserver.__version__,
        "lightgbm": lightgbm.__version__,
        "same_trees": _trees(loaded) == _trees(Path(model_txt).read_text()),
    }


def _serve(out_dir: str, http_port: str, grpc_port: str, parallel_workers: str) -> None:
    for var in [v for v in os.environ if v.startswith("MLSERVER")]:
        del os.environ[var]
    os.environ["OMP_NUM_THREADS"] = "1"
    settings = {
        "host": "127.0.0.1",
        "http_port": int(http_port),
        "grpc_port": int(grpc_port),
        "parallel_workers": int(parallel_workers),
        "metrics_endpoint": None,
        "debug": False,
        "kafka_enabled": False,
        "tracing_server": None,
    }
    Path(out_dir, "settings.json").write_text(json.dumps(settings, indent=2))
    bin_dir = Path(sys.executable).parent
    os.environ["PATH"] = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])
    mlserver = str(bin_dir / "mlserver")
    os.execv(mlserver, [mlserver, "start", out_dir])  # noqa: S606 - this venv's own mlserver


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "serve":
        _serve(*args)
        return
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    line = _save(*args)
    json_out.write(json.dumps(line) + "\n")
    json_out.flush()


if __name__ == "__main__":
    main()
