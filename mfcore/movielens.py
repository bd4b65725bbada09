"""MovieLens ratings: download once, verify the checksum, cache, and read into :class:`Ratings`.

Two GroupLens archives are known (see :data:`ARCHIVES`): ``ml-latest-small``
(100,836 ratings of 9,724 movies by 610 users, 0.5–5 stars) and ``ml-100k``
(100,000 ratings, 1–5 stars).  An archive is cached as ``<cache>/<name>.zip``
where ``<cache>`` is the ``data_home`` argument, else ``$MFCORE_DATA``, else
``$XDG_CACHE_HOME/mfcore``, else ``~/.cache/mfcore``.

Safety rules: a cached archive is checked against its published digest before
every use and never deleted or rewritten by mfcore; a download goes to a
temporary ``<name>.zip.part-*`` file in the cache folder, is verified, and only
then renamed into place, so an interrupted or corrupted download never leaves a
file behind.  Offline, :class:`~mfcore.errors.DataUnavailableError` says which
file to put where.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from .data import Ratings
from .errors import ChecksumError, DataUnavailableError
from .progress import progress

__all__ = ["load_movielens", "fetch_movielens", "cache_dir", "file_digest", "ARCHIVES"]

_BASE_URL = "https://files.grouplens.org/datasets/movielens"
TIMEOUT = 30.0  # seconds, for connecting and for each read of a download
_CHUNK = 1 << 16


def _read_latest(f) -> pd.DataFrame:
    return pd.read_csv(f)


def _read_100k(f) -> pd.DataFrame:
    return pd.read_csv(f, sep="\t", header=None, names=["userId", "movieId", "rating", "timestamp"])


def _titles_latest(f) -> pd.Series:
    df = pd.read_csv(f, usecols=["movieId", "title"])
    return pd.Series(df["title"].to_numpy(), index=df["movieId"].to_numpy())


def _titles_100k(f) -> pd.Series:
    df = pd.read_csv(f, sep="|", header=None, usecols=[0, 1], encoding="latin-1")
    return pd.Series(df[1].to_numpy(), index=df[0].to_numpy())


#: The known archives.  ``algorithm``/``digest`` are the published checksum:
#: GroupLens publishes a sha256 for ml-latest-small but only an md5 for ml-100k,
#: so that one is verified with md5.  ``url`` is looked up at call time (tests
#: point it at a ``file://`` URL).
ARCHIVES: dict[str, dict] = {
    "ml-latest-small": {
        "url": f"{_BASE_URL}/ml-latest-small.zip",
        "algorithm": "sha256",
        "digest": "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
        "ratings": "ratings.csv", "read_ratings": _read_latest,
        "titles": "movies.csv", "read_titles": _titles_latest,
    },
    "ml-100k": {
        "url": f"{_BASE_URL}/ml-100k.zip",
        "algorithm": "md5",
        "digest": "0e33842e24a9c977be4e0107933c0723",
        "ratings": "u.data", "read_ratings": _read_100k,
        "titles": "u.item", "read_titles": _titles_100k,
    },
}


def cache_dir(data_home=None) -> Path:
    """The cache folder: ``data_home``, else ``$MFCORE_DATA``, else ``$XDG_CACHE_HOME/mfcore`` or ``~/.cache/mfcore``.
    """
    if data_home is not None:
        return Path(data_home).expanduser()
    if os.environ.get("MFCORE_DATA"):
        return Path(os.environ["MFCORE_DATA"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "mfcore"


def file_digest(path, algorithm: str = "sha256") -> str:
    """Hex digest of the file at ``path`` (read in chunks)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_movielens(name: str = "ml-latest-small", data_home=None) -> Path:
    """Path of the verified archive ``<cache>/<name>.zip``, downloading it first if absent.

    The cache folder is ``data_home``, else ``$MFCORE_DATA``, else
    ``$XDG_CACHE_HOME/mfcore`` or ``~/.cache/mfcore``.  A cached file is checked
    against the published digest (sha256; md5 for ml-100k, the only one GroupLens
    publishes) on every call.

    Raises
    ------
    ChecksumError (a ValueError)
        The cached file or the fresh download has the wrong digest.  A cached
        file is left untouched; a bad download is discarded.
    DataUnavailableError (a FileNotFoundError)
        Not cached and the download failed (offline); the message says which
        URL to save where.
    """
    spec = _spec(name)
    cache = cache_dir(data_home)
    target = cache / f"{name}.zip"
    if target.is_file():
        _verify(target, name, spec, downloaded=False)
        return target
    _download(name, spec, target)
    return target


