"""``MF``: one estimator for every solver of the lecture (the scikit-learn estimator protocol).

    model = MF(K=10, lam=1e-4, solver="als").fit(train, valid)
    model.predict(users, items); model.rmse(test); model.history_

The estimator is thin: each solver module owns its options and defaults and a small class whose
``iterate`` runs one iteration on checked arrays (``als.ALS``, ``gd.GD``, ``als_gd.ALSGD``,
``sgd.SGD``, ``bgd.BGD``); this file only adds what all solvers share (notes/derivations.md §7): the initial
point (§8.1), the history, the termination rules (tolerance, budget, early stopping on
validation) and the divergence checks (§3.4).  ``get_params``/``set_params``/``repr`` follow
scikit-learn (so ``sklearn.base.clone`` works) without importing it: the parameters are
declared once, in the signature of ``__init__``.
"""

from __future__ import annotations

import inspect
import time
import warnings

import numpy as np
import pandas as pd

from ._kernels import residuals_kernel
from ._validate import (check_data, check_init, check_K, check_lam, check_reg_mode, check_scalar, check_step,
                        renamed_step)
from .als import ALS
from .als_gd import ALSGD
from .bgd import BGD
from .data import Ratings
from .errors import DivergenceError, NotFittedError, ObjectiveIncreaseWarning
from .gd import GD
from .initialization import init_factors
from .objectives import _penalty, predict, sum_squares
from .progress import progress
from .sgd import SGD

__all__ = ["MF", "SOLVERS"]

