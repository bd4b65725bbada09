"""One entry point for every data source the CLI and the lectures name.

``load_data("synthetic")`` is the embedded default; ``"ml-latest-small"`` and
``"ml-100k"`` go through :func:`mfcore.load_movielens` (cache, checksum); a path
to a zip or folder of MovieLens, or to a delimited text file of ratings (comma- or tab-separated, with or
without a header, e.g. ml-100k's ``u1.base``), is read directly.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pandas as pd

from .data import Ratings
from .errors import RatingsError

__all__ = ["load_data", "read_ratings_csv"]

DATASETS = ("synthetic", "ml-latest-small", "ml-100k")


def load_data(spec: str, seed: int = 0) -> Ratings:
    """Ratings named by ``spec``: "synthetic", "ml-latest-small", "ml-100k", or a path (CSV, zip, folder)."""
    from .movielens import load_movielens
    from .synthetic import synthetic_ratings

    if spec == "synthetic":
        return synthetic_ratings(seed=seed)
    if spec in DATASETS:
        return load_movielens(spec)
    path = Path(spec).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"no data set or file named {spec!r}: use one of {', '.join(DATASETS)} "
                                "or the path of a CSV file (user,item,rating), a MovieLens zip or folder.")
    if path.is_file() and not zipfile.is_zipfile(path):
        return read_ratings_csv(path)                   # any text file: .csv, .tsv, u.data, u1.base, ...
    return load_movielens(str(path))


def read_ratings_csv(path) -> Ratings:
    """Ratings from a delimited text file with columns user, item, rating (named, or the first three).

    The delimiter (comma, tab, semicolon, ...) is detected; without a header the first three columns are
    user, item, rating (MovieLens' ``u.data`` and ``u1.base`` are tab-separated user, item, rating, timestamp).
    Header names recognised: user/userId/user_id, item/movieId/item_id/movie, rating/score.
    Raw ids may be any values; they are mapped to 0-based indices and kept as ``user_ids``/``item_ids``.
    """
    path = Path(path)
    try:
        df = pd.read_csv(path, sep=None, engine="python")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, csv.Error) as exc:
        raise RatingsError(f"{path} is not a readable CSV of ratings ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else 'empty'}); "
                           "expected columns user,item,rating.") from None
    cols = {c.lower().replace("_", ""): c for c in df.columns}
    pick = lambda *names: next((cols[n] for n in names if n in cols), None)  # noqa: E731
    user, item, rating = pick("user", "userid"), pick("item", "itemid", "movieid", "movie"), pick("rating", "score")
    if None in (user, item, rating):
        if df.shape[1] < 3:
            raise RatingsError(f"{path} has {df.shape[1]} column(s) {list(df.columns)}; "
                               "expected at least three: user, item, rating.")
        if all(_numeric(c) for c in df.columns[:3]):   # no header: the first row is data
            df = pd.read_csv(path, sep=None, engine="python", header=None)
        user, item, rating = df.columns[:3]
    ratings = pd.to_numeric(df[rating], errors="coerce")
    bad = ratings.isna() & df[rating].notna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise RatingsError(f"{path}: the rating column {rating!r} holds a non-number "
                           f"({df[rating].iloc[row]!r}) in data row {row + 1}; ratings must be numbers.")
    df = df.assign(**{str(rating): ratings})
    return Ratings.from_frame(df, user=user, item=item, rating=str(rating))


def _numeric(x) -> bool:
    try:
        float(x)
        return True
    except (TypeError, ValueError):
        return False
