"""Watch the fraud endpoint: drifted traffic, late labels, a monitor run and its report.

Run after ``serve_demo.py`` (``make demo`` does): starts ``alambic serve`` again, sends
300 auto listings of which the last 200 have drifted as a market does (a brand the
model never saw, prices 40% up, sellers' accounts younger), posts the fraud labels of
half of them (the ground truth that comes back days later), then runs the monitor
``fraud-health`` (drift, data quality, model quality and the quality estimated from the
scores alone, over the last hour, against the baseline and held-out scores the pipeline
registered with fraud-auto@production) and prints its verdict and the path of its HTML
report.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from fraud_schema import FEATURES, TARGET
from serve_demo import HERE, post, start_server, stop_server

import alambic as al
from alambic.errors import NotFoundError


def drifted(rows: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The listings as the market moved: a new brand, higher prices, newer accounts."""
    rng = np.random.default_rng(seed)
    out = rows.copy()
    out.loc[rng.random(len(out)) < 0.3, "brand"] = "tesla"
    out["price"] = (out["price"] * 1.4).round(2)
    out["price_gap"] = out["price"] / out["market_price"] - 1
    out["seller_account_age_days"] = (out["seller_account_age_days"] * 0.3).round()
    return out


def send(base: str, token: str, frame: pd.DataFrame, size: int = 50) -> list[dict[str, str]]:
    """POST the listings in requests of ``size`` rows; each row's request id and row."""
    sent = []
    for start in range(0, len(frame), size):
        part = frame.iloc[start : start + size]
        records = json.loads(part[FEATURES].to_json(orient="records"))
        status, answer = post(f"{base}/invocations", {"dataframe_records": records}, token)
        if status != 200:
            raise SystemExit(f"the endpoint refused the traffic: HTTP {status} {answer}")
        sent += [{"request_id": answer["request_id"], "row": i} for i in range(len(part))]
    return sent


def monitor() -> None:
    """``fraud-health``: created the first time, run every time."""
    checks = ["drift", "quality", "performance", "estimate"]
    try:
        if al.monitoring.get_monitor("fraud-health").config["checks"] != checks:
            al.monitoring.update_monitor("fraud-health", checks=checks)  # an older demo's
    except NotFoundError:
        al.monitoring.create_monitor(
            "fraud-health", endpoint="fraud", checks=checks, window="1h",
            minimum={"roc_auc": 0.8},
        )  # fmt: skip
    run = al.monitoring.run_monitor("fraud-health")
    results = run.results
    print(f"\nmonitor fraud-health: {run.status.upper()}")
    drift = results.get("drift", {})
    print(f"  drift in {len(drift.get('drifted', []))} of {len(drift.get('columns', []))} "
          f"columns: {', '.join(drift.get('drifted', []))}")  # fmt: skip
    for violation in results.get("quality", [])[:5]:
        print(f"  {violation['constraint_check_type']}: {violation['description']}")
    quality = results.get("performance", {}).get("groups", {})
    for name, group in quality.items():
        if "roc_auc" in group["metrics"]:
            low, high = group["ci"].get("roc_auc", [float("nan")] * 2)
            print(f"  {name}: ROC AUC {group['metrics']['roc_auc']:.3f} [{low:.3f}, {high:.3f}] "
                  f"on {group['labelled']} labelled of {group['predictions']}")  # fmt: skip
    for chunk in results.get("estimate", {}).get("chunks", []):
        low, high = chunk["band"]["roc_auc"]
        realized = chunk["realized"].get("roc_auc")
        beside = f", realized {realized:.3f} so far" if realized is not None else ""
        print(f"  estimated before the labels: ROC AUC {chunk['estimated']['roc_auc']:.3f} "
              f"[{low:.3f}, {high:.3f}]{beside}")  # fmt: skip
    print(f"report: {al.monitoring.report_file(run)}")
    print(f"(alambic monitors report {run.id} shows it in the terminal)")


def main() -> None:
    rows = pd.read_parquet(HERE / "data" / "listings.parquet")
    auto = rows[rows["category"] == "auto"].sort_values("listing_id").tail(300)
    traffic = pd.concat([auto.head(100), drifted(auto.tail(200))], ignore_index=True)
    token, _ = al.serving.create_token("monitor-demo", scope="invoke", endpoints=["fraud"])
    server, base = start_server()
    try:
        sent = send(base, token, traffic)
    finally:
        stop_server(server)
        al.serving.revoke_token(token)
    print(f"sent {len(sent)} listings to endpoint fraud (200 of them drifted)")
    labelled = pd.DataFrame(sent[::2])
    labelled["label"] = traffic[TARGET].to_numpy()[::2].astype(int)
    al.serving.write_labels("fraud", labelled)
    print(f"posted {len(labelled)} late labels")
    monitor()


if __name__ == "__main__":
    main()
