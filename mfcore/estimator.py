"""``MF``: one estimator for every solver of the lecture (scikit-learn / Surprise style).

    model = MF(K=10, lam=1e-4, solver="als").fit(train, valid)
    model.predict(users, items); model.rmse(test); model.history_

The estimator is thin: each iteration calls the slide-shaped function of the
solver's own module (``als_iteration``, ``gd_step``/``armijo_step``,
``als_gd_iteration``, ``sgd_epoch``, ``bgd_epoch``); this file only adds what
all solvers share (notes/derivations.md §7): the initial point (§8.1), the history, the
termination rules (tolerance, budget, early stopping on validation) and the
divergence checks (§3.4).
"""

from __future__ import annotations

import numbers
import time
import warnings

import numpy as np
import pandas as pd

from ._validate import check_data, check_K, check_lam, check_reg_mode
from .data import Ratings
from .errors import DivergenceError, ObjectiveIncreaseWarning
from .init import init_factors
from .objective import mse, penalty, predict
from .progress import progress

__all__ = ["MF", "SOLVERS"]

SOLVERS = ("als", "gd", "als-gd", "sgd", "bgd")

# Budgets that converge on ml-100k-sized data with the default step sizes.
_DEFAULT_MAX_ITER = {"als": 200, "gd": 1000, "als-gd": 200, "sgd": 50, "bgd": 100}
# notes/derivations.md §7: the tolerance rule is for the monotone solvers; off for the noisy ones.
_DEFAULT_TOL = {"als": 1e-6, "gd": 1e-9, "als-gd": 1e-6, "sgd": 0.0, "bgd": 0.0}
_DEFAULT_LAM = {"mean": 1e-4, "weighted": 0.05}
EXPLODE = 1e6            # F > 1e6·max(F⁽⁰⁾, 1) counts as divergence (notes/derivations.md §3.4)


