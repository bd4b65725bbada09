"""The ``mfcore`` command line (also ``python -m mfcore``).

Errors the user can fix (a missing file, bad data, a bad argument) print one
line on stderr and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from . import __version__
from .data import Ratings, align
from .datasets import DATASETS, load_data
from .estimator import SOLVERS
from .selection import bayes_search, compare_searches, grid_search, random_search
from .split import train_test_split

__all__ = ["main", "summary"]


def summary(data: Ratings, name: str = "") -> str:
    """A one-screen text summary: sizes, density, activity and the rating histogram."""
    uc, ic = data.user_counts, data.item_counts
    lines = [
        f"data set     {name or repr(data)}",
        f"users        {data.n_users:,}   ({int((uc == 0).sum()):,} with no rating)",
        f"items        {data.n_items:,}   ({int((ic == 0).sum()):,} with no rating)",
        f"ratings      {len(data):,}",
        f"density      {data.density:.4%}   ({data.n_users * data.n_items - len(data):,} cells missing)",
        f"per user     min {uc.min()}, median {int(np.median(uc))}, max {uc.max()}",
        f"per item     min {ic.min()}, median {int(np.median(ic))}, max {ic.max()}",
        f"ratings      mean {data.mean:.3f}, std {data.ratings.std():.3f}, "
        f"min {data.ratings.min():g}, max {data.ratings.max():g}",
    ]
    if data.truth is not None:
        t = data.truth
        lines.append(f"truth        rank K0 = {t.rank}, noise sd {t.noise:g}, "
                     f"RMSE of the true model {t.noise_rmse:.3f}")
    values, counts = np.unique(data.ratings, return_counts=True)
    if len(values) <= 20:
        lines.append("histogram")
        width = 40
        for v, c in zip(values, counts):
            bar = "#" * max(1, round(width * c / counts.max()))
            lines.append(f"  {v:>4g} | {bar:<{width}} {c:>8,} ({c / len(data):6.2%})")
    else:
        edges = np.histogram_bin_edges(data.ratings, bins=10)
        hist, _ = np.histogram(data.ratings, bins=edges)
        lines.append("histogram")
        for lo, hi, c in zip(edges[:-1], edges[1:], hist):
            lines.append(f"  [{lo:6.2f}, {hi:6.2f}) | {'#' * max(1, round(40 * c / hist.max()))} {c:,}")
    return "\n".join(lines)


def _cmd_data(args) -> int:
    data = load_data(args.data, seed=args.seed)
    print(summary(data, args.data))
    return 0


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--K must be comma-separated integers like 1,2,4,8, got {text!r}") from None
    return values


def _float_list(text: str, flag: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{flag} must be comma-separated numbers like 1e-5,1e-4, got {text!r}") from None


def _range(text: str, flag: str, cast):
    values = [cast(v) for v in _float_list(text, flag)] if cast is float else _int_list(text)
    if len(values) != 2:
        raise ValueError(f"{flag} must be a range low,high (two values), got {text!r}")
    return tuple(values)


def _cv_arg(text: str):
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--cv must be a hold-out fraction like 0.2 or a number of folds like 5, "
                         f"got {text!r}") from None
    return int(value) if value >= 1 and value == int(value) else value


def _step_arg(text: str):
    """--step: a number (the step size α) or the name of a solver's step-size rule (e.g. auto, block_trace)."""
    try:
        return float(text)
    except ValueError:
        return text


def _fit_options(args) -> dict:
    options = {"reg_mode": args.reg_mode}
    if args.biased:
        options["biased"] = True
    if args.max_iter is not None:
        options["max_iter"] = args.max_iter
    if args.step is not None:
        options["step"] = _step_arg(args.step)
    return options


def _prepare(args):
    """Load, validate and split: (data, train, test).  With ``--test FILE`` all of ``--data`` is the training set
    and the test set is that file, both indexed over the union of their raw ids (test-only users and items are cold).
    """
    data = load_data(args.data, seed=args.seed)
    if args.test is None:
        train, test = train_test_split(data, test_size=args.test_size, seed=args.seed)
        return data, train, test
    test = load_data(args.test, seed=args.seed)
    train, test = align(data, test)
    return train, train, test


