"""Top-N lists and ranking metrics (notes/derivations.md §11.5–11.6), on cases small enough to compute by hand."""

import numpy as np
import pandas as pd
import pytest

import mfcore
from mfcore import MF
from mfcore.ranking import (catalogue_coverage, cosine_similarities, evaluate_ranking, hit_at_k, ndcg_at_k,
                            popularity_scores, precision_at_k, ranking_report, recall_at_k, top_n)


# ------------------------------------------------------------------ one user's list, by hand
def test_metrics_of_one_list_by_hand():
    recommended, relevant = [7, 3, 9, 1, 4], {3, 4, 8}
    # hits at ranks 2 and 5 among the first 5; at rank 2 among the first 3
    assert precision_at_k(recommended, relevant, 5) == pytest.approx(2 / 5)
    assert precision_at_k(recommended, relevant, 3) == pytest.approx(1 / 3)
    assert recall_at_k(recommended, relevant, 5) == pytest.approx(2 / 3)
    assert hit_at_k(recommended, relevant, 1) == 0.0 and hit_at_k(recommended, relevant, 2) == 1.0
    dcg = 1 / np.log2(3) + 1 / np.log2(6)                    # ranks 2 and 5
    idcg = 1 / np.log2(2) + 1 / np.log2(3) + 1 / np.log2(4)  # three relevant items could fill ranks 1-3
    assert ndcg_at_k(recommended, relevant, 5) == pytest.approx(dcg / idcg, rel=1e-14)


def test_ndcg_is_one_for_an_ideal_list_and_zero_without_hits():
    assert ndcg_at_k([4, 2, 9], {2, 4}, 3) == pytest.approx(1.0)
    assert ndcg_at_k([1, 2, 3], {7}, 3) == 0.0
    assert ndcg_at_k([1, 2, 3], set(), 3) == 0.0 and recall_at_k([1, 2, 3], set(), 3) == 0.0


def test_a_short_list_still_divides_precision_by_k():
    assert precision_at_k([5], {5}, 10) == pytest.approx(0.1)


def test_coverage_counts_distinct_items_shown():
    assert catalogue_coverage([[1, 2, 3], [2, 3, 4], [3, 5]], 10) == pytest.approx(0.5)


def test_top_n_is_best_first_with_ties_to_the_smaller_index_and_respects_exclusions():
    scores = np.array([0.5, 0.9, 0.9, np.nan, 0.1, 0.7])
    assert top_n(scores, 3).tolist() == [1, 2, 5]
    exclude = np.array([False, True, False, False, False, False])
    assert top_n(scores, 10, exclude).tolist() == [2, 5, 0, 4, 3], "NaN ranks last; excluded never appears"


def test_cosine_similarity_of_factors():
    Q = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [0.0, 0.0], [-1.0, 1.0]])
    np.testing.assert_allclose(cosine_similarities(Q, 0), [1.0, 1.0, 0.0, 0.0, -np.sqrt(0.5)], atol=1e-15)


# ------------------------------------------------------------------ the protocol on a tiny case
@pytest.fixture
def tiny():
    """3 users, 5 items.  Training: who rated what; test: the held-out ratings (relevant = 4 stars or more)."""
    train = mfcore.Ratings([0, 0, 1, 1, 2, 2, 2], [0, 1, 0, 2, 0, 1, 3], [5, 3, 4, 2, 5, 4, 3.0], 3, 5)
    test = mfcore.Ratings([0, 0, 1, 2], [2, 3, 1, 4], [4, 2, 5, 5.0], 3, 5)
    return train, test


def test_popularity_is_the_training_count(tiny):
    train, _ = tiny
    assert popularity_scores(train).tolist() == [3, 2, 1, 1, 0]


def test_evaluate_ranking_by_hand(tiny):
    train, test = tiny
    # popularity, k=1: user 0 may get items 2, 3 (not 0, 1: rated; not 4: no training rating) -> 2 (tie, smaller
    # index): relevant {2}: hit.  User 1: candidates 1, 3 -> 1: relevant {1}: hit.  User 2: candidates 2 -> 2;
    # relevant {4} (item 4 has no training rating, so it can never be recommended): miss.
    out, per_user = evaluate_ranking(popularity_scores(train), train, test, k=1, per_user=True)
    assert per_user["user"].tolist() == [0, 1, 2]
    assert per_user["precision"].tolist() == [1.0, 1.0, 0.0]
    assert out["precision@1"] == pytest.approx(2 / 3) and out["hit_rate@1"] == pytest.approx(2 / 3)
    assert out["recall@1"] == pytest.approx(2 / 3) and out["ndcg@1"] == pytest.approx(2 / 3)
    assert out["coverage@1"] == pytest.approx(2 / 4), "items 1 and 2 shown, out of the 4 with a training rating"
    assert out["users"] == 3