class MF:
    """Matrix factorization r̂_ui = p_uᵀq_i fitted by minimising eq. (1) (or G_λ, ``reg_mode="weighted"``).

    Parameters
    ----------
    K : int
        Latent dimension (>= 1).
    lam : float, optional
        λ >= 0.  Default 1e-4 for ``reg_mode="mean"`` (ALS ridge λ|Ω| ≈ 8 on ml-100k),
        0.05 for ``"weighted"`` (the slides' per-sample λ).
    solver : {"als", "gd", "als-gd", "sgd", "bgd"}
        Algorithm 1 (ALS), full GD (eq. 3), ALS+GD (Algorithms 3/4), SGD (Algorithm 5),
        mini-batch GD (the slides' BGD).  All minimise the same objective for a given ``reg_mode``.
    reg_mode : {"mean", "weighted"}
        "mean" = eq. (1) (default for every solver); "weighted" = frequency-weighted G_λ,
        which the slides' SGD minimises (ALS-WR), notes/derivations.md §6.4.
    max_iter : int, optional
        Iterations (ALS / GD / ALS+GD outer loops) or epochs (SGD, BGD).  Defaults: als 200,
        gd 1000, als-gd 200, sgd 50, bgd 100 (the tolerance usually stops the first three earlier).
    tol : float, optional
        Stop when |F⁽ˡ⁻¹⁾ − F⁽ˡ⁾| <= tol·|F⁽ˡ⁻¹⁾| (notes/derivations.md §7).  Default 1e-6 (ALS, ALS+GD),
        1e-9 (GD, whose slow phase has tiny relative decreases), 0 = off (SGD, BGD: noisy objective).
    lr : float, str or callable, optional
        Step size α.  gd: "auto" (Armijo backtracking, default), "lipschitz" (α = 1/L̂(Θ⁽ˡ⁾)) or a
        fixed float.  als-gd: "block_trace" (default, α_i = 1/L̄_i per row), "block", "global" or
        a float.  sgd: a float (default 0.005: on MovieLens 0.01 left a noise floor above the
        global-mean RMSE) or a callable ``epoch -> α`` (a schedule).
        bgd: a float (default min(0.005·B, 2): a batch step moves like B SGD steps of 0.005, notes/derivations.md §6.5,
        capped for large B) or a callable.  For B near |Ω| prefer solver="gd" (Armijo steps).
    batch_size : int
        B for "bgd" (default 256); B = |Ω| is one full GD step per epoch.
    inner_steps : int or "exact"
        L, the GD steps per block in "als-gd"; "exact" runs each block to convergence (= ALS).
    patience : int, optional
        Early stopping: stop after ``patience`` iterations without a better validation RMSE
        (needs ``valid`` in :meth:`fit`); the best iterate is restored.
    seed : int
        Seeds the initial factors (the same for every solver, notes/derivations.md §8.1) and the shuffles.
    sigma0 : float or str
        Std of the initial factors (default 0.1), see :func:`mfcore.init.init_factors`.
    order : {"sequential", "simultaneous"}
        SGD update order: the slides' (q_i first, p_u with the new q_i) or both from old values.
    verbose : bool
        Show a progress bar (never under grading or tests).

    Attributes (after fit)
    ----------------------
    P_, Q_ : the factors.  history_ : DataFrame, one row per iteration (0 = the initial point) with
    ``objective`` (eq. 1), ``target`` (G_λ, when reg_mode="weighted"), ``train_rmse``,
    ``valid_rmse``, ``step``, ``seconds``.  stop_reason_ : "tol", "max_iter" or "early_stopping".
    n_iter_ : iterations run.  global_mean_ : μ of the training ratings.
    """

    def __init__(self, K: int = 10, lam: float | None = None, solver: str = "als", reg_mode: str = "mean",
                 max_iter: int | None = None, tol: float | None = None, lr=None, batch_size: int = 256,
                 inner_steps: int | str = 1, patience: int | None = None, seed=0, verbose: bool = False,
                 sigma0: float | str = 0.1, order: str = "sequential", min_delta: float = 0.0,
                 restore_best: bool = True):
        self.K = K
        self.lam = lam
        self.solver = solver
        self.reg_mode = reg_mode
        self.max_iter = max_iter
        self.tol = tol
        self.lr = lr
        self.batch_size = batch_size
        self.inner_steps = inner_steps
        self.patience = patience
        self.seed = seed
        self.verbose = verbose
        self.sigma0 = sigma0
        self.order = order
        self.min_delta = min_delta
        self.restore_best = restore_best

    def __repr__(self) -> str:
        return (f"MF(K={self.K}, lam={self.lam}, solver={self.solver!r}, reg_mode={self.reg_mode!r}, "
                f"seed={self.seed})")

    def get_params(self) -> dict:
        """The constructor arguments (scikit-learn style)."""
        return {k: getattr(self, k) for k in (
            "K", "lam", "solver", "reg_mode", "max_iter", "tol", "lr", "batch_size", "inner_steps",
            "patience", "seed", "verbose", "sigma0", "order", "min_delta", "restore_best")}

    # ------------------------------------------------------------------ validation
    def _resolved(self) -> dict:
        """Check every argument before any work and fill in the solver-specific defaults."""
        if self.solver not in SOLVERS:
            raise ValueError(f"unknown solver {self.solver!r}: choose one of {', '.join(SOLVERS)}.")
        s = self.solver
        reg_mode = check_reg_mode(self.reg_mode)
        K = check_K(self.K)
        lam = check_lam(_DEFAULT_LAM[reg_mode] if self.lam is None else self.lam)
        max_iter = _DEFAULT_MAX_ITER[s] if self.max_iter is None else self.max_iter
        if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
            raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}.")
        tol = _DEFAULT_TOL[s] if self.tol is None else self.tol
        if not isinstance(tol, numbers.Real) or not tol >= 0:
            raise ValueError(f"tol must be a number >= 0 (0 turns the tolerance rule off), got {tol!r}.")
        if self.patience is not None and (not isinstance(self.patience, numbers.Integral) or self.patience < 1):
            raise ValueError(f"patience must be None or an integer >= 1, got {self.patience!r}.")
        B = self.batch_size
        if isinstance(B, bool) or not isinstance(B, numbers.Integral) or B < 1:
            raise ValueError(f"batch_size (B) must be an integer >= 1, got {B!r}.")
        L = self.inner_steps
        if L != "exact" and (isinstance(L, bool) or not isinstance(L, numbers.Integral) or L < 1):
            raise ValueError(f"inner_steps (L) must be an integer >= 1 or 'exact', got {L!r}.")
        if self.order not in ("sequential", "simultaneous"):
            raise ValueError(f"order must be 'sequential' (the slides') or 'simultaneous', got {self.order!r}.")
        lr = self.lr
        if lr is None:
            lr = {"gd": "auto", "als-gd": "block_trace", "sgd": 0.005, "bgd": min(0.005 * B, 2.0), "als": None}[s]
        allowed = {"gd": ("auto", "armijo", "lipschitz"), "als-gd": ("block_trace", "block", "global")}
        if s == "als":
            pass
        elif isinstance(lr, str):
            if lr not in allowed.get(s, ()):
                names = allowed.get(s, ())
                raise ValueError(f"lr={lr!r} is not a step-size rule of solver {s!r}: use a number > 0"
                                 + (f" or one of {names}." if names else " or a callable epoch -> α."))
        elif callable(lr):
            if s not in ("sgd", "bgd"):
                raise ValueError(f"a learning-rate schedule (callable) is for 'sgd' and 'bgd', not {s!r}.")
        elif isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"lr (the step size α) must be a finite number > 0, got {lr!r}.")
        return dict(K=K, lam=lam, reg_mode=reg_mode, max_iter=int(max_iter), tol=float(tol), lr=lr,
                    B=int(B), L=L)

    # ------------------------------------------------------------------ fitting
    def fit(self, train: Ratings, valid: Ratings | None = None, callback=None) -> "MF":
        """Fit on ``train`` (eq. 1); with ``valid``, record its RMSE and allow early stopping. Returns self.

        ``callback(iteration, row)``, if given, is called after every iteration with that iteration's
        history row (a dict); returning True stops the fit with ``stop_reason_ == "callback"``
        (used for pruning in :func:`mfcore.bayes_search`).
        """
        cfg = self._resolved()
        train = check_data(train, "train")
        if valid is not None:
            valid = check_data(valid, "valid")
            if valid.shape != train.shape:
                raise ValueError(f"valid has shape {valid.shape} but train has {train.shape}: split both "
                                 "from the same Ratings (e.g. mfcore.train_test_split) so indices agree.")
        if self.patience is not None and valid is None:
            raise ValueError("patience (early stopping) needs validation data: call fit(train, valid).")
        lam, reg_mode = cfg["lam"], cfg["reg_mode"]
        P, Q, rng = init_factors(train, cfg["K"], self.seed, self.sigma0)
        step = _make_step(self.solver, train, cfg, rng, self.order)
        weighted = reg_mode == "weighted"

        rows: list[dict] = []
        start = time.perf_counter()

        def record(it, P, Q, alpha):
            mse_ = mse(P, Q, train)
            row = {"iteration": it, "objective": mse_ + lam * penalty(P, Q, train, "mean")}
            if weighted:
                row["target"] = mse_ + lam * penalty(P, Q, train, "weighted")
            row["train_rmse"] = np.sqrt(mse_)
            row["valid_rmse"] = _rmse(P, Q, valid) if valid is not None else np.nan
            row["step"] = alpha
            row["seconds"] = time.perf_counter() - start
            rows.append(row)
            return row

        first = record(0, P, Q, np.nan)
        track = "target" if weighted else "objective"
        F_start = first[track]
        best = (first["valid_rmse"], 0, P, Q)
        stop_reason, warned = "max_iter", False
        bar = progress(range(1, cfg["max_iter"] + 1), desc=f"{self.solver} K={cfg['K']}",
                       unit="epoch" if self.solver in ("sgd", "bgd") else "it", enabled=self.verbose)
        for it in bar:
            prev = rows[-1][track]
            with np.errstate(over="ignore", invalid="ignore"):
                P_new, Q_new, alpha = step(P, Q, it, prev)
                row = record(it, P_new, Q_new, alpha)
            F = row[track]
            if not (np.isfinite(F) and np.all(np.isfinite(P_new)) and np.all(np.isfinite(Q_new))) \
                    or F > EXPLODE * max(F_start, 1.0):
                what = "became non-finite" if not np.isfinite(F) else f"exploded to {F:.3g}"
                raise DivergenceError(
                    f"{self.solver} diverged at iteration {it} with step size α={_fmt(alpha)}: the objective "
                    f"{what} (last finite value {prev:.6g}). {_hint(self.solver)}",
                    history=pd.DataFrame(rows))
            if self.solver in ("gd", "als-gd") and F > prev * (1 + 1e-10) + 1e-12 and not warned:
                warnings.warn(f"{self.solver}: the objective increased at iteration {it} "
                              f"({prev:.10g} -> {F:.10g}) with α={_fmt(alpha)}; {_hint(self.solver)}",
                              ObjectiveIncreaseWarning, stacklevel=2)
                warned = True
            P, Q = P_new, Q_new
            bar.set_postfix(F=f"{F:.4g}", rmse=f"{row['train_rmse']:.4f}", refresh=False)
            if valid is not None:
                v = row["valid_rmse"]
                if v < best[0] - self.min_delta or not np.isfinite(best[0]):
                    best = (v, it, P, Q)
                elif self.patience is not None and it - best[1] >= self.patience:
                    stop_reason = "early_stopping"
                    break
            if callback is not None and callback(it, row):
                stop_reason = "callback"
                break
            if cfg["tol"] > 0 and abs(prev - F) <= cfg["tol"] * max(abs(prev), 1e-300):
                stop_reason = "tol"
                break
        bar.close()
        if stop_reason == "early_stopping" and self.restore_best:
            P, Q = best[2], best[3]
        self.P_, self.Q_ = P, Q
        self.history_ = pd.DataFrame(rows).set_index("iteration")
        self.stop_reason_ = stop_reason
        self.n_iter_ = int(self.history_.index[-1])
        self.best_iter_ = best[1] if valid is not None else self.n_iter_
        self.lam_ = lam
        self.reg_mode_ = reg_mode
        self.global_mean_ = train.mean
        self.seen_users_ = train.user_counts > 0
        self.seen_items_ = train.item_counts > 0
        return self

    # ------------------------------------------------------------------ using the fit
    def _check_fitted(self):
        if not hasattr(self, "P_"):
            raise RuntimeError("this MF is not fitted yet: call fit(train) first.")

    def predict(self, users, items, cold_start: str = "zero") -> np.ndarray:
        """r̂_ui = p_uᵀq_i for index pairs; unseen users/items give 0 or μ (``cold_start``, notes/derivations.md §9.7)."""
        self._check_fitted()
        if cold_start not in ("zero", "global_mean"):
            raise ValueError(f"cold_start must be 'zero' or 'global_mean', got {cold_start!r}.")
        users = np.asarray(users)
        items = np.asarray(items)
        if users.shape != items.shape or users.ndim != 1:
            raise ValueError(f"users and items must be 1-D arrays of the same length, got shapes "
                             f"{users.shape} and {items.shape}.")
        for name, idx, n in (("users", users, self.P_.shape[0]), ("items", items, self.Q_.shape[0])):
            if idx.size and (idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= n):
                raise ValueError(f"{name} must be integer indices in [0, {n}); map raw ids through the "
                                 "Ratings' user_ids/item_ids first.")
        r_hat = predict(self.P_, self.Q_, users, items)
        if cold_start == "global_mean":
            cold = ~(self.seen_users_[users] & self.seen_items_[items])
            r_hat[cold] = self.global_mean_
        return r_hat

    def rmse(self, data: Ratings) -> float:
        """RMSE of the fitted model on ``data`` (pure model, cold pairs predict 0)."""
        self._check_fitted()
        data = check_data(data)
        if data.shape != (self.P_.shape[0], self.Q_.shape[0]):
            raise ValueError(f"data has shape {data.shape} but the model was fitted on "
                             f"{(self.P_.shape[0], self.Q_.shape[0])}.")
        return _rmse(self.P_, self.Q_, data)