#: solver name → the class that runs it (each defined in the solver's own module).
SOLVER_CLASSES = {cls.name: cls for cls in (ALS, GD, ALSGD, SGD, BGD)}
SOLVERS = tuple(SOLVER_CLASSES)

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
    step : float, str or callable, optional
        The step size α (learning rate; formerly ``lr``).  gd: "auto" (Armijo backtracking, default),
        "lipschitz" (α = 1/L̂(Θ⁽ˡ⁾)) or a fixed float.  als-gd: "block_trace" (default, α_i = 1/L̄_i
        per row), "block", "global" or a float.  sgd: a float (default 0.005: on MovieLens 0.01 left
        a noise floor above the global-mean RMSE) or a callable ``epoch -> α`` (a schedule).
        bgd: a float (default min(0.005·B, 2): a batch step moves like B SGD steps of 0.005, notes/derivations.md §6.5,
        capped for large B) or a callable.  For B near |Ω| prefer solver="gd" (Armijo steps).  als: unused.
    batch_size : int
        B for "bgd" (default 256); B = |Ω| is one full GD step per epoch.
    inner_steps : int or "exact"
        L, the GD steps per block in "als-gd"; "exact" runs each block to convergence (= ALS).
    patience : int, optional
        Early stopping: stop after ``patience`` iterations without a better validation RMSE
        (needs ``valid`` in :meth:`fit`); the best iterate is restored.
    seed : int
        Seeds the initial factors (the same for every solver, notes/derivations.md §8.1) and the shuffles.
    verbose : bool
        Show a progress bar (never under grading or tests).
    sigma0 : float or str
        Std of the initial factors (default 0.1), see :func:`mfcore.init_factors`.
    order : {"sequential", "simultaneous"}
        SGD update order: the slides' (q_i first, p_u with the new q_i) or both from old values.
    min_delta : float
        Early stopping counts a validation RMSE as better only if it improves by more than this.
    restore_best : bool
        After early stopping, keep the best iterate (default) rather than the last.

    Attributes (after fit)
    ----------------------
    P_, Q_ : the factors.  history_ : DataFrame, one row per iteration (0 = the initial point) with
    ``objective`` (eq. 1), ``target`` (G_λ, when reg_mode="weighted"), ``train_rmse``,
    ``valid_rmse``, ``step``, ``seconds``.  stop_reason_ : "tol", "max_iter", "early_stopping" or
    "callback".  n_iter_ : iterations run.  global_mean_ : μ of the training ratings.
    """

    def __init__(self, K: int = 10, lam: float | None = None, solver: str = "als", reg_mode: str = "mean",
                 max_iter: int | None = None, tol: float | None = None, step=None, batch_size: int = 256,
                 inner_steps: int | str = 1, patience: int | None = None, seed=0, verbose: bool = False,
                 sigma0: float | str = 0.1, order: str = "sequential", min_delta: float = 0.0,
                 restore_best: bool = True, *, lr=None):
        step = renamed_step(step, "MF", lr=lr)
        given = locals()
        for name in self._param_names():
            setattr(self, name, given[name])

    # ------------------------------------------------------------------ the scikit-learn protocol
    @classmethod
    def _param_names(cls) -> list[str]:
        """The parameters, read from the signature of ``__init__`` (declared once), without deprecated aliases."""
        return [p.name for p in inspect.signature(cls.__init__).parameters.values()
                if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD]

    def get_params(self, deep: bool = True) -> dict:
        """The constructor parameters by name (scikit-learn protocol; MF has no nested estimators)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> "MF":
        """Set constructor parameters by name and return self (scikit-learn protocol)."""
        if "lr" in params:
            params["step"] = renamed_step(params.get("step"), "MF.set_params", lr=params.pop("lr"))
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"MF has no parameter {name!r}; valid parameters: {', '.join(valid)}.")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"MF({args})"

    # ------------------------------------------------------------------ validation
    def check_params(self) -> dict:
        """Check every parameter before any work; returns them with the solver's defaults filled in."""
        if self.solver not in SOLVER_CLASSES:
            raise ValueError(f"unknown solver {self.solver!r}: choose one of {', '.join(SOLVERS)}.")
        solver = SOLVER_CLASSES[self.solver]
        reg_mode = check_reg_mode(self.reg_mode)
        cfg = dict(solver=solver, reg_mode=reg_mode, K=check_K(self.K),
                   lam=check_lam(_DEFAULT_LAM[reg_mode] if self.lam is None else self.lam))
        max_iter = solver.default_max_iter if self.max_iter is None else self.max_iter
        cfg["max_iter"] = check_scalar(max_iter, "max_iter", integer=True, low=1)
        tol = solver.default_tol if self.tol is None else self.tol
        cfg["tol"] = check_scalar(tol, "tol", low=0, hint=" (0 turns the tolerance rule off)")
        if self.patience is not None:
            check_scalar(self.patience, "patience", integer=True, low=1, hint=" (or None)")
        check_scalar(self.min_delta, "min_delta", low=0)
        # Every solver's own options are checked whichever solver runs (a typo never waits for a switch).
        options = {"batch_size": self.batch_size, "inner_steps": self.inner_steps, "order": self.order}
        for cls in SOLVER_CLASSES.values():
            cls.check_options(**options)
        cfg["options"] = {k: options[k] for k in solver.options}
        cfg["step"] = self._check_step(solver, solver.default_step(options) if self.step is None else self.step)
        return cfg

    @staticmethod
    def _check_step(solver, step):
        if solver.name == "als":
            return step                                  # ALS has no step size
        if isinstance(step, str):
            if step not in solver.step_rules:
                names = solver.step_rules
                raise ValueError(f"step={step!r} is not a step-size rule of solver {solver.name!r}: use a number > 0"
                                 + (f" or one of {names}." if names else " or a callable epoch -> α."))
            return step
        if callable(step):
            if not getattr(solver, "schedules", False):
                raise ValueError(f"a step-size schedule (callable) is for 'sgd' and 'bgd', not {solver.name!r}.")
            return step
        return check_step(step)

    def _check_fit_data(self, train, valid):
        train = check_data(train, "train")
        if valid is not None:
            valid = check_data(valid, "valid")
            if valid.shape != train.shape:
                raise ValueError(f"valid has shape {valid.shape} but train has {train.shape}: split both "
                                 "from the same Ratings (e.g. mfcore.train_test_split) so indices agree.")
        if self.patience is not None and valid is None:
            raise ValueError("patience (early stopping) needs validation data: call fit(train, valid).")
        return train, valid

    # ------------------------------------------------------------------ fitting
    def fit(self, train: Ratings, valid: Ratings | None = None, callback=None, *, init=None) -> "MF":
        """Fit on ``train`` (eq. 1); with ``valid``, record its RMSE and allow early stopping. Returns self.

        ``callback(iteration, row)``, if given, is called after every iteration with that iteration's
        history row (a dict); returning True stops the fit with ``stop_reason_ == "callback"``
        (used for pruning in :func:`mfcore.bayes_search`).

        ``init=(P0, Q0)`` starts from these factors (copied; shapes (n_users, K) and (n_items, K), finite)
        instead of the seeded draw of notes/derivations.md §8.1, e.g. Spark's start for a parity check
        (notes/derivations.md §13); ``seed`` still drives the shuffles.  ALS reads only P0.  It is an argument of
        ``fit``, not of the constructor, because it is data (its shape is the training set's), not a
        hyperparameter: ``get_params``, ``clone`` and the searches never carry arrays.
        """
        cfg = self.check_params()                                  # 1. every argument, before any work
        train, valid = self._check_fit_data(train, valid)
        P, Q, rng = init_factors(train, cfg["K"], self.seed, self.sigma0)       # 2. the shared start (§8.1)
        if init is not None:                                                    # ... or the caller's
            P, Q = check_init(init, train, cfg["K"])
        solver = cfg["solver"](train, cfg["lam"], cfg["reg_mode"], cfg["step"], rng, **cfg["options"])
        history = _History(train, valid, cfg["lam"], cfg["reg_mode"])
        P, Q, stop_reason, best_iter = self._iterate(solver, history, P, Q, cfg, callback)   # 3. the loop
        self._set_fitted(train, P, Q, history, stop_reason, best_iter, cfg)                  # 4. the results
        return self

    def _iterate(self, solver, history, P, Q, cfg, callback):
        """The outer loop (notes/derivations.md §7): one solver iteration, its history row, the divergence checks,
        the stop rules."""
        # SGD/BGD update P, Q in place: the best iterate (early stopping on validation) is kept as a copy.
        keep_copy = getattr(solver, "in_place", False) and history.valid is not None
        first = history.record(0, P, Q, np.nan)
        track, F_start = history.track, first[history.track]
        best = (first["valid_rmse"], 0, P.copy(), Q.copy()) if keep_copy else (first["valid_rmse"], 0, P, Q)
        stop_reason, warned = "max_iter", False
        name = solver.name
        bar = progress(range(1, cfg["max_iter"] + 1), desc=f"{name} K={cfg['K']}",
                       unit="epoch" if getattr(solver, "in_place", False) else "it", enabled=self.verbose)
        for it in bar:
            prev = history.last[track]
            with np.errstate(over="ignore", invalid="ignore"):
                P, Q, alpha = solver.iterate(P, Q, it, prev)
                row = history.record(it, P, Q, alpha)
            F = row[track]
            _check_divergence(name, it, F, prev, F_start, P, Q, alpha, history)
            if name in ("gd", "als-gd") and not warned and F > prev * (1 + 1e-10) + 1e-12:
                warnings.warn(f"{name}: the objective increased at iteration {it} "
                              f"({prev:.10g} -> {F:.10g}) with α={_fmt(alpha)}; {_hint(name)}",
                              ObjectiveIncreaseWarning, stacklevel=3)
                warned = True
            if self.verbose:
                bar.set_postfix(F=f"{F:.4g}", rmse=f"{row['train_rmse']:.4f}", refresh=False)
            if history.valid is not None:
                v = row["valid_rmse"]
                if v < best[0] - self.min_delta or not np.isfinite(best[0]):
                    best = (v, it, P.copy(), Q.copy()) if keep_copy else (v, it, P, Q)
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
        return P, Q, stop_reason, best[1]

    def _set_fitted(self, train, P, Q, history, stop_reason, best_iter, cfg):
        self.P_, self.Q_ = P, Q
        self.history_ = history.frame()
        self.stop_reason_ = stop_reason
        self.n_iter_ = int(self.history_.index[-1])
        self.best_iter_ = best_iter if history.valid is not None else self.n_iter_
        self.lam_ = cfg["lam"]
        self.reg_mode_ = cfg["reg_mode"]
        self.global_mean_ = train.mean
        self.seen_users_ = train.user_counts > 0
        self.seen_items_ = train.item_counts > 0

    # ------------------------------------------------------------------ using the fit
    def _check_fitted(self):
        if not hasattr(self, "P_"):
            raise NotFittedError("this MF is not fitted yet: call fit(train) first.")

    def predict(self, users, items, cold_start: str = "zero") -> np.ndarray:
        """r̂_ui = p_uᵀq_i for index pairs; unseen users/items give 0 or μ (``cold_start``, notes/derivations.md
        §9.7)."""
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
        return float(np.sqrt(_sse(self.P_, self.Q_, data) / len(data)))