def _cv_words(cv) -> str:
    return f"a {cv} hold-out" if isinstance(cv, float) else f"{cv} folds"


def _report(args, data, train, test, res, out: Path, files: dict, started: float) -> None:
    model = res.refit(train)
    test_rmse = model.rmse(test)
    cold = int(np.sum(~(model.seen_users_[test.users] & model.seen_items_[test.items])))
    best = {"data": args.data, "solver": args.solver, "search": res.method, "cv": args.cv,
            "best_params": res.best_params, "best_valid_rmse": res.best_valid_rmse,
            "on_boundary": res.on_boundary, "advice": res.advice, "lam_refit": model.lam_refit_,
            "refit_rule": model.refit_rule_, "biased": bool(args.biased), "test_file": args.test,
            "test_rmse": test_rmse, "test_pairs": len(test), "cold_test_pairs": cold,
            "trials": int(res.table["trial"].nunique()), "seconds": time.perf_counter() - started}
    if data.truth is not None:
        best["true_rank"] = data.truth.rank
        best["noise_rmse"] = data.truth.noise_rmse
    files["best"].write_text(json.dumps(best, indent=2) + "\n")
    b = res.best_params
    lines = [
        f"mfcore {args.command}: {args.data} ({data.n_users:,} users, {data.n_items:,} items, "
        f"{len(data):,} ratings), solver {args.solver}, {res.method} search",
        (f"  split          train {len(train):,} / test {len(test):,} (anchored, seed {args.seed}); "
         if args.test is None else f"  files          train {args.data} ({len(train):,}) / test {args.test} "
                                   f"({len(test):,}); ") + f"tuning on {_cv_words(args.cv)} of train",
        f"  best           K* = {b['K']}, λ* = {b['lam']:.3g}   (validation RMSE {res.best_valid_rmse:.4f})",
    ]
    for advice in res.advice:
        lines.append(f"  boundary       {advice}")
    rule = ("keeps the ridge λ|Ω|" if model.refit_rule_ == "ridge"
            else "keeps λ*: the weighted penalty already grows with the data")
    lines.append(f"  refit          on all {len(train):,} training ratings with λ = {model.lam_refit_:.3g} ({rule})")
    line = f"  test RMSE      {test_rmse:.4f} on {len(test):,} pairs"
    if cold:
        line += f" ({cold:,} cold: a user or item without training ratings)"
    if data.truth is not None:
        line += (f"   (true rank K0 = {data.truth.rank}; RMSE of the true model "
                 f"{data.truth.noise_rmse:.4f}, {test_rmse / data.truth.noise_rmse - 1:+.1%})")
    lines.append(line)
    lines.append(f"  time           {time.perf_counter() - started:.1f} s")
    lines.append("  files")
    for label, path in files.items():
        lines.append(f"    {label:<12} {path}")
    print("\n".join(lines))


def _cmd_cv(args) -> int:
    started = time.perf_counter()
    K = _int_list(args.K)
    lam = "auto" if args.lam == "auto" else _float_list(args.lam, "--lam")
    cv = _cv_arg(args.cv)
    args.cv = cv
    data, train, test = _prepare(args)
    res = grid_search(train, K=K, lam=lam, solver=args.solver, cv=cv, n_jobs=args.n_jobs, seed=args.seed,
                      verbose=True, **_fit_options(args))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"table": out / "cv.csv", "heatmap": out / "cv_heatmap.png", "best": out / "best.json"}
    res.table.to_csv(files["table"], index=False)
    _save(res.heatmap(), files["heatmap"])
    _report(args, data, train, test, res, out, files, started)
    return 0