def test_evaluate_ranking_takes_a_score_function_or_matrix(tiny):
    train, test = tiny
    S = np.arange(15, dtype=float).reshape(3, 5)            # everyone prefers the highest item index
    a = evaluate_ranking(S, train, test, k=2)
    b = evaluate_ranking(lambda users: S[users], train, test, k=2)
    assert a == b
    with pytest.raises(ValueError, match="shape"):
        evaluate_ranking(lambda users: S[users, :4], train, test, k=2)
    with pytest.raises(ValueError, match="relevant"):
        evaluate_ranking(S, train, test, k=2, threshold=6)


def test_ranking_report_ranks_a_model_by_its_predictions():
    data = mfcore.synthetic_ratings(n_users=200, n_items=150, n_ratings=6000, rank=3, seed=5)
    train, test = mfcore.train_test_split(data, 0.2, seed=0)
    model = MF(K=3, lam=1e-3, biased=True, max_iter=100).fit(train)
    random = np.random.default_rng(0).random((train.n_users, train.n_items))
    report = ranking_report({"mf": model, "popularity": popularity_scores(train), "random": random}, train, test, k=10)
    assert list(report.index) == ["mf", "popularity", "random"]
    assert {"precision@10", "recall@10", "ndcg@10", "hit_rate@10", "coverage@10"} <= set(report.columns)
    assert report.loc["mf", "ndcg@10"] > 2 * report.loc["random", "ndcg@10"], "far better than chance"
    # (popularity is no straw man under this protocol: popular items are more often in any test set, §11.6)
    assert report.loc["mf", "coverage@10"] > report.loc["popularity", "coverage@10"], (
        "popularity shows everyone the same few items")


# ------------------------------------------------------------------ recommend and similar items by raw ids
@pytest.fixture(scope="module")
def named():
    """Ratings with raw text ids: two taste groups (action, romance) and one new user."""
    rows = []
    rng = np.random.default_rng(0)
    action, romance = [f"a{j}" for j in range(6)], [f"r{j}" for j in range(6)]
    for u in range(40):
        likes, dislikes = (action, romance) if u % 2 == 0 else (romance, action)
        for item in rng.choice(likes, 4, replace=False):
            rows.append((f"user{u}", item, 5.0))
        for item in rng.choice(dislikes, 2, replace=False):
            rows.append((f"user{u}", item, 1.0))
    frame = pd.DataFrame(rows, columns=["user", "item", "rating"])
    data = mfcore.Ratings.from_frame(frame)
    return data, MF(K=2, lam=1e-3, biased=True, max_iter=100, seed=0).fit(data)


def test_from_frame_keeps_the_raw_ids(named):
    data, _ = named
    frame = data.to_frame(raw_ids=True)
    assert set(frame["item"]) == {f"a{j}" for j in range(6)} | {f"r{j}" for j in range(6)}
    assert data.user_ids[data.users[0]] == frame["user"].iloc[0]


def test_recommend_returns_unseen_raw_ids_of_the_users_taste(named):
    data, model = named
    rec = model.recommend("user0", n=2)                    # user0 rated 4 of the 6 action films: 2 are left
    assert list(rec.columns) == ["item", "score"] and len(rec) == 2
    seen = set(data.to_frame(raw_ids=True).query("user == 'user0'")["item"])
    assert not seen & set(rec["item"]), "exclude_seen=True never recommends a rated item"
    assert rec["item"].str.startswith("a").all(), f"user0 likes action films, got {rec['item'].tolist()}"
    assert rec["score"].is_monotonic_decreasing
    both = model.recommend("user0", n=12, exclude_seen=False)
    assert seen <= set(both["item"])


def test_predict_by_raw_ids_equals_predict_by_indices(named):
    data, model = named
    u, i = data.user_ids[data.users[:5]], data.item_ids[data.items[:5]]
    np.testing.assert_array_equal(model.predict(u, i, raw_ids=True), model.predict(data.users[:5], data.items[:5]))
    with pytest.raises(ValueError, match="raw_ids=True"):
        model.predict(np.array(["user0"]), np.array(["a0"]))


def test_unknown_users_fall_back_to_the_item_biases(named):
    data, model = named
    r = model.predict(np.array(["newcomer"]), np.array(["a0"]), raw_ids=True)
    assert r[0] == pytest.approx(model.mu_ + model.c_[data.item_ids.tolist().index("a0")])
    rec = model.recommend("newcomer", n=12)
    order = np.argsort(-model.c_, kind="stable")
    assert rec["item"].tolist() == data.item_ids[order].tolist(), "a new user gets the items by μ + c_i"


def test_the_plain_model_cannot_recommend_to_a_stranger(named):
    data, _ = named
    plain = MF(K=2, lam=1e-3, max_iter=20).fit(data)
    with pytest.raises(ValueError, match="biased=True"):
        plain.recommend("newcomer")


def test_similar_items_are_the_same_genre(named):
    _, model = named
    sim = model.similar_items("r0", n=5)
    assert list(sim.columns) == ["item", "similarity"] and "r0" not in set(sim["item"])
    assert sim["item"].str.startswith("r").all(), sim
    with pytest.raises(ValueError, match="no training ratings"):
        model.similar_items("zz")