def load_movielens(name="ml-latest-small", data_home=None) -> Ratings:
    """MovieLens ratings as :class:`Ratings`, with raw ids and ``item_titles``.

    Parameters
    ----------
    name : str or path
        ``"ml-latest-small"`` or ``"ml-100k"`` (downloaded once into the cache,
        see :func:`fetch_movielens`), or the path of a local copy: a zip of
        either archive, a folder of extracted files (``ratings.csv`` and
        ``movies.csv``, or ``u.data`` and ``u.item``), or a folder holding
        ``ml-latest-small.zip`` / ``ml-100k.zip`` (checked like the cache).
        A zip given by its own path is read as is, without a checksum.
    data_home : path, optional
        The cache folder; default ``$MFCORE_DATA``, else ``$XDG_CACHE_HOME/mfcore``
        or ``~/.cache/mfcore``.

    Returns
    -------
    Ratings
        ``user_ids``/``item_ids`` hold the raw userId/movieId; the extra attribute
        ``item_titles`` is a NumPy array of titles aligned with item indices
        ("" where unknown).

    Raises
    ------
    ValueError
        ``name`` is neither a known archive nor an existing path.
    ChecksumError, DataUnavailableError
        See :func:`fetch_movielens`.
    """
    if isinstance(name, str) and name in ARCHIVES:
        return _load_zip(fetch_movielens(name, data_home), name)
    path = Path(name).expanduser()
    if path.is_file():
        return _load_zip(path, None)
    if path.is_dir():
        return _load_dir(path)
    text = os.fspath(name)
    if os.sep in text or "/" in text or text.lower().endswith(".zip"):
        raise DataUnavailableError(
            f"no such file or folder: {path}. Pass the path of a MovieLens zip or of a folder of its "
            f"extracted files, or one of the known names {', '.join(map(repr, ARCHIVES))}.")
    raise ValueError(f"unknown MovieLens data set {text!r}: use one of {', '.join(map(repr, ARCHIVES))}, "
                     "or the path of a local zip or extracted folder.")


# ---------------------------------------------------------------------- cache and download
def _spec(name) -> dict:
    try:
        return ARCHIVES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown MovieLens archive {name!r}: use one of "
                         f"{', '.join(map(repr, ARCHIVES))}.") from None


def _verify(path: Path, name: str, spec: dict, downloaded: bool) -> None:
    algorithm, expected = spec["algorithm"], spec["digest"]
    got = file_digest(path, algorithm)
    if got == expected:
        return
    size = path.stat().st_size
    if downloaded:
        raise ChecksumError(
            f"the download of {spec['url']} ({size:,} bytes) has {algorithm} {got}, expected {expected}: "
            "it was truncated or corrupted in transit, and nothing was cached. Re-run to try again, or "
            f"download it yourself and save it as {path.parent / (name + '.zip')}.")
    raise ChecksumError(
        f"{path} ({size:,} bytes) has {algorithm} {got}, expected {expected}: the file is truncated or "
        f"corrupted. Delete it and re-run to download it again, or put a good copy of {spec['url']} there.")


def _unavailable(name: str, spec: dict, target: Path, reason) -> DataUnavailableError:
    return DataUnavailableError(
        f"{name} is not cached and could not be downloaded ({reason}). "
        f"Download {spec['url']} and save it as {target}, or set MFCORE_DATA to a folder that "
        f"holds {name}.zip, or pass a local path.")