def _rmse(P, Q, data) -> float:
    return float(np.sqrt(mse(P, Q, data)))


def _fmt(alpha) -> str:
    return "per-row (block)" if alpha is None or (isinstance(alpha, float) and np.isnan(alpha)) else f"{alpha:.4g}"


def _hint(solver: str) -> str:
    return {
        "gd": "Reduce the step size lr or use lr='auto' (Armijo backtracking).",
        "als-gd": "Reduce lr or use lr='block_trace' (a safe per-row step, the default).",
        "sgd": "Reduce the learning rate lr (e.g. by 10x) or use a decaying schedule.",
        "bgd": "Reduce the learning rate lr (e.g. by 10x) or use a larger batch_size.",
        "als": "ALS cannot diverge on valid data: check the ratings for huge values.",
    }[solver]


def _make_step(solver: str, data: Ratings, cfg: dict, rng, order: str):
    """A function (P, Q, iteration, F_prev) -> (P, Q, α) doing one iteration of ``solver``."""
    lam, reg_mode, lr = cfg["lam"], cfg["reg_mode"], cfg["lr"]
    if solver == "als":
        from .als import als_iteration

        def step(P, Q, it, F_prev):
            P, Q = als_iteration(P, Q, data, lam, reg_mode)
            return P, Q, np.nan
        return step

    if solver == "gd":
        from .gd import armijo_step, gd_step, lipschitz_bound
        if lr in ("auto", "armijo"):
            state = {"trial": None}

            def step(P, Q, it, F_prev):
                if state["trial"] is None:
                    state["trial"] = 1.0 / lipschitz_bound(P, Q, data, lam, reg_mode)
                P, Q, alpha, _ = armijo_step(P, Q, data, lam, state["trial"], reg_mode, F0=F_prev)
                state["trial"] = 2.0 * alpha if alpha > 0 else state["trial"]     # optional growth (§3.3)
                return P, Q, alpha
            return step
        if lr == "lipschitz":
            def step(P, Q, it, F_prev):
                alpha = 1.0 / lipschitz_bound(P, Q, data, lam, reg_mode)
                return (*gd_step(P, Q, data, lam, alpha, reg_mode), alpha)
            return step

        def step(P, Q, it, F_prev):
            return (*gd_step(P, Q, data, lam, lr, reg_mode), float(lr))
        return step

    if solver == "als-gd":
        from .als_gd import als_gd_iteration

        def step(P, Q, it, F_prev):
            P, Q = als_gd_iteration(P, Q, data, lam, reg_mode, inner_steps=cfg["L"], step=lr)
            return P, Q, (float(lr) if isinstance(lr, numbers.Real) else np.nan)
        return step

    schedule = lr if callable(lr) else (lambda epoch, a=float(lr): a)
    if solver == "sgd":
        from .sgd import sgd_epoch

        def step(P, Q, it, F_prev):
            alpha = float(schedule(it - 1))
            P, Q = P.copy(), Q.copy()
            sgd_epoch(P, Q, data, lam, alpha, reg_mode, rng=rng, order=order)
            return P, Q, alpha
        return step

    from .bgd import bgd_epoch

    def step(P, Q, it, F_prev):
        alpha = float(schedule(it - 1))
        P, Q = P.copy(), Q.copy()
        bgd_epoch(P, Q, data, lam, alpha, cfg["B"], reg_mode, rng=rng)
        return P, Q, alpha
    return step
