"""Synthetic, MovieLens-shaped ratings with a known low-rank truth: the embedded default data.

The generating model is the lecture's own, r_ui ≈ p_uᵀq_i with K₀ = ``rank``:

* p_u = (a_u, z_u), q_i = (b_i, w_i): the first coordinate carries the average
  rating level (a_u b_i ≈ 3.5 stars with mild user and item variation), the
  other K₀−1 carry tastes (i.i.d. Gaussian);
* r_ui = clip(round(p_uᵀq_i + ε), 1, 5) with ε ~ N(0, noise²), so ratings are 1–5 stars;
* who rates what follows MovieLens' shape: user activity is log-normal with at
  least ``min_per_user`` ratings each (ml-100k has 20), item popularity is a
  long-tailed Zipf law, and every user rates distinct items.

The truth (P, Q, rank, noise, and the RMSE of the true model on the generated
ratings, the floor any fit can reach) is kept on ``.truth`` so lectures can show
that cross-validation recovers the rank.
"""

from __future__ import annotations

import numpy as np

from .data import Ratings, Truth

__all__ = ["synthetic_ratings"]


def synthetic_ratings(n_users: int = 943, n_items: int = 1682, n_ratings: int = 100_000,
                      rank: int = 5, noise: float = 0.5, seed: int = 0, *,
                      min_per_user: int | None = None, stars: bool = True, zipf: float = 1.0) -> Ratings:
    """MovieLens-shaped ratings from a rank-``rank`` model; deterministic for a seed.

    Defaults match ml-100k's size (943 users × 1682 items, 100,000 ratings).

    Parameters
    ----------
    n_users, n_items, n_ratings : int
        n, m and |Ω|.  Needs n_users·min_per_user <= n_ratings <= n_users·n_items/2.
    rank : int
        K₀, the true latent dimension (>= 1).
    noise : float
        Standard deviation of the Gaussian noise added before rounding to stars.
    seed : int
        Seed of ``np.random.default_rng``; the same seed gives the same data.
    stars : bool
        Round to whole stars and clip to [1, 5] (default) or keep continuous ratings.
    min_per_user : int, optional
        Fewest ratings per user (default: 20 as in ml-100k, or |Ω|/n if smaller).
    zipf : float
        Exponent of the item-popularity law (larger = longer tail).
    """
    for name, value in (("n_users", n_users), ("n_items", n_items), ("n_ratings", n_ratings), ("rank", rank)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if noise < 0 or not np.isfinite(noise):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}.")
    if min_per_user is None:                                  # ml-100k: 20, fewer if |Ω| cannot afford it
        min_per_user = max(1, min(20, n_ratings // n_users))
    min_per_user = min(min_per_user, n_items)
    if n_ratings > n_users * n_items // 2:
        raise ValueError(f"n_ratings={n_ratings} is more than half of the {n_users} x {n_items} matrix; "
                         "ask for fewer ratings or more users/items.")
    if n_ratings < n_users * min_per_user:
        raise ValueError(f"n_ratings={n_ratings} cannot give each of the {n_users} users "
                         f"{min_per_user} ratings; lower min_per_user or raise n_ratings.")
    rng = np.random.default_rng(seed)

    # --- who rates what: log-normal activity, Zipf popularity --------------------
    activity = rng.lognormal(mean=0.0, sigma=1.0, size=n_users)
    counts = _allocate(activity, n_ratings, lower=min_per_user, upper=n_items // 2 + 1)
    popularity = 1.0 / (np.arange(1, n_items + 1) + 10.0) ** zipf
    popularity = popularity[rng.permutation(n_items)]          # popular items anywhere in the index range
    log_pop = np.log(popularity)
    users = np.repeat(np.arange(n_users), counts)
    items = np.empty(n_ratings, dtype=np.int64)
    start = 0
    for u in range(n_users):                                  # Gumbel top-k: sample without replacement
        keys = log_pop + rng.gumbel(size=n_items)
        c = counts[u]
        items[start:start + c] = np.sort(np.argpartition(-keys, c - 1)[:c])
        start += c

    # --- the true factors ----------------------------------------------------------
    level = np.sqrt(3.5)
    a = level * (1.0 + 0.15 * rng.standard_normal(n_users))
    b = level * (1.0 + 0.15 * rng.standard_normal(n_items))
    taste = (0.8 ** 2 / max(rank - 1, 1)) ** 0.25             # the K₀−1 taste dims add variance 0.64
    P = np.column_stack([a, taste * rng.standard_normal((n_users, rank - 1))])
    Q = np.column_stack([b, taste * rng.standard_normal((n_items, rank - 1))])
    clean = np.einsum("ij,ij->i", P[users], Q[items])
    ratings = clean + noise * rng.standard_normal(n_ratings)
    if stars:
        ratings = np.clip(np.round(ratings), 1, 5)
    floor = float(np.sqrt(np.mean((ratings - clean) ** 2)))
    return Ratings(users, items, ratings, n_users, n_items,
                   truth=Truth(P=P, Q=Q, rank=int(rank), noise=float(noise), noise_rmse=floor))


def _allocate(weights: np.ndarray, total: int, lower: int, upper: int) -> np.ndarray:
    """Integers in [lower, upper] proportional to ``weights`` that sum to ``total`` exactly."""
    counts = np.full(len(weights), lower, dtype=np.int64)
    w = weights / weights.sum()
    while (remaining := total - int(counts.sum())) > 0:       # water-filling under the upper cap
        room = upper - counts
        share = np.where(room > 0, w, 0.0)
        exact = share / share.sum() * remaining
        add = np.floor(exact).astype(np.int64)
        leftover = remaining - int(add.sum())                 # largest remainders get one more
        add[np.argsort(add - exact, kind="stable")[:leftover]] += 1
        counts += np.minimum(add, room)
    return counts