def _cmd_tune(args) -> int:
    started = time.perf_counter()
    K = _range(args.K, "--K", int)
    lam = _range(args.lam, "--lam", float)
    cv = _cv_arg(args.cv)
    args.cv = cv
    data, train, test = _prepare(args)
    search = random_search if args.search == "random" else bayes_search
    res = search(train, K=K, lam=lam, n_trials=args.trials, solver=args.solver, cv=cv, n_jobs=args.n_jobs,
                 seed=args.seed, verbose=True, **_fit_options(args))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"table": out / f"{args.search}.csv", "progress": out / f"{args.search}_progress.png",
             "best": out / f"{args.search}_best.json"}
    res.table.to_csv(files["table"], index=False)
    _save(compare_searches({f"{args.search} search": res}), files["progress"])
    _report(args, data, train, test, res, out, files, started)
    return 0


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit status 2), like every other error of the CLI."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mfcore",
        description="Matrix factorization for explicit ratings (ALS, GD, ALS+GD, SGD, mini-batch GD).")
    parser.add_argument("--version", action="version", version=f"mfcore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    p = sub.add_parser("data", help="summarise a ratings data set",
                       description="Print users, items, ratings, density and the rating histogram.")
    p.add_argument("--data", default="synthetic",
                   help=f"{' | '.join(DATASETS)} | PATH (CSV user,item,rating; MovieLens zip or folder). "
                        "Default: synthetic (embedded, ml-100k-shaped, known rank).")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic data (default 0)")
    p.set_defaults(func=_cmd_data)

    def common(p):
        p.add_argument("--data", default="synthetic", help=f"{' | '.join(DATASETS)} | PATH (default synthetic)")
        p.add_argument("--solver", default="als", choices=SOLVERS, help="the solver fitted for every trial")
        p.add_argument("--cv", default="0.2", help="hold-out fraction (0.2) or number of folds (5)")
        p.add_argument("--test-size", type=float, default=0.2, help="share of ratings kept for the test (0.2)")
        p.add_argument("--test", default=None, metavar="PATH",
                       help="score on this separate file (e.g. ml-100k's u1.test) instead of a split of --data, "
                            "which is then all training data")
        p.add_argument("--biased", action="store_true",
                       help="fit μ + b_u + c_i + p_uᵀq_i (user and item biases, notes/derivations.md §11)")
        p.add_argument("--reg-mode", default="mean", choices=("mean", "weighted"), help="objective (default eq. 1)")
        p.add_argument("--max-iter", type=int, default=None, help="iterations / epochs per fit")
        p.add_argument("--step", default=None,
                       help="step size α of gd, als-gd, sgd, bgd: a number, or a rule (gd: auto, armijo, "
                            "lipschitz; als-gd: block_trace, block, global); default: the solver's own")
        p.add_argument("--n-jobs", type=int, default=1, help="parallel worker processes (default 1)")
        p.add_argument("--seed", type=int, default=0, help="seed of data, splits and fits (default 0)")
        p.add_argument("--out", default="results", help="output folder (default results/)")

    p = sub.add_parser("cv", help="cross-validate a (K, λ) grid, refit, report the test RMSE (Algorithm 6)",
                       description="Split train/test, grid-search (K, λ) on a validation split of train, draw "
                                   "the train/validation heatmaps, check the grid boundary, refit on all of "
                                   "train and report the test RMSE.")
    common(p)
    p.add_argument("--K", default="1,2,4,8,16", help="comma-separated latent dimensions (default 1,2,4,8,16)")
    p.add_argument("--lam", default="auto", help="'auto' (a log grid below λ_max) or comma-separated values")
    p.set_defaults(func=_cmd_cv)

    p = sub.add_parser("tune", help="random or Bayesian search over K and λ ranges, refit, test RMSE",
                       description="Random search or Bayesian optimisation (optuna TPE) over K in a range and "
                                   "λ on a log scale; then refit and report the test RMSE.")
    common(p)
    p.add_argument("--search", default="random", choices=("random", "bayes"), help="search method")
    p.add_argument("--trials", type=int, default=20, help="number of trials (default 20)")
    p.add_argument("--K", default="1,16", help="K range low,high (default 1,16)")
    p.add_argument("--lam", default="1e-7,1e-3", help="λ range low,high (default 1e-7,1e-3)")
    p.set_defaults(func=_cmd_tune)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, MemoryError, TypeError) as exc:
        message = " ".join(str(exc).split())
        print(f"mfcore {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
