"""Stochastic gradient descent, the slides' Algorithm 5 (notes/derivations.md §6.1–6.4).

One epoch shuffles Ω and visits every sample once.  For a sample (u, i) the
item row is updated first and the user update then uses the **new** q_i
(slides' lines 8 and 10, ``order="sequential"``)::

    e  = r_ui − p_uᵀq_i,    q_i ← q_i + 2α(e p_u − λ_i q_i)
    e' = r_ui − p_uᵀq_i,    p_u ← p_u + 2α(e' q_i − λ_u p_u)

``order="simultaneous"`` uses the old values in both (Funk-style SGD).

The per-sample penalty coefficients λ_u, λ_i depend on the objective
(notes/derivations.md §6.4): ``reg_mode="weighted"`` is the slides' SGD (λ_u = λ, it minimises
G_λ), ``reg_mode="mean"`` uses λ|Ω|/|I_u| and λ|Ω|/|U_i|, the unbiased sample of
eq. (1).  Unseen rows are never sampled, so they keep their value (0, §8.1).
With biases (notes/derivations.md §11.4) c_i moves with q_i and b_u with p_u, with their own coefficients
(λ_b in place of λ).  The loops are the kernels ``_kernels.sgd_update`` and ``_kernels.sgd_epoch_kernel``.
"""

from __future__ import annotations

import numpy as np

from . import _kernels
from ._validate import (check_data, check_in_place, check_lam, check_reg_mode, check_rng, check_scalar, check_step,
                        renamed_step)
from .data import Ratings
from .sampling import biases_in_place, sample_penalty_coefficients, shuffled

__all__ = ["sgd_update", "sgd_epoch", "ORDERS"]

ORDERS = ("sequential", "simultaneous")


def sgd_update(p_u, q_i, r_ui, step=None, lam_u=0.0, lam_i=0.0, sequential=True, *, alpha=None) -> None:
    """One SGD step on sample (u, i), in place: item then user update (Algorithm 5 lines 8, 10; notes/derivations.md
    §6.2)."""
    step = check_step(renamed_step(step, "sgd_update", alpha=alpha))
    for name, v in (("p_u", p_u), ("q_i", q_i)):
        if not (isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype == np.float64 and v.flags.writeable):
            raise ValueError(f"{name} is updated in place, so it must be a writeable 1-D float64 numpy array "
                             f"(a row such as P[u]), got {type(v).__name__}"
                             f"{'' if not hasattr(v, 'dtype') else f' of dtype {v.dtype}, shape {v.shape}'}.")
    if p_u.shape != q_i.shape:
        raise ValueError(f"p_u and q_i must have the same length K, got {p_u.shape[0]} and {q_i.shape[0]}.")
    r_ui = check_scalar(r_ui, "r_ui")
    lam_u = check_scalar(lam_u, "lam_u (λ_u)", low=0)
    lam_i = check_scalar(lam_i, "lam_i (λ_i)", low=0)
    no_bias = np.zeros(1)                      # the plain model: biases fixed at 0, never read
    _kernels.sgd_update(p_u, q_i, r_ui, step, lam_u, lam_i, bool(sequential), no_bias, no_bias, 0, 0, 0.0, 0.0, False)


def check_order(order) -> str:
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS} ('sequential' = the slides' Algorithm 5, the user "
                         f"update uses the new q_i; 'simultaneous' = both use the old values), got {order!r}.")
    return order


def sgd_epoch(P, Q, data: Ratings, lam: float, step: float | None = None, reg_mode: str = "mean", rng=None,
              order: str = "sequential", *, alpha=None, b=None, c=None, mu: float | None = None,
              lam_b: float | None = None) -> None:
    """One epoch of Algorithm 5 in place: shuffle Ω with ``rng``, then one step per sample (notes/derivations.md §6.2).

    ``rng`` is a ``numpy.random.Generator``; pass the same one every epoch so
    each epoch gets a fresh permutation (``None`` means ``default_rng(0)``,
    i.e. the same shuffle on every call).  With the biases ``b``, ``c`` (float arrays, updated in place too;
    μ = ``mu``, default the mean rating; λ_b = ``lam_b``, default λ) it is the biased SGD of §11.4.
    """
    step = renamed_step(step, "sgd_epoch", alpha=alpha)
    data = check_data(data)
    P, Q = check_in_place(P, Q, data)
    lam = check_lam(lam)
    step = check_step(step)
    reg_mode = check_reg_mode(reg_mode)
    order = check_order(order)
    rng = check_rng(rng)
    b, c, mu, lam_b, biased = biases_in_place(b, c, data, mu, lam, lam_b)
    coef_user, coef_item = sample_penalty_coefficients(data, lam, reg_mode)
    coefb_user, coefb_item = sample_penalty_coefficients(data, lam_b, reg_mode)
    _kernels.sgd_epoch_kernel(P, Q, b, c, mu, *shuffled(data, rng), coef_user, coef_item, coefb_user, coefb_item, step,
                              order == "sequential", biased)


