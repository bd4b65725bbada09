"""The ``mfcore`` command line (also ``python -m mfcore``).

Errors the user can fix (a missing file, bad data, a bad argument) print one
line on stderr and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import __version__
from .data import Ratings
from .datasets import DATASETS, load_data

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mfcore",
        description="Matrix factorization for explicit ratings (ALS, GD, ALS+GD, SGD, mini-batch GD).")
    parser.add_argument("--version", action="version", version=f"mfcore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("data", help="summarise a ratings data set",
                       description="Print users, items, ratings, density and the rating histogram.")
    p.add_argument("--data", default="synthetic",
                   help=f"{' | '.join(DATASETS)} | PATH (CSV user,item,rating; MovieLens zip or folder). "
                        "Default: synthetic (embedded, ml-100k-shaped, known rank).")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic data (default 0)")
    p.set_defaults(func=_cmd_data)
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
        print(f"mfcore {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
