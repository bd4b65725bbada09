"""``MF``: one estimator for every solver of the lecture (the scikit-learn estimator protocol).

    model = MF(K=10, lam=1e-4, solver="als").fit(train, valid)     # biased=True: μ + b_u + c_i + p_uᵀq_i
    model.predict(users, items); model.rmse(test); model.history_
    model.recommend(user, n=10); model.similar_items(item, n=10)  # by raw ids (notes/derivations.md §11.5)

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
from .ranking import cosine_similarities, top_n, user_scores
from .als import ALS
from .als_gd import ALSGD
from .bgd import BGD
from .data import Ratings, lookup
from .errors import DivergenceError, NotFittedError, ObjectiveIncreaseWarning
from .gd import GD
from .initialization import init_factors
from .objectives import _bias_penalty, _penalty, predict, sum_squares
from .progress import progress
from .sgd import SGD

__all__ = ["MF", "SOLVERS"]

#: solver name → the class that runs it (each defined in the solver's own module).
SOLVER_CLASSES = {cls.name: cls for cls in (ALS, GD, ALSGD, SGD, BGD)}
SOLVERS = tuple(SOLVER_CLASSES)

_DEFAULT_LAM = {"mean": 1e-4, "weighted": 0.05}
EXPLODE = 1e6            # F > 1e6·max(F⁽⁰⁾, 1) counts as divergence (notes/derivations.md §3.4)


class MF:
    """Matrix factorization r̂_ui = p_uᵀq_i fitted by minimising eq. (1) (or G_λ, ``reg_mode="weighted"``);
    with ``biased=True`` the model r̂_ui = μ + b_u + c_i + p_uᵀq_i of notes/derivations.md §11.

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
        gd 1000, als-gd 200, sgd 500, bgd 100 (the tolerance usually stops the first three earlier, and
        SGD's default step rule stops it at its plateau).
    tol : float, optional
        Stop when |F⁽ˡ⁻¹⁾ − F⁽ˡ⁾| <= tol·|F⁽ˡ⁻¹⁾| (notes/derivations.md §7).  Default 1e-6 (ALS, ALS+GD),
        1e-9 (GD, whose slow phase has tiny relative decreases), 0 = off (SGD, BGD: noisy objective).
    step : float, str or callable, optional
        The step size α (learning rate; formerly ``lr``).  gd: "auto" (Armijo backtracking, default),
        "lipschitz" (α = 1/L̂(Θ⁽ˡ⁾)) or a fixed float.  als-gd: "block_trace" (default, α_i = 1/L̄_i
        per row), "block", "global" or a float.  sgd: "auto" (default: α₀ = 0.005, halved whenever 10 epochs
        do not lower the best objective, stop after 4 halvings; notes/derivations.md §6.6), a float, or a
        callable ``epoch -> α`` (a schedule).
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
    biased : bool
        Fit μ + b_u + c_i + p_uᵀq_i (notes/derivations.md §11): μ the mean training rating (fixed), the user
        biases b and item biases c penalised by λ_b with the same per-row weights as the factors.  Every
        solver supports it.  The plain model (default) is the biased one with μ = 0 and b = c = 0 held fixed.
    lam_b : float, optional
        λ_b, the penalty of the biases (default λ).  Only with ``biased=True``.

    Attributes (after fit)
    ----------------------
    P_, Q_ : the factors.  b_, c_ : the user and item biases (zeros for the plain model).  mu_ : μ in the
    model (the mean training rating when biased, 0 for the plain model).  history_ : DataFrame, one row per
    iteration (0 = the initial point) with ``objective`` (eq. 1, or F_λ^b of §11.1), ``target`` (G_λ, when
    reg_mode="weighted"), ``train_rmse``, ``valid_rmse``, ``step``, ``seconds``.  stop_reason_ : "tol",
    "plateau" (SGD's step="auto"), "max_iter", "early_stopping" or "callback".  n_iter_ : iterations run.
    best_iter_ : the iteration with the best validation RMSE (kept after early stopping).
    global_mean_ : μ of the training ratings.  user_ids_, item_ids_ : the raw ids of the training Ratings.
    """

    def __init__(self, K: int = 10, lam: float | None = None, solver: str = "als", reg_mode: str = "mean",
                 max_iter: int | None = None, tol: float | None = None, step=None, batch_size: int = 256,
                 inner_steps: int | str = 1, patience: int | None = None, seed=0, verbose: bool = False,
                 sigma0: float | str = 0.1, order: str = "sequential", min_delta: float = 0.0,
                 restore_best: bool = True, biased: bool = False, lam_b: float | None = None, *, lr=None):
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
        if not isinstance(self.biased, (bool, np.bool_)):
            raise ValueError(f"biased must be True or False, got {self.biased!r}.")
        cfg["biased"] = bool(self.biased)
        if self.lam_b is not None and not self.biased:
            raise ValueError("lam_b (λ_b) is the penalty of the biases: it needs biased=True.")
        cfg["lam_b"] = cfg["lam"] if self.lam_b is None else check_lam(self.lam_b, "lam_b (λ_b)")
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
        b, c = np.zeros(train.n_users), np.zeros(train.n_items)                 #    biases start at 0 (§11.1)
        mu = train.mean if cfg["biased"] else 0.0
        solver = cfg["solver"](train, cfg["lam"], cfg["reg_mode"], cfg["step"], rng, biased=cfg["biased"],
                               lam_b=cfg["lam_b"], mu=mu, K=cfg["K"], **cfg["options"])
        history = _History(train, valid, cfg["lam"], cfg["reg_mode"], mu, cfg["lam_b"] if cfg["biased"] else None)
        (P, Q, b, c), stop_reason, best_iter = self._iterate(solver, history, [P, Q, b, c], cfg, callback)  # 3.
        self._set_fitted(train, P, Q, b, c, mu, history, stop_reason, best_iter, cfg)                      # 4.
        return self

    def _iterate(self, solver, history, theta, cfg, callback):
        """The outer loop (notes/derivations.md §7): one solver iteration, its history row, the divergence checks,
        the stop rules.  ``theta`` = [P, Q, b, c] (b = c = 0 and never updated for the plain model)."""
        # SGD/BGD update Θ in place: the best iterate (early stopping on validation) is kept as a copy.
        keep_copy = getattr(solver, "in_place", False) and history.valid is not None
        first = history.record(0, *theta, np.nan)
        track, F_start = history.track, first[history.track]
        best = (first["valid_rmse"], 0, _copies(theta, keep_copy))
        stop_reason, warned = "max_iter", False
        name = solver.name
        bar = progress(range(1, cfg["max_iter"] + 1), desc=f"{name} K={cfg['K']}",
                       unit="epoch" if getattr(solver, "in_place", False) else "it", enabled=self.verbose)
        for it in bar:
            prev = history.last[track]
            with np.errstate(over="ignore", invalid="ignore"):
                *theta, alpha = solver.iterate(*theta, it, prev)
                row = history.record(it, *theta, alpha)
            F = row[track]
            _check_divergence(name, it, F, prev, F_start, theta, alpha, history, solver)
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
                    best = (v, it, _copies(theta, keep_copy))
                elif self.patience is not None and it - best[1] >= self.patience:
                    stop_reason = "early_stopping"
                    break
            if callback is not None and callback(it, row):
                stop_reason = "callback"
                break
            if cfg["tol"] > 0 and abs(prev - F) <= cfg["tol"] * max(abs(prev), 1e-300):
                stop_reason = "tol"
                break
            if hasattr(solver, "converged") and solver.converged(F):     # SGD's step="auto" (§6.6)
                stop_reason = "plateau"
                break
        bar.close()
        if stop_reason == "early_stopping" and self.restore_best:
            theta = best[2]
        return theta, stop_reason, best[1]

    def _set_fitted(self, train, P, Q, b, c, mu, history, stop_reason, best_iter, cfg):
        self.P_, self.Q_, self.b_, self.c_, self.mu_ = P, Q, b, c, float(mu)
        self.history_ = history.frame()
        self.stop_reason_ = stop_reason
        self.n_iter_ = int(self.history_.index[-1])
        self.best_iter_ = best_iter if history.valid is not None else self.n_iter_
        self.lam_ = cfg["lam"]
        self.lam_b_ = cfg["lam_b"] if cfg["biased"] else None
        self.reg_mode_ = cfg["reg_mode"]
        self.global_mean_ = train.mean
        self.seen_users_ = train.user_counts > 0
        self.seen_items_ = train.item_counts > 0
        self.item_counts_ = train.item_counts
        self.user_ids_, self.item_ids_ = train.user_ids, train.item_ids
        self.train_by_user_ = train.by_user            # the items each user rated (recommend(exclude_seen=True))

    # ------------------------------------------------------------------ using the fit
    def _check_fitted(self):
        if not hasattr(self, "P_"):
            raise NotFittedError("this MF is not fitted yet: call fit(train) first.")

    def predict(self, users, items, cold_start: str = "model", raw_ids: bool = False) -> np.ndarray:
        """r̂_ui for pairs of user and item indices (``raw_ids=True``: raw ids, e.g. MovieLens userId/movieId).

        Cold pairs (a user or item without training ratings, or a raw id the model never saw) get what the model
        gives them (notes/derivations.md §9.7, §11.5): ``cold_start="model"`` (default) is 0 for the plain model
        (zero factors) and μ + b_u + c_i with the unknown bias 0 for the biased one; ``"global_mean"`` is μ, the
        mean training rating.  (``"zero"``, the old name of ``"model"``, still works.)
        """
        self._check_fitted()
        if cold_start not in ("model", "zero", "global_mean"):
            raise ValueError(f"cold_start must be 'model' or 'global_mean', got {cold_start!r}.")
        if raw_ids:
            users, items = self._user_index(users), self._item_index(items)
        else:
            users, items = np.asarray(users), np.asarray(items)
        if users.shape != items.shape or users.ndim != 1:
            raise ValueError(f"users and items must be 1-D arrays of the same length, got shapes "
                             f"{users.shape} and {items.shape}.")
        unknown = (users < 0) | (items < 0) if raw_ids else np.zeros(users.shape, dtype=bool)
        if not raw_ids:
            for name, idx, n in (("users", users, self.P_.shape[0]), ("items", items, self.Q_.shape[0])):
                if idx.size and (idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= n):
                    raise ValueError(f"{name} must be integer indices in [0, {n}); for raw ids (e.g. MovieLens "
                                     "userId/movieId) pass raw_ids=True.")
        u, i = np.where(users < 0, 0, users), np.where(items < 0, 0, items)
        r_hat = predict(self.P_, self.Q_, u, i, self.b_, self.c_, self.mu_)
        if unknown.any():                              # a raw id never seen: like an unseen row (0 factor, 0 bias)
            bu, ci = np.where(users >= 0, self.b_[u], 0.0), np.where(items >= 0, self.c_[i], 0.0)
            r_hat[unknown] = (self.mu_ + bu + ci)[unknown]
        if cold_start == "global_mean":
            cold = unknown | ~(self.seen_users_[u] & self.seen_items_[i])
            r_hat[cold] = self.global_mean_
        return r_hat

    def rmse(self, data: Ratings) -> float:
        """RMSE of the fitted model on ``data`` (cold pairs as ``predict``'s default: 0, or μ + bias with biases)."""
        self._check_fitted()
        data = check_data(data)
        if data.shape != (self.P_.shape[0], self.Q_.shape[0]):
            raise ValueError(f"data has shape {data.shape} but the model was fitted on "
                             f"{(self.P_.shape[0], self.Q_.shape[0])}.")
        return float(np.sqrt(_sse(self.P_, self.Q_, self.b_, self.c_, self.mu_, data) / len(data)))

    # ------------------------------------------------------------------ recommendations (raw ids)
    def _user_index(self, users) -> np.ndarray:
        return lookup(self.user_ids_, users)

    def _item_index(self, items) -> np.ndarray:
        return lookup(self.item_ids_, items)

    def recommend(self, user, n: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        """The ``n`` items with the highest predicted rating for ``user`` (a raw id), best first.

        Returns a DataFrame with the raw ``item`` ids and their ``score`` r̂_ui.  ``exclude_seen`` leaves out
        the items the user rated in the training data; items without a training rating are never recommended
        (the model knows nothing about them).  An unknown user gets the biased model's non-personalised ranking
        μ + c_i (notes/derivations.md §11.5); the plain model has nothing to rank for them and raises ValueError.
        """
        self._check_fitted()
        n = check_scalar(n, "n (the number of recommendations)", integer=True, low=1)
        u = int(self._user_index([user])[0])
        if u < 0 or not self.seen_users_[u]:
            if self.lam_b_ is None:                    # the plain model
                raise ValueError(f"user {user!r} has no training ratings: the plain model's factor is 0, so every "
                                 "item scores 0. Fit with biased=True for a popularity-like fallback (μ + c_i), "
                                 "or ask for a user of the training data.")
        scores = user_scores(self.P_, self.Q_, self.b_, self.c_, self.mu_, u)
        exclude = ~self.seen_items_
        if exclude_seen and u >= 0:
            view = self.train_by_user_
            exclude = exclude.copy()
            exclude[view.index[view.indptr[u]:view.indptr[u + 1]]] = True
        idx = top_n(scores, n, exclude)
        return pd.DataFrame({"item": self.item_ids_[idx], "score": scores[idx]})

    def similar_items(self, item, n: int = 10, min_ratings: int = 1) -> pd.DataFrame:
        """The ``n`` items whose factors q_j point most nearly the same way as q_i (cosine similarity), best first.

        ``item`` is a raw id; returns the raw ``item`` ids and their ``similarity`` in [−1, 1].  Only the
        factors count (the biases say how much an item is liked, not by whom).  Only items with at least
        ``min_ratings`` training ratings are candidates: the direction of a factor fitted on one or two ratings
        is mostly noise.  An item without training ratings has no direction and raises ValueError.
        """
        self._check_fitted()
        n = check_scalar(n, "n (the number of similar items)", integer=True, low=1)
        min_ratings = check_scalar(min_ratings, "min_ratings", integer=True, low=1)
        i = int(self._item_index([item])[0])
        if i < 0 or not self.seen_items_[i]:
            raise ValueError(f"item {item!r} has no training ratings, so its factor q_i is 0 and has no direction: "
                             "pick an item of the training data.")
        sims = cosine_similarities(self.Q_, i)
        exclude = (self.item_counts_ < min_ratings) | (np.arange(len(sims)) == i)
        idx = top_n(sims, n, exclude)
        return pd.DataFrame({"item": self.item_ids_[idx], "similarity": sims[idx]})


def _copies(theta, copy: bool) -> list:
    return [x.copy() for x in theta] if copy else list(theta)


def _sse(P, Q, b, c, mu, data: Ratings, e=None) -> float:
    """Σ e_ui² on ``data`` for checked factors and biases (``e``: an optional |Ω| buffer)."""
    e = residuals_kernel(P, Q, b, c, mu, data.users, data.items, data.ratings, np.empty(len(data)) if e is None else e)
    return sum_squares(e)


class _History:
    """One row per iteration: eq. (1) (F_λ^b with biases), G_λ (weighted), train/valid RMSE, α, seconds."""

    def __init__(self, train: Ratings, valid: Ratings | None, lam: float, reg_mode: str, mu: float = 0.0,
                 lam_b: float | None = None):
        self.train, self.valid, self.lam, self.mu, self.lam_b = train, valid, lam, mu, lam_b
        self.reg_mode = reg_mode
        self.weighted = reg_mode == "weighted"
        self.track = "target" if self.weighted else "objective"
        self.e_train = np.empty(len(train))
        self.e_valid = None if valid is None else np.empty(len(valid))
        self.rows: list[dict] = []
        self.start = time.perf_counter()

    @property
    def last(self) -> dict:
        return self.rows[-1]

    def _penalty(self, P, Q, b, c, reg_mode) -> float:
        pen = self.lam * _penalty(P, Q, self.train, reg_mode)
        if self.lam_b is not None:
            pen += self.lam_b * _bias_penalty(b, c, self.train, reg_mode)
        return pen

    def record(self, it, P, Q, b, c, alpha) -> dict:
        mse = _sse(P, Q, b, c, self.mu, self.train, self.e_train) / len(self.train)
        row = {"iteration": it, "objective": mse + self._penalty(P, Q, b, c, "mean")}
        if self.weighted:
            row["target"] = mse + self._penalty(P, Q, b, c, "weighted")
        row["train_rmse"] = np.sqrt(mse)
        row["valid_rmse"] = (float(np.sqrt(_sse(P, Q, b, c, self.mu, self.valid, self.e_valid) / len(self.valid)))
                             if self.valid is not None else np.nan)
        row["step"] = alpha
        row["seconds"] = time.perf_counter() - self.start
        self.rows.append(row)
        return row

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows).set_index("iteration")


def _check_divergence(name, it, F, prev, F_start, theta, alpha, history, solver=None) -> None:
    """notes/derivations.md §3.4: a non-finite objective or parameter, or F > 1e6·max(F⁽⁰⁾, 1), raises
    DivergenceError."""
    if np.isfinite(F) and F <= EXPLODE * max(F_start, 1.0) and all(np.isfinite(x).all() for x in theta):
        return
    what = "became non-finite" if not np.isfinite(F) else f"exploded to {F:.3g}"
    raise DivergenceError(
        f"{name} diverged at iteration {it} with step size α={_fmt(alpha)}: the objective "
        f"{what} (last finite value {prev:.6g}). {_hint(name, solver, alpha)}",
        history=pd.DataFrame(history.rows))


def _fmt(alpha) -> str:
    return "per-row (block)" if alpha is None or (isinstance(alpha, float) and np.isnan(alpha)) else f"{alpha:.4g}"


def _hint(solver: str, instance=None, alpha=None) -> str:
    """What to change after a divergence or an increase; for SGD/BGD it names the largest per-sample shrink 2αλ_u
    (notes/derivations.md §6.3): with reg_mode="mean" it is 2αλ|Ω|/|I_u|, which exceeds 1 for rare rows when λ is
    large, and then the penalty itself overshoots, whatever the learning rate looks like."""
    if solver == "sgd" and instance is not None and alpha is not None and np.isfinite(alpha):
        coefs = [x for x in (instance.coef_user, instance.coef_item, getattr(instance, "coefb_user", None),
                             getattr(instance, "coefb_item", None)) if x is not None and len(x)]
        shrink = 2.0 * alpha * max(float(np.max(x)) for x in coefs)
        if shrink > 0.5:
            return (f"The penalty overshoots: the largest per-sample shrink 2·α·λ_row = {shrink:.3g} "
                    "(> 1 flips the sign of a row at each of its samples). With reg_mode='mean' a row with few "
                    "ratings gets λ_row = λ|Ω|/|I_u| (notes/derivations.md §6.3), so a large λ diverges even at a "
                    "small step: reduce λ (lam) or the step size, or use reg_mode='weighted' (λ_row = λ).")
    return {
        "gd": "Reduce the step size (step) or use step='auto' (Armijo backtracking).",
        "als-gd": "Reduce the step or use step='block_trace' (a safe per-row step, the default).",
        "sgd": "Reduce the step size (step, the learning rate) e.g. by 10x, or use a decaying schedule.",
        "bgd": "Reduce the step size (step, the learning rate) e.g. by 10x, or use a larger batch_size.",
        "als": "ALS cannot diverge on valid data: check the ratings for huge values.",
    }[solver]
