"""From predicted ratings to recommendations: top-N lists and the ranking metrics (notes/derivations.md §11.5–11.6).

A recommender shows each user a short list, so what matters is the *order* of the items it has not rated yet,
not the rating it predicts.  The protocol of §11.6: for every user with at least one relevant test item
(relevant = a test rating ≥ ``threshold``, 4 stars by default), rank the items with a training rating that
the user has not rated in training, keep the top ``k`` and compare them with the relevant ones.

=========================  ================================================================
function                   what it computes
=========================  ================================================================
:func:`top_n`              indices of the n largest scores, best first (ties: smaller index)
:func:`user_scores`        r̂_ui for one user and every item (μ + c_i for an unknown user)
:func:`cosine_similarities`  cos(q_i, q_j) for every item j (similar items)
:func:`precision_at_k`     hits in the top k / k
:func:`recall_at_k`        hits in the top k / |relevant|
:func:`ndcg_at_k`          DCG of the top k / DCG of an ideal list (binary relevance)
:func:`hit_at_k`           1 if the top k holds a relevant item (averaged: the hit rate)
:func:`catalogue_coverage`  share of the catalogue that appears in some top-k list
:func:`popularity_scores`  the popularity baseline: each item's number of training ratings
:func:`evaluate_ranking`   the protocol above for one recommender: the mean metrics over users
:func:`ranking_report`     several recommenders side by side, one row each
=========================  ================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._validate import check_data, check_scalar
from .data import Ratings

__all__ = ["top_n", "user_scores", "cosine_similarities", "precision_at_k", "recall_at_k", "ndcg_at_k", "hit_at_k",
           "catalogue_coverage", "popularity_scores", "evaluate_ranking", "ranking_report", "METRICS"]

#: The columns of :func:`evaluate_ranking` (``@k`` is replaced by the k used).
METRICS = ("precision", "recall", "ndcg", "hit_rate", "coverage")


# ---------------------------------------------------------------------------------------------- top-N lists
def top_n(scores, n: int, exclude=None) -> np.ndarray:
    """Indices of the ``n`` largest ``scores``, best first; ``exclude`` (a boolean mask) is never returned.

    Ties go to the smaller index (a stable sort), so the list is deterministic; NaN scores rank last.
    Fewer than ``n`` indices come back when fewer are allowed.
    """
    scores = np.asarray(scores, dtype=float)
    candidates = np.arange(len(scores)) if exclude is None else np.flatnonzero(~np.asarray(exclude, dtype=bool))
    s = np.nan_to_num(scores[candidates], nan=-np.inf)
    order = np.argsort(-s, kind="stable")[:n]
    return candidates[order]


def user_scores(P, Q, b, c, mu: float, u: int) -> np.ndarray:
    """r̂_ui = μ + b_u + c_i + p_uᵀq_i for every item i (notes/derivations.md §11.5); ``u < 0`` (an unknown user):
    μ + c_i, the model's non-personalised ranking."""
    if u < 0:
        return mu + np.asarray(c, dtype=float)
    return (mu + b[u]) + c + Q @ P[u]


def cosine_similarities(Q, i: int) -> np.ndarray:
    """cos(q_i, q_j) = q_iᵀq_j / (‖q_i‖‖q_j‖) for every item j (0 for a zero q_j)."""
    Q = np.asarray(Q, dtype=float)
    norms = np.linalg.norm(Q, axis=1)
    out = np.zeros(len(Q))
    ok = norms > 0
    if norms[i] > 0:
        out[ok] = (Q[ok] @ Q[i]) / (norms[ok] * norms[i])
    return out


# ---------------------------------------------------------------------------------------------- one user's list
def _hits(recommended, relevant, k: int) -> np.ndarray:
    """1.0 at the ranks (of the first k) that hold a relevant item, else 0.0."""
    k = check_scalar(k, "k", integer=True, low=1)
    relevant = set(np.asarray(list(relevant)).tolist())
    top = np.asarray(list(recommended))[:k].tolist()
    return np.array([1.0 if x in relevant else 0.0 for x in top])


def precision_at_k(recommended, relevant, k: int = 10) -> float:
    """(number of relevant items among the first k recommended) / k (notes/derivations.md §11.6).

    A list shorter than k still divides by k: empty places count as misses.
    """
    return float(_hits(recommended, relevant, k).sum() / k)


def recall_at_k(recommended, relevant, k: int = 10) -> float:
    """(number of relevant items among the first k recommended) / |relevant|; 0 when nothing is relevant."""
    n_relevant = len(set(np.asarray(list(relevant)).tolist()))
    return float(_hits(recommended, relevant, k).sum() / n_relevant) if n_relevant else 0.0


def ndcg_at_k(recommended, relevant, k: int = 10) -> float:
    """DCG@k / IDCG@k with binary relevance (notes/derivations.md §11.6).

    DCG@k = Σ_{j=1..k} rel_j / log2(j + 1) over the ranks j of the list; IDCG@k is the DCG of an ideal list
    (all relevant items first): Σ_{j=1..min(k, |relevant|)} 1 / log2(j + 1).  0 when nothing is relevant.
    """
    hits = _hits(recommended, relevant, k)
    n_relevant = len(set(np.asarray(list(relevant)).tolist()))
    if n_relevant == 0:
        return 0.0
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float(np.sum(hits * discounts[:len(hits)]))
    idcg = float(np.sum(discounts[:min(k, n_relevant)]))
    return dcg / idcg


