"""The two-dimensional toy problem of notes/derivations.md §12: one user, one item, K = 1.

With n = m = K = 1 and |Ω| = 1 the slides' eq. (1) becomes a function of two numbers,

    F(p, q) = (r − pq)² + λ(p² + q²),
    ∇F      = (−2(r − pq)q + 2λp,  −2(r − pq)p + 2λq),

so every solver of the lecture can be drawn as a path on a contour plot (the slides' open
question "Can we show the diagrams for GD and GD+ALS?").  The exact coordinate updates
(ALS with λ|Ω| = λ) are

    q ← r p / (p² + λ),        p ← r q / (q² + λ).

For r > λ the minima are p = q = ±√(r − λ) with F_min = 2λr − λ² (soft-thresholding
r̂ = r − λ), and (0, 0) is a saddle.

SGD needs several noisy ratings r_1, …, r_N of the *same* pair, which :class:`mfcore.Ratings`
rejects (duplicated pairs, notes/notation.md), so this module is plain NumPy on scalars.  Its
functions are small on purpose: they are the toy's counterparts of ``mfcore.als_iteration``,
``mfcore.gd_step``, ``mfcore.als_gd_iteration`` and ``mfcore.sgd_update`` (tests/test_toy.py
checks that they agree on the 1×1 problem).

Every ``*_path`` function returns an array of shape (n_points, 2) with columns (p, q): the
start and then the point after *every* parameter change (half-steps for ALS and ALS+GD, whole
steps for GD, one point per sample for SGD).

Suggested parameters (notes/derivations.md §12): r = 1, λ = 0.1, start (1.8, 0.1); GD α = 0.1; ALS+GD
α = 0.1, L = 3; SGD r_j ∈ {0.6, 0.8, 1.0, 1.2, 1.4}, α = 0.05, 50 epochs.
"""

from __future__ import annotations

import numpy as np

from ._validate import check_lam, check_scalar, check_step, renamed_step

__all__ = ["objective", "objective_repeated", "gradient", "hessian", "update_q", "update_p",
           "stationary_points", "minimum", "als_path", "gd_path", "als_gd_path", "sgd_path",
           "R", "LAM", "START", "RATINGS"]

#: notes/derivations.md §12's suggested toy: r = 1, λ = 0.1, start (p, q) = (1.8, 0.1), SGD ratings r_j.
R = 1.0
LAM = 0.1
START = (1.8, 0.1)
RATINGS = (0.6, 0.8, 1.0, 1.2, 1.4)


# ------------------------------------------------------------------------------------------ checks
_lam = check_lam


def _count(value, name: str) -> int:
    return check_scalar(value, name, integer=True, low=1)


# --------------------------------------------------------------------------------- the function
def objective(p, q, r: float = R, lam: float = LAM):
    """F(p, q) = (r − pq)² + λ(p² + q²), the slides' eq. (1) with |Ω| = 1; works elementwise on arrays."""
    lam = _lam(lam)
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    return (r - p * q) ** 2 + lam * (p * p + q * q)


def objective_repeated(p, q, ratings, lam: float = LAM):
    """F_N(p, q) = (1/N) Σ_j (r_j − pq)² + λ(p² + q²) = F(p, q; r̄) + Var(r_j) (notes/derivations.md §12, SGD)."""
    r = np.asarray(ratings, dtype=float)
    if r.ndim != 1 or r.size == 0 or not np.all(np.isfinite(r)):
        raise ValueError("ratings must be a non-empty 1-D array of finite numbers r_1, ..., r_N.")
    return objective(p, q, float(r.mean()), lam) + float(r.var())


def gradient(p, q, r: float = R, lam: float = LAM):
    """∇F = (−2(r − pq)q + 2λp, −2(r − pq)p + 2λq); elementwise on arrays."""
    lam = _lam(lam)
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    e = r - p * q
    return -2.0 * e * q + 2.0 * lam * p, -2.0 * e * p + 2.0 * lam * q


