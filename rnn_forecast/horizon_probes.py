"""Is lesson 4's memory horizon a limit of memory, or of training? Three probes that ask.

``make horizon-probes`` (``python -m rnn_forecast.horizon_probes``) trains on the adding
problem with the memory-horizon experiment's data (:func:`rnn_forecast.memory_horizon.sequences`)
and settings (:mod:`rnn_forecast.adding`), changing one thing at a time, and writes every
model's held-out error after every epoch to ``results/horizon_probes.json``:

* ``simple_rnn``: the SimpleRNN at 25 and 50 steps, where at Adam's learning rate 1e-2 it
  ended at the level of always answering the mean. The same training at 1e-2 and 1e-3, each
  without and with ``clipnorm=1``, for longer. Every model is trained alone by plain
  ``model.fit`` (:func:`rnn_forecast.adding.train_alone`): ``clipnorm`` clips a whole weight
  tensor, which :func:`rnn_forecast.branches.fit_together` shares between its members.
* ``lstm_epochs``: the LSTM at 200 steps, which after 20 epochs was still at the level of
  always answering the mean: the same training, continued for more epochs.
* ``learning_rate``: the LSTM and the GRU at 100 steps at smaller learning rates (3e-3 and
  1e-3), to see whether 1e-2 is what puts the GRU ahead.

Lesson 4 loads the file (:func:`load_probes`) and names this script. The full run takes about
an hour on 2 busy cores; ``--probes`` runs some of them, ``--seeds`` fewer seeds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import rnn_forecast  # noqa: F401  (quiets TensorFlow before anything imports it)
from rnn_forecast import adding
from rnn_forecast.memory_horizon import DATA_SEED, ResultsFileError, sequences
from rnn_forecast.paths import REPOSITORY_ROOT
from rnn_forecast.results_files import environment, finite, read_checked, write_json

PROBES_PATH = REPOSITORY_ROOT / "results" / "horizon_probes.json"
SEEDS = (0, 1, 2, 3, 4)

#: probe -> the runs it makes: (cell, steps, learning rate, clipnorm, epochs, how it is trained).
PROBES = {
    "simple_rnn": [
        ("SimpleRNN", steps, rate, clip, 40, "alone")
        for steps in (25, 50)
        for rate in (1e-2, 1e-3)
        for clip in (None, 1.0)
    ],
    "lstm_epochs": [("LSTM", 200, 1e-2, None, 60, "together")],
    "learning_rate": [
        (cell, 100, rate, None, 40, "together") for rate in (3e-3, 1e-3) for cell in ("LSTM", "GRU")
    ],
}


def run(
    probes=tuple(PROBES),
    seeds=SEEDS,
    epochs: int | None = None,
    train_sequences: int = adding.TRAIN_SEQUENCES,
    test_sequences: int = adding.TEST_SEQUENCES,
    progress=print,
) -> dict:
    """Make every run of ``probes`` with every seed; the results as a JSON-ready dict.

    ``epochs``, if given, replaces every run's number of epochs (to try the script quickly).
    """
    started = time.perf_counter()
    runs = []
    for probe in probes:
        # Runs trained together share one fit_together call per (steps, learning rate, epochs).
        together: dict[tuple, list] = {}
        for cell, steps, rate, clip, planned, how in PROBES[probe]:
            run_epochs = planned if epochs is None else epochs
            if how == "together":
                together.setdefault((steps, rate, run_epochs), []).append(cell)
                continue
            x_train, y_train, x_test, y_test = sequences(steps, train_sequences, test_sequences)
            begun, curves = time.perf_counter(), {}
            for seed in seeds:
                _, curves[seed] = adding.train_alone(
                    cell, seed, x_train, y_train, x_test, y_test, run_epochs, rate, clip
                )
            runs.append(_run(probe, cell, steps, rate, clip, run_epochs, how, x_test, y_test, curves, begun))
            progress(_summary(runs[-1]))
        for (steps, rate, run_epochs), cells in together.items():
            x_train, y_train, x_test, y_test = sequences(steps, train_sequences, test_sequences)
            begun = time.perf_counter()
            trained = adding.train_cells(cells, seeds, x_train, y_train, x_test, y_test, run_epochs, rate)
            for cell in cells:
                curves = {seed: trained.test_mse[cell, seed] for seed in seeds}
                runs.append(
                    _run(
                        probe, cell, steps, rate, None, run_epochs, "together", x_test, y_test, curves, begun
                    )
                )
                progress(_summary(runs[-1]))
    return {
        "description": (
            "Adding problem probes: held-out MSE after each epoch, per run (cell, length, learning rate, "
            "clipnorm, epochs) and seed."
        ),
        "command": "make horizon-probes  (python -m rnn_forecast.horizon_probes)",
        "settings": {
            "probes": list(probes),
            "seeds": list(seeds),
            "train_sequences": train_sequences,
            "test_sequences": test_sequences,
            "data_seed": DATA_SEED,
            "units": adding.UNITS,
            "batch_size": adding.BATCH_SIZE,
            "optimizer": "Adam",
            "model": "Input((steps, 2)) -> cell(units) -> Dense(1); Adam, mean squared error",
        },
        "environment": environment(started),
        "runs": runs,
    }


def _run(probe, cell, steps, rate, clip, epochs, how, x_test, y_test, curves, begun) -> dict:
    return {
        "probe": probe,
        "cell": cell,
        "steps": steps,
        "learning_rate": rate,
        "clipnorm": clip,
        "epochs": epochs,
        "trained": "alone, plain model.fit" if how == "alone" else "fit_together",
        "baselines": adding.baselines(x_test, y_test),
        "seconds": round(time.perf_counter() - begun),
        "test_mse": {str(seed): [finite(value) for value in curve] for seed, curve in curves.items()},
    }


def _summary(run: dict) -> str:
    finals = [curve[-1] for curve in run["test_mse"].values()]
    return (
        f"{run['probe']:>13}: {run['cell']:>9} at {run['steps']:>3} steps, rate {run['learning_rate']:g}, "
        f"clipnorm {run['clipnorm']}, {run['epochs']} epochs ({run['seconds']} s): final test MSE by seed "
        + ", ".join("diverged" if value is None else f"{value:.3f}" for value in finals)
    )


def load_probes(path: str | Path = PROBES_PATH) -> dict:
    """Read a file written by :func:`run` and check that every run is complete."""
    return read_checked(Path(path), "horizon-probes", ResultsFileError, _check_probes)


def _check_probes(results: dict) -> None:
    seeds = sorted(str(seed) for seed in results["settings"]["seeds"])
    for entry in results["runs"]:
        if sorted(entry["test_mse"]) != seeds or any(
            len(curve) != entry["epochs"] for curve in entry["test_mse"].values()
        ):
            raise KeyError(f"{entry['cell']} at {entry['steps']} steps: a seed or an epoch is missing")
        entry["baselines"]["mean"], entry["baselines"]["recent marker"]
    results["environment"]["date"]


def find_runs(results: dict, **wanted) -> list[dict]:
    """The runs of ``results`` whose fields equal ``wanted`` (``cell="LSTM", steps=200``...)."""
    return [
        entry for entry in results["runs"] if all(entry.get(key) == value for key, value in wanted.items())
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", nargs="+", choices=list(PROBES), default=list(PROBES))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS), help="seeds of each run")
    parser.add_argument("--epochs", type=int, help="replace every run's number of epochs (a quick try)")
    parser.add_argument("--train-sequences", type=int, default=adding.TRAIN_SEQUENCES)
    parser.add_argument("--test-sequences", type=int, default=adding.TEST_SEQUENCES)
    parser.add_argument("--output", type=Path, default=PROBES_PATH, help=f"default {PROBES_PATH}")
    args = parser.parse_args(argv)
    print(f"Horizon probes: {', '.join(args.probes)}; seeds {args.seeds}; writing {args.output}")
    results = run(args.probes, args.seeds, args.epochs, args.train_sequences, args.test_sequences)
    write_json(args.output, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
