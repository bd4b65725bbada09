"""Mini-batch gradient descent, the slides' BGD (notes/derivations.md §6.5).

One epoch permutes Ω and cuts it into consecutive batches b of size B (the
last may be smaller).  For each batch, from the values before the batch::

    ĝ = (1/|b|) Σ_{(u,i)∈b} ∇ℓ_ui,        Θ ← Θ − α ĝ

with the per-sample gradients of notes/derivations.md §6.1 (coefficients λ_u, λ_i of §6.4)::

    ∇_{p_u} ℓ_ui = −2 e_ui q_i + 2 λ_u p_u,    ∇_{q_i} ℓ_ui = −2 e_ui p_u + 2 λ_i q_i.

A row met several times in a batch gets the sum of its contributions; rows not
in the batch do not change.  B = |Ω| is one full GD step on F ("mean") or G
("weighted"); B = 1 is Algorithm 5 with ``order="simultaneous"``.
With biases (notes/derivations.md §11.4) the batch gradient has the bias parts −2e_ui + 2λ_b b_u too.
The loop is the kernel ``_kernels.bgd_epoch_kernel``.
"""

from __future__ import annotations

import numpy as np

from ._kernels import bgd_epoch_kernel
from ._validate import (check_data, check_factors, check_in_place, check_lam, check_reg_mode, check_rng,
                        check_scalar, check_step, renamed_step)
from .data import Ratings
from .objectives import residuals
from .sampling import biases_in_place, sample_penalty_coefficients, shuffled

__all__ = ["bgd_epoch", "per_sample_gradients"]


def check_batch_size(batch_size, n_omega: int | None = None) -> int:
    where = "" if n_omega is None else f" (1 = SGD, |Ω| = {n_omega} = one full GD step)"
    return check_scalar(batch_size, "batch_size (B)", integer=True, low=1, hint=where)


def bgd_epoch(P, Q, data: Ratings, lam: float, step: float | None = None, batch_size: int | None = None,
              reg_mode: str = "mean", rng=None, *, alpha=None, b=None, c=None, mu: float | None = None,
              lam_b: float | None = None) -> None:
    """One BGD epoch in place: Θ ← Θ − (α/|b|) Σ_b ∇ℓ_ui per batch of a fresh permutation (slides' BGD,
    notes/derivations.md §6.5).

    ``rng`` is a ``numpy.random.Generator``, the same one every epoch (``None``: ``default_rng(0)``).
    With the biases ``b``, ``c`` (updated in place too) it is the biased BGD of §11.4.
    """
    step = renamed_step(step, "bgd_epoch", alpha=alpha)
    data = check_data(data)
    P, Q = check_in_place(P, Q, data)
    lam = check_lam(lam)
    step = check_step(step)
    B = check_batch_size(batch_size, len(data))
    reg_mode = check_reg_mode(reg_mode)
    rng = check_rng(rng)
    b, c, mu, lam_b, biased = biases_in_place(b, c, data, mu, lam, lam_b)
    coef_user, coef_item = sample_penalty_coefficients(data, lam, reg_mode)
    coefb_user, coefb_item = sample_penalty_coefficients(data, lam_b, reg_mode)
    bgd_epoch_kernel(P, Q, b, c, mu, *shuffled(data, rng), coef_user, coef_item, coefb_user, coefb_item, step,
                     min(B, len(data)), np.zeros_like(P), np.zeros_like(Q), np.zeros_like(b), np.zeros_like(c), biased)


def per_sample_gradients(P, Q, data: Ratings, lam: float, reg_mode: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """(∇_{p_u}ℓ_ui, ∇_{q_i}ℓ_ui) for every (u, i) ∈ Ω in data order, each |Ω|×K (notes/derivations.md §6.1); for
    teaching.

    Their mean over Ω, added up per row, is ∇F ("mean") or ∇G ("weighted"),
    up to unseen rows, which are never sampled (notes/derivations.md §6.3).
    """
    data = check_data(data)
    P, Q = check_factors(P, Q, data)
    lam = check_lam(lam)
    coef_user, coef_item = sample_penalty_coefficients(data, lam, check_reg_mode(reg_mode))
    e = residuals(P, Q, data)[:, None]
    p, q = P[data.users], Q[data.items]
    grad_p = -2.0 * e * q + 2.0 * coef_user[data.users, None] * p
    grad_q = -2.0 * e * p + 2.0 * coef_item[data.items, None] * q
    return grad_p, grad_q


class BGD:
    """Mini-batch GD inside :class:`mfcore.MF`: B = ``batch_size``, a float step or a schedule ``epoch -> α``."""

    name = "bgd"
    step_rules: tuple = ()
    schedules = True
    in_place = True
    default_max_iter = 100
    default_tol = 0.0                          # noisy objective: the tolerance rule is off (notes/derivations.md §7)
    options = ("batch_size",)

    @staticmethod
    def default_step(options) -> float:
        """min(0.005·B, 2): a batch step moves like B SGD steps of 0.005 (notes/derivations.md §6.5), capped for
        large B."""
        return min(0.005 * options.get("batch_size", 256), 2.0)

    @staticmethod
    def check_options(batch_size=256, **_):
        check_batch_size(batch_size)

    def __init__(self, data: Ratings, lam: float, reg_mode: str, step, rng, batch_size=256, biased=False, lam_b=0.0,
                 mu=0.0, **_):
        self.data, self.rng, self.B = data, rng, min(int(batch_size), len(data))
        self.biased, self.mu = biased, mu
        self.schedule = step if callable(step) else (lambda epoch, a=float(step): a)
        self.coef_user, self.coef_item = sample_penalty_coefficients(data, lam, reg_mode)
        self.coefb_user, self.coefb_item = sample_penalty_coefficients(data, lam_b, reg_mode)

    def iterate(self, P, Q, b, c, it, F_prev):
        """One shuffled mini-batch epoch in place (biases §11.4); returns (P, Q, b, c, α)."""
        alpha = float(self.schedule(it - 1))
        bgd_epoch_kernel(P, Q, b, c, self.mu, *shuffled(self.data, self.rng), self.coef_user, self.coef_item,
                         self.coefb_user, self.coefb_item, alpha, self.B, np.zeros_like(P), np.zeros_like(Q),
                         np.zeros_like(b), np.zeros_like(c), self.biased)
        return P, Q, b, c, alpha