def hit_at_k(recommended, relevant, k: int = 10) -> float:
    """1.0 if at least one of the first k recommended items is relevant, else 0.0 (its mean is the hit rate)."""
    return float(_hits(recommended, relevant, k).any())


def catalogue_coverage(recommended_lists, n_items: int) -> float:
    """|⋃_u top-k(u)| / n_items: the share of the catalogue that some user is shown."""
    n_items = check_scalar(n_items, "n_items", integer=True, low=1)
    shown = set()
    for items in recommended_lists:
        shown.update(np.asarray(list(items)).tolist())
    return len(shown) / n_items


# ---------------------------------------------------------------------------------------------- the protocol
def popularity_scores(train: Ratings) -> np.ndarray:
    """The popularity baseline: every item's number of training ratings |U_i| (the same list for everyone)."""
    return check_data(train, "train").item_counts.astype(float)


def _relevant_by_user(test: Ratings, threshold: float) -> dict[int, np.ndarray]:
    keep = test.ratings >= threshold
    users, items = test.users[keep], test.items[keep]
    order = np.argsort(users, kind="stable")
    users, items = users[order], items[order]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]]) if len(users) else np.array([], dtype=int)
    return {int(users[s]): items[s:e] for s, e in zip(starts, np.r_[starts[1:], len(users)])}


def evaluate_ranking(scores, train: Ratings, test: Ratings, k: int = 10, threshold: float = 4.0,
                     per_user: bool = False):
    """Mean precision@k, recall@k, NDCG@k, hit rate@k over users, and the catalogue coverage (notes/derivations.md
    §11.6).

    ``scores`` ranks the items: a callable ``users -> array (len(users), m)`` (e.g. a fitted model's predicted
    ratings, see :func:`ranking_report`), an (n, m) array, or one (m,) array for a non-personalised recommender
    such as :func:`popularity_scores`.  Users: those with at least one test rating ≥ ``threshold``.  Candidates:
    the items with a training rating that the user did not rate in training.  Returns a dict (and, with
    ``per_user=True``, also a DataFrame with one row per user).
    """
    train, test = check_data(train, "train"), check_data(test, "test")
    if train.shape != test.shape:
        raise ValueError(f"train has shape {train.shape} and test {test.shape}: split both from the same Ratings.")
    k = check_scalar(k, "k", integer=True, low=1)
    relevant = _relevant_by_user(test, threshold)
    users = np.array(sorted(relevant), dtype=np.int64)
    if len(users) == 0:
        raise ValueError(f"no test rating is >= threshold={threshold:g}: nothing is relevant, so nothing can be "
                         "measured. Lower the threshold or use a larger test set.")
    catalogue = train.item_counts > 0
    view = train.by_user
    rows, lists = [], []
    for start in range(0, len(users), 256):                   # users in chunks: bounded memory
        chunk = users[start:start + 256]
        S = _score_rows(scores, chunk, train.n_items)
        for u, s in zip(chunk, S):
            exclude = ~catalogue
            exclude[view.index[view.indptr[u]:view.indptr[u + 1]]] = True
            top = top_n(s, k, exclude)
            rel = relevant[int(u)]
            lists.append(top)
            rows.append({"user": int(u), "n_relevant": len(rel), "precision": precision_at_k(top, rel, k),
                         "recall": recall_at_k(top, rel, k), "ndcg": ndcg_at_k(top, rel, k),
                         "hit_rate": hit_at_k(top, rel, k)})
    table = pd.DataFrame(rows)
    out = {f"{m}@{k}": float(table[m].mean()) for m in ("precision", "recall", "ndcg", "hit_rate")}
    out[f"coverage@{k}"] = catalogue_coverage(lists, int(catalogue.sum()))
    out["users"] = len(users)
    return (out, table) if per_user else out


def _score_rows(scores, users, n_items) -> np.ndarray:
    if callable(scores):
        S = np.asarray(scores(users), dtype=float)
    else:
        S = np.asarray(scores, dtype=float)
        S = np.broadcast_to(S, (len(users), n_items)) if S.ndim == 1 else S[users]
    if S.shape != (len(users), n_items):
        raise ValueError(f"the scores of {len(users)} users must have shape ({len(users)}, {n_items}), "
                         f"got {S.shape}.")
    return S


def ranking_report(recommenders: dict, train: Ratings, test: Ratings, k: int = 10,
                   threshold: float = 4.0) -> pd.DataFrame:
    """One row per recommender of :func:`evaluate_ranking`'s metrics.

    ``recommenders`` maps a name to scores as :func:`evaluate_ranking` takes them, or to a fitted
    :class:`mfcore.MF` (ranked by its predicted ratings).
    """
    rows = {}
    for name, rec in recommenders.items():
        if hasattr(rec, "P_") and hasattr(rec, "Q_"):
            rec = _model_scores(rec)
        rows[name] = evaluate_ranking(rec, train, test, k, threshold)
    report = pd.DataFrame(rows).T
    report["users"] = report["users"].astype(int)
    return report


def _model_scores(model):
    """users -> r̂ for every item, from a fitted MF (μ + b_u + c_i + p_uᵀq_i; the plain model has μ = b = c = 0)."""
    def scores(users):
        return (model.mu_ + model.b_[users])[:, None] + model.c_[None, :] + model.P_[users] @ model.Q_.T
    return scores