def hessian(p: float, q: float, r: float = R, lam: float = LAM) -> np.ndarray:
    """∇²F = [[2q² + 2λ, 2(2pq − r)], [2(2pq − r), 2p² + 2λ]] at one point."""
    lam = _lam(lam)
    off = 2.0 * (2.0 * p * q - r)
    return np.array([[2.0 * q * q + 2.0 * lam, off], [off, 2.0 * p * p + 2.0 * lam]])


# ------------------------------------------------------------------------ exact coordinate updates
def update_q(p, r: float = R, lam: float = LAM):
    """argmin_q F(p, q) = r p / (p² + λ): the ALS item step (Algorithm 1 line 7 with λ|Ω| = λ)."""
    lam = _lam(lam)
    p = np.asarray(p, dtype=float)
    if lam == 0.0 and np.any(p == 0.0):
        raise ValueError("with lam = 0 and p = 0 every q minimises F: the update is not defined.")
    return r * p / (p * p + lam)


def update_p(q, r: float = R, lam: float = LAM):
    """argmin_p F(p, q) = r q / (q² + λ): the ALS user step (Algorithm 1 line 11)."""
    return update_q(q, r, lam)


def stationary_points(r: float = R, lam: float = LAM) -> list[tuple[float, float, str]]:
    """[(p, q, kind)]: (0, 0) ("saddle" if r > λ, else "minimum") and, if r > λ, ±(√(r−λ), √(r−λ)).

    For r < −λ the minima are p = −q = ±√(−r−λ) (the same picture mirrored).
    """
    lam = _lam(lam)
    points = [(0.0, 0.0, "saddle" if abs(r) > lam else "minimum")]
    if r > lam:
        s = float(np.sqrt(r - lam))
        points += [(s, s, "minimum"), (-s, -s, "minimum")]
    elif r < -lam:
        s = float(np.sqrt(-r - lam))
        points += [(s, -s, "minimum"), (-s, s, "minimum")]
    return points


def minimum(r: float = R, lam: float = LAM) -> tuple[float, float, float]:
    """(p*, q*, F_min) of the minimum with p* >= 0: F_min = 2λ|r| − λ² if |r| > λ, else r² at the origin."""
    lam = _lam(lam)
    if abs(r) <= lam:
        return 0.0, 0.0, float(r * r)
    s = float(np.sqrt(abs(r) - lam))
    return s, float(np.sign(r)) * s, 2.0 * lam * abs(r) - lam * lam


# ---------------------------------------------------------------------------------------- paths
def als_path(p0: float, q0: float, r: float = R, lam: float = LAM, n_iter: int = 10) -> np.ndarray:
    """ALS / block coordinate descent: q ← rp/(p²+λ), then p ← rq/(q²+λ), ``n_iter`` times.

    Returns the 2·n_iter + 1 points (start, then after every half-step): axis-parallel steps,
    each landing on the exact minimum along its line.  ALS needs only p⁽⁰⁾; q0 is the drawn start.
    """
    n_iter = _count(n_iter, "n_iter")
    p, q = float(p0), float(q0)
    path = [(p, q)]
    for _ in range(n_iter):
        q = float(update_q(p, r, lam))
        path.append((p, q))
        p = float(update_p(q, r, lam))
        path.append((p, q))
    return np.array(path)


def gd_path(p0: float, q0: float, r: float = R, lam: float = LAM, step: float | None = 0.1,
            n_iter: int = 100, *, alpha=None) -> np.ndarray:
    """Full GD: (p, q) ← (p, q) − α∇F(p, q), both coordinates from the old values (eq. 3).

    Returns n_iter + 1 points.  Locally stable near the minima for α < 1/(2(r − λ)).
    """
    alpha = check_step(renamed_step(None if alpha is not None else step, "toy.gd_path", alpha=alpha))
    n_iter = _count(n_iter, "n_iter")
    p, q = float(p0), float(q0)
    path = [(p, q)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_iter):
            dp, dq = gradient(p, q, r, lam)
            p, q = p - alpha * float(dp), q - alpha * float(dq)
            path.append((p, q))
    return np.array(path)