#: The default step rule "auto" (notes/derivations.md §6.6): α₀, halved whenever the best objective of a window of
#: WINDOW epochs is not lower (by PLATEAU_TOL, relative) than the best before it; the fit ends after HALVINGS
#: halvings (stop_reason "plateau").
ALPHA0 = 0.005
WINDOW = 10
PLATEAU_TOL = 1e-4
HALVINGS = 4


class SGD:
    """Algorithm 5 inside :class:`mfcore.MF`: coefficients once, then one in-place epoch per call.

    ``step`` is "auto" (default), a float or a schedule ``epoch -> α`` (epochs count from 0).  "auto" starts at
    α₀ = 0.005 (capped so that no per-sample shrink 2αλ_row exceeds 1/2), halves α whenever 10 epochs have not
    lowered the best objective by 0.01% (the noise floor of the current step, notes/derivations.md §6.6) and
    stops after 4 halvings.
    """

    name = "sgd"
    step_rules: tuple = ("auto",)
    schedules = True
    in_place = True
    default_max_iter = 500
    default_tol = 0.0                          # noisy objective: the tolerance rule is off (notes/derivations.md §7)
    options = ("order",)

    @staticmethod
    def default_step(options) -> str:
        return "auto"

    @staticmethod
    def check_options(order="sequential", **_):
        check_order(order)

    def __init__(self, data: Ratings, lam: float, reg_mode: str, step, rng, order="sequential", biased=False,
                 lam_b=0.0, mu=0.0, **_):
        self.data, self.rng, self.sequential = data, rng, order == "sequential"
        self.biased, self.mu = biased, mu
        self.coef_user, self.coef_item = sample_penalty_coefficients(data, lam, reg_mode)
        self.coefb_user, self.coefb_item = sample_penalty_coefficients(data, lam_b, reg_mode)
        self.auto = step == "auto"
        if self.auto:
            largest = max(float(np.max(x, initial=0.0)) for x in (self.coef_user, self.coef_item, self.coefb_user,
                                                                  self.coefb_item))
            self.alpha = min(ALPHA0, 0.25 / largest) if largest > 0 else ALPHA0
            self.halvings, self.best, self.window = 0, np.inf, []
        self.schedule = step if callable(step) else (lambda epoch, a=float(0.0 if self.auto else step): a)

    def iterate(self, P, Q, b, c, it, F_prev):
        """One shuffled epoch in place (Algorithm 5 lines 5–11; biases §11.4); returns (P, Q, b, c, α)."""
        alpha = self.alpha if self.auto else float(self.schedule(it - 1))
        _kernels.sgd_epoch_kernel(P, Q, b, c, self.mu, *shuffled(self.data, self.rng), self.coef_user, self.coef_item,
                                  self.coefb_user, self.coefb_item, alpha, self.sequential, self.biased)
        return P, Q, b, c, alpha

    def converged(self, F: float) -> bool:
        """After each epoch, with its objective: every WINDOW epochs the "auto" rule halves α if their best F is not
        below the best before; True (stop) after HALVINGS halvings.  Fixed steps and schedules never stop here."""
        if not self.auto:
            return False
        self.window.append(F)
        if len(self.window) < WINDOW:
            return False
        best = min(self.window)
        if best >= self.best * (1.0 - PLATEAU_TOL):
            self.alpha /= 2.0
            self.halvings += 1
        self.best, self.window = min(self.best, best), []
        return self.halvings >= HALVINGS