def _download(name: str, spec: dict, target: Path) -> None:
    url = spec["url"]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f"{name}.zip.part-", dir=target.parent)
    except OSError as exc:
        raise _unavailable(name, spec, target, f"cannot write to {target.parent}: {exc}") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
                    length = response.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    with progress(total=total, unit="B", unit_scale=True, desc=f"{name}.zip") as bar:
                        for chunk in iter(lambda: response.read(_CHUNK), b""):
                            out.write(chunk)
                            bar.update(len(chunk))
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", None) or exc
                raise _unavailable(name, spec, target, f"{type(exc).__name__}: {reason}") from exc
        _verify(Path(tmp), name, spec, downloaded=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        tmp = None
    finally:
        if tmp is not None:
            try:
                os.remove(tmp)
            except OSError:
                pass


# ---------------------------------------------------------------------- parsing
def _identify(names) -> tuple[str, dict] | tuple[None, None]:
    """The archive whose ratings file is among ``names`` (base names)."""
    for key, spec in ARCHIVES.items():
        if spec["ratings"] in names:
            return key, spec
    return None, None


def _load_zip(path: Path, name) -> Ratings:
    try:
        with zipfile.ZipFile(path) as zf:
            members = {}
            for info in sorted(zf.infolist(), key=lambda i: i.filename.count("/")):
                members.setdefault(info.filename.rsplit("/", 1)[-1], info.filename)
            key, spec = (name, ARCHIVES[name]) if name else _identify(members)
            if spec is None or spec["ratings"] not in members:
                raise DataUnavailableError(
                    f"{path} holds neither ratings.csv (ml-latest-small) nor u.data (ml-100k): "
                    "pass a MovieLens zip from https://grouplens.org/datasets/movielens/.")
            with zf.open(members[spec["ratings"]]) as f:
                frame = _parse(spec["read_ratings"], f, f"{path}:{members[spec['ratings']]}")
            titles = None
            if spec["titles"] in members:
                with zf.open(members[spec["titles"]]) as f:
                    titles = _parse(spec["read_titles"], f, f"{path}:{members[spec['titles']]}")
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ChecksumError(
            f"{path} is not a readable zip archive ({exc}): it is truncated or corrupted. "
            "Replace it with a good copy from https://grouplens.org/datasets/movielens/.") from None
    return _build(frame, titles)


def _load_dir(path: Path) -> Ratings:
    for folder in [path] + [path / key for key in ARCHIVES]:
        key, spec = _identify({p.name for p in folder.iterdir()} if folder.is_dir() else set())
        if spec is not None:
            frame = _parse(spec["read_ratings"], folder / spec["ratings"], folder / spec["ratings"])
            titles_file = folder / spec["titles"]
            titles = _parse(spec["read_titles"], titles_file, titles_file) if titles_file.is_file() else None
            return _build(frame, titles)
    for key in ARCHIVES:
        if (path / f"{key}.zip").is_file():
            return load_movielens(key, data_home=path)
    raise DataUnavailableError(
        f"{path} holds no MovieLens data: expected ratings.csv (ml-latest-small), u.data (ml-100k), "
        "or ml-latest-small.zip / ml-100k.zip.")


def _parse(reader, source, where) -> pd.DataFrame | pd.Series:
    try:
        return reader(source)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"{where} is not a readable MovieLens file ({first}).") from None


def _build(frame: pd.DataFrame, titles: pd.Series | None) -> Ratings:
    missing = [c for c in ("userId", "movieId", "rating") if c not in frame.columns]
    if missing:
        raise ValueError(f"the ratings file lacks column(s) {missing}; it has {list(frame.columns)}. "
                         "Expected userId,movieId,rating,timestamp.")
    data = Ratings.from_frame(frame, user="userId", item="movieId", rating="rating")
    if titles is None:
        data.item_titles = np.full(data.n_items, "", dtype=object)
    else:
        titles = titles[~titles.index.duplicated()]
        data.item_titles = titles.reindex(data.item_ids).fillna("").to_numpy(dtype=object)
    return data