def _sse(P, Q, data: Ratings, e=None) -> float:
    """Σ e_ui² on ``data`` for checked factors (``e``: an optional |Ω| buffer)."""
    e = residuals_kernel(P, Q, data.users, data.items, data.ratings, np.empty(len(data)) if e is None else e)
    return sum_squares(e)


class _History:
    """One row per iteration: eq. (1), G_λ (weighted), train/valid RMSE, α, seconds; kernels on checked data."""

    def __init__(self, train: Ratings, valid: Ratings | None, lam: float, reg_mode: str):
        self.train, self.valid, self.lam = train, valid, lam
        self.weighted = reg_mode == "weighted"
        self.track = "target" if self.weighted else "objective"
        self.e_train = np.empty(len(train))
        self.e_valid = None if valid is None else np.empty(len(valid))
        self.rows: list[dict] = []
        self.start = time.perf_counter()

    @property
    def last(self) -> dict:
        return self.rows[-1]

    def record(self, it, P, Q, alpha) -> dict:
        mse = _sse(P, Q, self.train, self.e_train) / len(self.train)
        row = {"iteration": it, "objective": mse + self.lam * _penalty(P, Q, self.train, "mean")}
        if self.weighted:
            row["target"] = mse + self.lam * _penalty(P, Q, self.train, "weighted")
        row["train_rmse"] = np.sqrt(mse)
        row["valid_rmse"] = (float(np.sqrt(_sse(P, Q, self.valid, self.e_valid) / len(self.valid)))
                             if self.valid is not None else np.nan)
        row["step"] = alpha
        row["seconds"] = time.perf_counter() - self.start
        self.rows.append(row)
        return row

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows).set_index("iteration")