def als_gd_path(p0: float, q0: float, r: float = R, lam: float = LAM, step=0.1, L: int = 3,
                n_iter: int = 10, *, alpha=None) -> np.ndarray:
    """ALS+GD (Algorithms 3/4): L GD steps on q with p fixed, then L on p with the new q.

    The q-step is q ← q − α(−2(r − pq)p + 2λq) (the slides' 2α(…) form).  ``step`` (α) is a float
    or ``"block"``: α = 1/(2(p² + λ)), one over the block curvature, with which one step lands
    exactly on the ALS update.  Returns 2·L·n_iter + 1 points (axis-parallel, inexact steps).
    """
    alpha = renamed_step(None if alpha is not None else step, "toy.als_gd_path", alpha=alpha)
    L = _count(L, "L")
    n_iter = _count(n_iter, "n_iter")
    lam = _lam(lam)
    block = isinstance(alpha, str)
    if block and alpha != "block":
        raise ValueError(f"step must be a number > 0 or 'block' (α = 1/(2(p²+λ)) per block), got {alpha!r}.")
    if not block:
        alpha = check_step(alpha)
    p, q = float(p0), float(q0)
    path = [(p, q)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_iter):
            a = 1.0 / (2.0 * (p * p + lam)) if block else alpha      # item block: curvature 2(p² + λ)
            for _ in range(L):
                q = q - a * (-2.0 * (r - p * q) * p + 2.0 * lam * q)
                path.append((p, q))
            a = 1.0 / (2.0 * (q * q + lam)) if block else alpha      # user block: curvature 2(q² + λ)
            for _ in range(L):
                p = p - a * (-2.0 * (r - p * q) * q + 2.0 * lam * p)
                path.append((p, q))
    return np.array(path)


def sgd_path(p0: float, q0: float, ratings=RATINGS, lam: float = LAM, step: float | None = 0.05,
             n_epochs: int = 50, seed=0, order: str = "sequential", *, alpha=None) -> np.ndarray:
    """SGD (Algorithm 5) on N ratings r_j of the same pair: each epoch shuffles them, one step per sample.

    Per sample, in the slides' order (``order="sequential"``)::

        e  = r_j − pq,   q ← q + 2α(e p − λq)
        e' = r_j − pq,   p ← p + 2α(e' q − λp)

    (``"simultaneous"``: both from the old values).  The per-sample penalty λ is unbiased here
    because |I_u| = |U_i| = |Ω| = N (notes/derivations.md §12), so SGD minimises F_N = F(·; r̄) + Var(r_j).
    Returns N·n_epochs + 1 points (start, then after every sample).  Deterministic for a seed.
    """
    r = np.asarray(ratings, dtype=float)
    if r.ndim != 1 or r.size == 0 or not np.all(np.isfinite(r)):
        raise ValueError("ratings must be a non-empty 1-D array of finite numbers r_1, ..., r_N.")
    lam = _lam(lam)
    alpha = check_step(renamed_step(None if alpha is not None else step, "toy.sgd_path", alpha=alpha))
    n_epochs = _count(n_epochs, "n_epochs")
    if order not in ("sequential", "simultaneous"):
        raise ValueError(f"order must be 'sequential' (the slides') or 'simultaneous', got {order!r}.")
    rng = np.random.default_rng(seed)
    p, q = float(p0), float(q0)
    path = [(p, q)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(n_epochs):
            for r_j in r[rng.permutation(r.size)]:
                e = r_j - p * q
                if order == "sequential":
                    q = q + 2.0 * alpha * (e * p - lam * q)
                    e = r_j - p * q
                    p = p + 2.0 * alpha * (e * q - lam * p)
                else:
                    p, q = p + 2.0 * alpha * (e * q - lam * p), q + 2.0 * alpha * (e * p - lam * q)
                path.append((p, q))
    return np.array(path)
