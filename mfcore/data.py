"""The ratings container: the observed set Ω with its ratings r_ui (notes/notation.md).

A rating set is three equal-length arrays (user index u, item index i, rating
r_ui) plus the sizes n and m, so users and items with no rating in a training
split still own a row of P or Q.  Solvers read the data through the per-user
and per-item compressed views (:attr:`Ratings.by_user`, :attr:`Ratings.by_item`),
which list I_u and U_i contiguously.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from .errors import RatingsError, describe_rows

__all__ = ["Ratings", "Compressed", "Truth", "lookup", "align"]


@dataclass(frozen=True)
class Compressed:
    """Ratings grouped by row (CSR): row ``r`` owns ``indptr[r]:indptr[r+1]``.

    For :attr:`Ratings.by_item`, row ``i`` lists U_i in ``index`` (user
    indices) with the ratings r_ui in ``values``; ``order`` maps the grouped
    position back to the position in the original arrays.
    """

    indptr: np.ndarray
    index: np.ndarray
    values: np.ndarray
    order: np.ndarray

    @property
    def counts(self) -> np.ndarray:
        """|I_u| per user (``by_user``) or |U_i| per item (``by_item``)."""
        return np.diff(self.indptr)


@dataclass(frozen=True)
class Truth:
    """The generating model of synthetic data: r_ui = p_uᵀq_i + noise, rounded to stars."""

    P: np.ndarray
    Q: np.ndarray
    rank: int
    noise: float
    noise_rmse: float  # RMSE of the true model on the generated ratings: the floor any fit can reach

    def predict(self, users, items) -> np.ndarray:
        return np.einsum("ij,ij->i", self.P[users], self.Q[items])


class Ratings:
    """Observed ratings Ω = {(u, i, r_ui)} with n users and m items (notes/notation.md).

    Parameters
    ----------
    users, items : array-like of int
        0-based user and item indices, one per rating.
    ratings : array-like of float
        The observed ratings r_ui (finite numbers).
    n_users, n_items : int, optional
        n and m; default to the largest index + 1.  Give them explicitly when
        some users or items have no rating in this set (a training split).
    user_ids, item_ids : array-like, optional
        The raw ids (e.g. MovieLens ``userId``), so that ``user_ids[u]`` is the
        raw id of user index ``u``.  Default: the indices themselves.

    Raises
    ------
    RatingsError (a ValueError)
        Mismatched lengths, empty input, non-integer, negative or
        out-of-range indices, NaN or infinite ratings, duplicated (u, i)
        pairs.  The message names the offending rows and the fix.

    Examples
    --------
    >>> data = Ratings([0, 0, 1], [0, 1, 1], [5.0, 3.0, 4.0])
    >>> len(data), data.n_users, data.n_items
    (3, 2, 2)
    """

    def __init__(self, users, items, ratings, n_users=None, n_items=None,
                 user_ids=None, item_ids=None, truth: Truth | None = None):
        users = _as_index_array(users, "users")
        items = _as_index_array(items, "items")
        ratings = _as_rating_array(ratings)
        lengths = {"users": len(users), "items": len(items), "ratings": len(ratings)}
        if len(set(lengths.values())) != 1:
            raise RatingsError(
                "users, items and ratings must have the same length, got "
                + ", ".join(f"{k}={v}" for k, v in lengths.items())
                + ": pass one (user, item, rating) triple per observed rating.")
        if len(ratings) == 0:
            raise RatingsError("no ratings given: a Ratings set needs at least one (user, item, rating) triple.")
        bad = np.flatnonzero(~np.isfinite(ratings))
        if bad.size:
            raise RatingsError(
                f"ratings must be finite numbers, but {describe_rows(bad)} hold "
                f"{ratings[bad[0]]!r}: drop those rows (e.g. df.dropna()) or fill them before building Ratings.")
        n_users = _check_size(users, n_users, "users", "n_users")
        n_items = _check_size(items, n_items, "items", "n_items")
        key = users * np.int64(n_items) + items
        order = np.argsort(key, kind="stable")
        dup = np.flatnonzero(key[order][1:] == key[order][:-1])
        if dup.size:
            rows = np.unique(np.concatenate([order[dup], order[dup + 1]]))
            u, i = users[rows[0]], items[rows[0]]
            raise RatingsError(
                f"duplicated (user, item) pairs in {describe_rows(rows)} (first: user {u}, item {i}): "
                "each pair may be rated once. Keep one rating per pair, e.g. "
                "df.drop_duplicates(['user', 'item'], keep='last').")
        self.users = users
        self.items = items
        self.ratings = ratings
        self.n_users = int(n_users)
        self.n_items = int(n_items)
        self.user_ids = np.arange(self.n_users) if user_ids is None else np.asarray(user_ids)
        self.item_ids = np.arange(self.n_items) if item_ids is None else np.asarray(item_ids)
        if len(self.user_ids) != self.n_users or len(self.item_ids) != self.n_items:
            raise RatingsError(
                f"user_ids has {len(self.user_ids)} entries and item_ids {len(self.item_ids)}, but "
                f"n_users={self.n_users} and n_items={self.n_items}: give one raw id per user and item index.")
        self.truth = truth
        for arr in (self.users, self.items, self.ratings):
            arr.flags.writeable = False

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_frame(cls, df: pd.DataFrame, user: str = "user", item: str = "item",
                   rating: str = "rating") -> "Ratings":
        """Build from a DataFrame of raw ids; ids are mapped to 0-based indices (sorted order)."""
        missing = [c for c in (user, item, rating) if c not in df.columns]
        if missing:
            raise RatingsError(
                f"column(s) {missing} not found; the frame has {list(df.columns)}. "
                f"Name the columns with user=..., item=..., rating=....")
        user_ids, users = np.unique(df[user].to_numpy(), return_inverse=True)
        item_ids, items = np.unique(df[item].to_numpy(), return_inverse=True)
        return cls(users, items, df[rating].to_numpy(dtype=float),
                   len(user_ids), len(item_ids), user_ids=user_ids, item_ids=item_ids)

    def with_ids(self, user_ids, item_ids) -> "Ratings":
        """The same ratings indexed by a larger set of raw ids (each of this set's ids must be among them).

        Users and items that are only in the new ids get rows without ratings (unseen), so two rating sets
        with different ids can share one index space (:func:`align`).
        """
        users = lookup(user_ids, self.user_ids)[self.users]
        items = lookup(item_ids, self.item_ids)[self.items]
        for name, idx, ids in (("user", users, self.user_ids), ("item", items, self.item_ids)):
            if (idx < 0).any():
                raise RatingsError(f"{name} id {ids[np.flatnonzero(idx < 0)[0]]!r} is not among the new {name}_ids.")
        return Ratings(users, items, self.ratings, len(user_ids), len(item_ids), user_ids, item_ids, self.truth)

    def subset(self, rows) -> "Ratings":
        """The ratings at positions ``rows``, keeping n, m, the raw ids and the truth."""
        rows = np.asarray(rows)
        return Ratings(self.users[rows], self.items[rows], self.ratings[rows],
                       self.n_users, self.n_items, self.user_ids, self.item_ids, self.truth)

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return len(self.ratings)

    def __repr__(self) -> str:
        return (f"Ratings(n_users={self.n_users}, n_items={self.n_items}, n_ratings={len(self)}, "
                f"density={self.density:.4f})")

    @property
    def shape(self) -> tuple[int, int]:
        """(n, m)."""
        return self.n_users, self.n_items

    @property
    def density(self) -> float:
        """|Ω| / (n m)."""
        return len(self) / (self.n_users * self.n_items)

    @cached_property
    def mean(self) -> float:
        """μ, the mean observed rating."""
        return float(self.ratings.mean())

    @cached_property
    def by_user(self) -> Compressed:
        """Ratings grouped by user: row u lists I_u and r_ui."""
        return _compress(self.users, self.items, self.ratings, self.n_users)

    @cached_property
    def by_item(self) -> Compressed:
        """Ratings grouped by item: row i lists U_i and r_ui."""
        return _compress(self.items, self.users, self.ratings, self.n_items)

    @property
    def user_counts(self) -> np.ndarray:
        """|I_u| for every user (0 for unseen users)."""
        return self.by_user.counts

    @property
    def item_counts(self) -> np.ndarray:
        """|U_i| for every item (0 for unseen items)."""
        return self.by_item.counts

    def to_frame(self, raw_ids: bool = False) -> pd.DataFrame:
        """The ratings as a DataFrame with columns user, item, rating (indices, or raw ids)."""
        users = self.user_ids[self.users] if raw_ids else self.users
        items = self.item_ids[self.items] if raw_ids else self.items
        return pd.DataFrame({"user": users, "item": items, "rating": self.ratings})

    def spectral_norm(self, values=None) -> float:
        """‖X‖₂, the largest singular value of the sparse n × m matrix holding ``values`` on Ω
        (default: the ratings, i.e. ‖R_Ω‖₂; pass residuals e for ‖E‖₂)."""
        from scipy.sparse import csr_matrix
        from scipy.sparse.linalg import svds

        values = self.ratings if values is None else np.asarray(values, dtype=float)
        X = csr_matrix((values, (self.users, self.items)), shape=self.shape)
        if min(self.shape) <= 2:
            return float(np.linalg.norm(X.toarray(), 2))
        v0 = np.ones(min(self.shape))           # a fixed start vector: deterministic
        return float(svds(X, k=1, return_singular_vectors=False, v0=v0)[0])

    def to_dense(self, fill: float = 0.0) -> np.ndarray:
        """R_Ω as an n × m array (``fill`` off Ω); for small teaching examples only."""
        if self.n_users * self.n_items > 5_000_000:
            raise ValueError(
                f"to_dense would build a {self.n_users} x {self.n_items} matrix "
                f"({self.n_users * self.n_items * 8 / 1e6:.0f} MB); use the sparse views by_user/by_item instead.")
        R = np.full((self.n_users, self.n_items), fill, dtype=float)
        R[self.users, self.items] = self.ratings
        return R


def lookup(ids, raw) -> np.ndarray:
    """Indices of the raw ids ``raw`` among ``ids`` (e.g. a Ratings' user_ids), −1 for an id not there."""
    raw = np.asarray(raw)
    if raw.ndim == 0:
        raw = raw[None]
    index = pd.Index(ids)
    if not index.is_unique:
        raise ValueError("the raw ids are not unique: each index must have its own raw id.")
    try:
        return index.get_indexer(raw).astype(np.int64)
    except TypeError:                          # ids of a type that cannot be compared with these: none match
        return np.full(raw.shape, -1, dtype=np.int64)


def align(*sets: "Ratings") -> list["Ratings"]:
    """The rating sets re-indexed over the union of their raw ids (sorted), so that they share n, m and indices.

    E.g. a training file and a separate test file: a test user absent from training becomes an unseen row of the
    training set (cold start, notes/derivations.md §9.7).
    """
    user_ids = _union([s.user_ids for s in sets])
    item_ids = _union([s.item_ids for s in sets])
    return [s.with_ids(user_ids, item_ids) for s in sets]


def _union(arrays) -> np.ndarray:
    try:
        return np.unique(np.concatenate(arrays))
    except TypeError:                          # ids of mixed types (numbers and text): compare them as text
        return np.unique(np.concatenate([np.asarray(a).astype(str) for a in arrays]))


def _compress(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n_rows: int) -> Compressed:
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return Compressed(indptr, np.ascontiguousarray(cols[order]),
                      np.ascontiguousarray(values[order]), order)


def _as_index_array(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise RatingsError(f"{name} must be one-dimensional, got shape {arr.shape}: pass one index per rating.")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f" or arr.dtype == object:
        try:
            f = arr.astype(float)
        except (TypeError, ValueError):
            raise RatingsError(
                f"{name} must be integer indices, got values like {arr[:3].tolist()}: "
                "map raw ids to 0-based indices first, e.g. with Ratings.from_frame(df).") from None
        bad = np.flatnonzero(~np.isfinite(f) | (f != np.round(f)))
        if bad.size:
            raise RatingsError(
                f"{name} must be whole numbers, but {describe_rows(bad)} hold {arr[bad[0]]!r}: "
                "map raw ids to 0-based indices first, e.g. with Ratings.from_frame(df).")
        return f.astype(np.int64)
    raise RatingsError(
        f"{name} must be integer indices, got dtype {arr.dtype}: "
        "map raw ids to 0-based indices first, e.g. with Ratings.from_frame(df).")


def _as_rating_array(x) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise RatingsError(f"ratings must be one-dimensional, got shape {arr.shape}.")
    try:
        return np.array(arr, dtype=np.float64)
    except (TypeError, ValueError):
        raise RatingsError(f"ratings must be numbers, got values like {arr[:3].tolist()}.") from None


def _check_size(idx: np.ndarray, n, name: str, size_name: str) -> int:
    if idx.size == 0:
        return 0 if n is None else int(n)
    neg = np.flatnonzero(idx < 0)
    if neg.size:
        raise RatingsError(
            f"{name} must be 0-based indices >= 0, but {describe_rows(neg)} hold {idx[neg[0]]}: "
            "map raw ids to indices first, e.g. with Ratings.from_frame(df).")
    top = int(idx.max())
    if n is None:
        return top + 1
    if int(n) != n or n < 1:
        raise RatingsError(f"{size_name} must be a positive integer, got {n!r}.")
    over = np.flatnonzero(idx >= n)
    if over.size:
        raise RatingsError(
            f"{name} must be < {size_name}={n}, but {describe_rows(over)} hold {idx[over[0]]}: "
            f"raise {size_name} to at least {top + 1} or fix those indices.")
    return int(n)
