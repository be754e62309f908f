"""Train the LSTM forecasters of the chapter *Forecasting time series* and save them in one checkpoint.

For each experiment of :data:`lstmlib.forecasting.TASKS` (a day of
half-hourly electricity demand, a week of Seattle's daily maximum
temperature, Microsoft's next closing price) and each multi-step strategy
(recursive, direct, sequence-to-sequence; only direct for the one-step
finance task), the script trains an :class:`lstmlib.models.LSTMForecaster`
on the training part with :func:`lstmlib.lstm_forecasting.train_forecaster`,
calibrates its 90 % interval on the validation part (never on the test
part) and saves everything in ``lstmlib/checkpoints/forecasters.pt``
(float32 weights, < 1 MB). The chapter loads the file, forecasts the test
part itself and compares with the baselines it fits on the page.

Usage:  python scripts/train_forecasters.py [--workers 3]
        python scripts/train_forecasters.py --record-only   (re-measure the file, rewrite its manifest entry)
        python scripts/train_forecasters.py --recalibrate-only   (recompute the interval margins, then record)

The models train in ``--workers`` processes, one thread each; the budget is
counted in optimisation steps, so the same command gives the same weights on
any machine (up to floating-point rounding). ``tests/test_checkpoints.py``
re-measures the recorded test metrics with :func:`measure`.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from multiprocessing import Pool

import numpy as np
import torch

from lstmlib.forecasting import TASKS, forecast_origins, prepare_task, to_units
from lstmlib.lstm_forecasting import TrainedForecaster, train_forecaster
from lstmlib.metrics import interval_coverage, mase
from lstmlib.models.forecaster import ForecasterConfig
from lstmlib.pretrained import CHECKPOINTS_DIR, read_manifest, record_checkpoint

SCRIPT = "scripts/train_forecasters.py"
FILENAME = "forecasters.pt"
#: How close a re-measured MASE or coverage must come (float rounding across machines).
TOLERANCE = 5e-3

#: (task, strategy) -> training settings, chosen by the validation-part error of a few short runs.
SETTINGS = {
    **{("energy", strategy): dict(hidden_size=64, lookback=96, steps=3000) for strategy in
       ("recursive", "direct", "seq2seq")},
    **{("weather", strategy): dict(hidden_size=32, lookback=56, steps=1500) for strategy in
       ("recursive", "direct", "seq2seq")},
    ("finance", "direct"): dict(hidden_size=32, lookback=20, steps=1000, relative=True),
}


def calibrated(name: str, entry: dict) -> dict:
    """A saved forecaster with its interval margins recomputed on the validation part by the current code."""
    task, data = TASKS[name], prepare_task(TASKS[name])
    forecaster = TrainedForecaster.from_checkpoint({k: entry[k] for k in entry if k != "final_loss"})
    forecaster.calibrate(data["values"], data["series"].covariates,
                         forecast_origins(data["split"], task.horizon, "validation"))
    return {**entry, "margin": forecaster.margin.tolist()}


def fit(key: tuple[str, str]) -> tuple[tuple[str, str], dict, float]:
    """Train and calibrate one forecaster; return its key, its checkpoint dict and the CPU seconds it took."""
    torch.set_num_threads(1)
    start = time.process_time()
    name, strategy = key
    task, settings = TASKS[name], dict(SETTINGS[key])
    data = prepare_task(task)
    covariates = data["series"].covariates
    config = ForecasterConfig(covariate_size=covariates.shape[1], hidden_size=settings.pop("hidden_size"),
                              horizon=task.horizon, strategy=strategy)
    forecaster, history = train_forecaster(data["values"], covariates, data["split"], config, seed=0, **settings)
    entry = calibrated(name, forecaster.to_checkpoint())
    entry["final_loss"] = float(np.mean(history.loss[-100:]))
    return key, entry, time.process_time() - start


def measure(checkpoint: dict) -> dict[str, float]:
    """Test MASE at each task's chosen lead time and mean 90 % interval coverage, for every saved forecaster."""
    metrics = {}
    for name, by_strategy in checkpoint["models"].items():
        task = TASKS[name]
        data = prepare_task(task)
        train = data["series"].values[data["split"].train]
        for strategy, entry in by_strategy.items():
            forecaster = TrainedForecaster.from_checkpoint({k: entry[k] for k in entry if k != "final_loss"})
            quantiles = to_units(task, forecaster.forecast(data["values"], data["series"].covariates,
                                                           data["origins"]))  # (N, H, Q)
            h = task.chosen - 1
            point = quantiles[..., forecaster.config.median_index]
            metrics[f"{name}_{strategy}_test_mase_h{task.chosen}"] = float(
                mase(data["targets"][:, h], point[:, h], train, data["series"].period))
            metrics[f"{name}_{strategy}_test_coverage90"] = float(
                interval_coverage(data["targets"], quantiles[..., 0], quantiles[..., -1]).mean())
    return metrics


def manifest_metrics(checkpoint: dict) -> dict[str, dict]:
    today = datetime.date.today().isoformat()
    return {name: {"value": round(value, 4), "data": f"lstmlib.forecasting.prepare_task(TASKS[{name.split('_')[0]!r}])"
                   " test part", "tolerance": TOLERANCE, "measured_on": today}
            for name, value in measure(checkpoint).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3, help="processes training side by side (one thread each)")
    parser.add_argument("--record-only", action="store_true",
                        help="do not train: re-measure the shipped file and rewrite its manifest entry")
    parser.add_argument("--recalibrate-only", action="store_true",
                        help="do not train: recompute the interval margins of the shipped file on the validation "
                             "part, save it and rewrite its manifest entry")
    args = parser.parse_args()
    out = CHECKPOINTS_DIR / FILENAME
    if args.recalibrate_only:
        checkpoint = torch.load(out, map_location="cpu", weights_only=True)
        checkpoint["models"] = {name: {strategy: calibrated(name, entry) for strategy, entry in by_strategy.items()}
                                for name, by_strategy in checkpoint["models"].items()}
        torch.save(checkpoint, out)
    elif not args.record_only:
        start = time.perf_counter()
        with Pool(args.workers) as pool:
            results = pool.map(fit, sorted(SETTINGS, key=lambda key: -SETTINGS[key]["steps"]), chunksize=1)
        models: dict[str, dict] = {}
        for (name, strategy), entry, seconds in results:
            models.setdefault(name, {})[strategy] = entry
            print(f"{name:8s} {strategy:9s} loss {entry['final_loss']:.4f}  {seconds / 60:.1f} CPU min")
        checkpoint = {"models": models, "settings": {f"{n}/{s}": v for (n, s), v in SETTINGS.items()},
                      "training": {"cpu_minutes": round(sum(r[2] for r in results) / 60, 1),
                                   "wall_minutes": round((time.perf_counter() - start) / 60, 1),
                                   "date": datetime.date.today().isoformat(), "workers": args.workers}}
        torch.save(checkpoint, out)
        print(f"saved {out} ({out.stat().st_size / 2**20:.2f} MiB)")
    checkpoint = torch.load(out, map_location="cpu", weights_only=True)
    training = checkpoint["training"]
    flags = [a for a in sys.argv[1:] if a not in ("--record-only", "--recalibrate-only")]
    record_checkpoint(FILENAME, script=SCRIPT, command=" ".join(["python", SCRIPT, *flags]),
                      trained_on=training["date"], cpu_minutes=training["cpu_minutes"],
                      metrics=manifest_metrics(checkpoint))
    for name, metric in read_manifest()[FILENAME]["metrics"].items():
        print(f"{name}: {metric['value']}")


if __name__ == "__main__":
    main()