def _check_divergence(name, it, F, prev, F_start, P, Q, alpha, history) -> None:
    """notes/derivations.md §3.4: a non-finite objective or factor, or F > 1e6·max(F⁽⁰⁾, 1), raises DivergenceError."""
    if np.isfinite(F) and F <= EXPLODE * max(F_start, 1.0) and np.isfinite(P).all() and np.isfinite(Q).all():
        return
    what = "became non-finite" if not np.isfinite(F) else f"exploded to {F:.3g}"
    raise DivergenceError(
        f"{name} diverged at iteration {it} with step size α={_fmt(alpha)}: the objective "
        f"{what} (last finite value {prev:.6g}). {_hint(name)}",
        history=pd.DataFrame(history.rows))


def _fmt(alpha) -> str:
    return "per-row (block)" if alpha is None or (isinstance(alpha, float) and np.isnan(alpha)) else f"{alpha:.4g}"


def _hint(solver: str) -> str:
    return {
        "gd": "Reduce the step size (step) or use step='auto' (Armijo backtracking).",
        "als-gd": "Reduce the step or use step='block_trace' (a safe per-row step, the default).",
        "sgd": "Reduce the step size (step, the learning rate) e.g. by 10x, or use a decaying schedule.",
        "bgd": "Reduce the step size (step, the learning rate) e.g. by 10x, or use a larger batch_size.",
        "als": "ALS cannot diverge on valid data: check the ratings for huge values.",
    }[solver]
