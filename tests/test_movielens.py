"""load_movielens: real counts, cache resolution, local paths, offline download, checksum safety."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mfcore.errors import ChecksumError, DataUnavailableError
from mfcore.movielens import ARCHIVES, cache_dir, fetch_movielens, file_digest, load_movielens

SHA = ARCHIVES["ml-latest-small"]["digest"]


@pytest.fixture
def shared_data() -> Path:
    """The folder holding ml-latest-small.zip: $MFCORE_DATA, else /work/shared/data; skip if absent."""
    env = os.environ.get("MFCORE_DATA")
    folder = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (folder / "ml-latest-small.zip").is_file():
        pytest.skip(f"MovieLens folder {folder} not found: set MFCORE_DATA to a folder holding ml-latest-small.zip")
    return folder


@pytest.fixture
def real(shared_data, monkeypatch):
    """The real ml-latest-small loaded through $MFCORE_DATA (the default cache path)."""
    monkeypatch.setenv("MFCORE_DATA", str(shared_data))
    return load_movielens()


@pytest.fixture
def truncated(shared_data, tmp_path) -> Path:
    """A truncated copy of the zip (first 400 kB) in its own folder."""
    folder = tmp_path / "bad"
    folder.mkdir()
    path = folder / "ml-latest-small.zip"
    path.write_bytes((shared_data / "ml-latest-small.zip").read_bytes()[:400_000])
    return path


def _no_leftovers(folder: Path):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------------- real data
def test_real_counts(real):
    assert len(real) == 100_836
    assert real.n_users == 610
    assert real.n_items == 9_724
    assert real.ratings.min() == 0.5 and real.ratings.max() == 5.0


def test_raw_ids_round_trip(real, shared_data):
    with zipfile.ZipFile(shared_data / "ml-latest-small.zip") as zf:
        csv = pd.read_csv(zf.open("ml-latest-small/ratings.csv"))
    frame = real.to_frame(raw_ids=True)
    np.testing.assert_array_equal(frame["user"].to_numpy(), csv["userId"].to_numpy())
    np.testing.assert_array_equal(frame["item"].to_numpy(), csv["movieId"].to_numpy())
    np.testing.assert_array_equal(frame["rating"].to_numpy(), csv["rating"].to_numpy())


def test_item_titles_aligned(real):
    assert real.item_titles.shape == (real.n_items,)
    titles = dict(zip(real.item_ids.tolist(), real.item_titles.tolist()))
    assert titles[1] == "Toy Story (1995)"
    assert all(isinstance(t, str) and t for t in real.item_titles)


def test_data_home_argument(shared_data, monkeypatch):
    monkeypatch.delenv("MFCORE_DATA", raising=False)
    assert len(load_movielens("ml-latest-small", data_home=shared_data)) == 100_836


def test_local_zip_path(shared_data):
    data = load_movielens(str(shared_data / "ml-latest-small.zip"))
    assert (len(data), data.n_users, data.n_items) == (100_836, 610, 9_724)


def test_folder_holding_the_zip(shared_data):
    assert len(load_movielens(shared_data)) == 100_836


def test_extracted_folder(shared_data, tmp_path):
    with zipfile.ZipFile(shared_data / "ml-latest-small.zip") as zf:
        zf.extractall(tmp_path)
    for folder in (tmp_path / "ml-latest-small", tmp_path):   # the files' folder, or its parent
        data = load_movielens(str(folder))
        assert (len(data), data.n_users, data.n_items) == (100_836, 610, 9_724)
        assert data.item_titles[0] == "Toy Story (1995)"


def test_cache_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("MFCORE_DATA", str(tmp_path / "env"))
    assert cache_dir(tmp_path / "arg") == tmp_path / "arg"
    assert cache_dir() == tmp_path / "env"
    monkeypatch.delenv("MFCORE_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "mfcore"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "mfcore"


# ---------------------------------------------------------------------- download (file:// URLs, offline)
def test_download_verifies_and_caches(shared_data, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setitem(ARCHIVES["ml-latest-small"], "url", (shared_data / "ml-latest-small.zip").resolve().as_uri())
    monkeypatch.setenv("MFCORE_DATA", str(cache))
    assert len(load_movielens()) == 100_836
    assert _no_leftovers(cache) == ["ml-latest-small.zip"]
    assert file_digest(cache / "ml-latest-small.zip") == SHA
    # second call uses the cache: the URL no longer works
    monkeypatch.setitem(ARCHIVES["ml-latest-small"], "url", (tmp_path / "gone.zip").as_uri())
    assert len(load_movielens()) == 100_836
    assert fetch_movielens() == cache / "ml-latest-small.zip"


def test_cached_truncated_file_is_refused_and_kept(truncated, monkeypatch):
    monkeypatch.setenv("MFCORE_DATA", str(truncated.parent))
    before = truncated.read_bytes()
    with pytest.raises(ChecksumError) as err:
        load_movielens()
    msg = str(err.value)
    assert str(truncated) in msg and SHA in msg and "400,000 bytes" in msg
    assert "truncated or corrupted" in msg and "Delete it" in msg
    assert isinstance(err.value, ValueError)
    assert truncated.read_bytes() == before          # never deleted nor modified
    assert _no_leftovers(truncated.parent) == ["ml-latest-small.zip"]


def test_truncated_download_leaves_nothing(truncated, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setitem(ARCHIVES["ml-latest-small"], "url", truncated.as_uri())
    with pytest.raises(ChecksumError, match="nothing was cached"):
        load_movielens(data_home=cache)
    assert _no_leftovers(cache) == []


def test_offline_names_target_and_url(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    url = (tmp_path / "missing" / "ml-latest-small.zip").as_uri()
    monkeypatch.setitem(ARCHIVES["ml-latest-small"], "url", url)
    with pytest.raises(DataUnavailableError) as err:
        load_movielens(data_home=cache)
    msg = str(err.value)
    assert str(cache / "ml-latest-small.zip") in msg and url in msg and "MFCORE_DATA" in msg
    assert isinstance(err.value, FileNotFoundError)
    assert _no_leftovers(cache) == []


def test_offline_urlopen_error(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("no network")
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    with pytest.raises(DataUnavailableError, match="no network"):
        load_movielens("ml-100k", data_home=tmp_path)
    assert _no_leftovers(tmp_path) == []


def test_interrupted_download_leaves_nothing(shared_data, tmp_path, monkeypatch):
    monkeypatch.setitem(ARCHIVES["ml-latest-small"], "url", (shared_data / "ml-latest-small.zip").as_uri())
    import mfcore.movielens as mod

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(mod, "_verify", interrupt)
    with pytest.raises(KeyboardInterrupt):
        load_movielens(data_home=tmp_path)
    assert _no_leftovers(tmp_path) == []


# ---------------------------------------------------------------------- ml-100k format (tiny fake archive)
def _fake_100k(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ml-100k/u.data", "1\t10\t5\t881250949\n2\t10\t3\t891717742\n2\t20\t1\t878887116\n")
        zf.writestr("ml-100k/u.item", "10|Caf\xe9 (1995)|01-Jan-1995||http://x|0|1\n"
                    "20|Other (1996)|01-Jan-1996||http://y|0|0\n".encode("latin-1"))
    return path


def test_100k_format_and_md5(tmp_path, monkeypatch):
    fake = _fake_100k(tmp_path / "fake.zip")
    data = load_movielens(str(fake))
    assert (len(data), data.n_users, data.n_items) == (3, 2, 2)
    assert data.item_titles.tolist() == ["Caf\xe9 (1995)", "Other (1996)"]
    # through the registry: verified with md5
    md5 = hashlib.md5(fake.read_bytes()).hexdigest()
    monkeypatch.setitem(ARCHIVES["ml-100k"], "url", fake.as_uri())
    monkeypatch.setitem(ARCHIVES["ml-100k"], "digest", md5)
    assert len(load_movielens("ml-100k", data_home=tmp_path / "c")) == 3
    assert file_digest(tmp_path / "c" / "ml-100k.zip", "md5") == md5


# ---------------------------------------------------------------------- bad input
def test_unknown_name():
    with pytest.raises(ValueError, match="ml-latest-small.*ml-100k"):
        load_movielens("ml-1m")


def test_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_movielens(str(tmp_path / "nope.zip"))


def test_not_a_zip(tmp_path):
    bad = tmp_path / "junk.zip"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(ChecksumError, match="not a readable zip"):
        load_movielens(str(bad))


def test_truncated_local_zip_path(truncated):
    with pytest.raises(ValueError, match="truncated or corrupted"):
        load_movielens(str(truncated))


def test_quiet_load(shared_data, tmp_path, monkeypatch, capfd):
    monkeypatch.setitem(ARCHIVES["ml-latest-small"], "url", (shared_data / "ml-latest-small.zip").as_uri())
    load_movielens(data_home=tmp_path)       # download path (progress bar)
    load_movielens(data_home=tmp_path)       # cached path
    out, err = capfd.readouterr()
    assert err == "" and out == ""
