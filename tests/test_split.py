"""The anchored split and k-fold of notes/derivations.md §9.2 (oracle C1)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mfcore
from problems import random_problem


def pairs(d):
    return set(zip(d.users.tolist(), d.items.tolist()))


def check_split(data, fit, val, share):
    assert pairs(fit).isdisjoint(pairs(val)), "a rating is in both the fitting and the held-out part"
    assert pairs(fit) | pairs(val) == pairs(data), "the split lost or invented ratings"
    assert len(fit) + len(val) == len(data)
    for who, counts_all, counts_fit in (("user", data.user_counts, fit.user_counts),
                                        ("item", data.item_counts, fit.item_counts)):
        lost = np.flatnonzero((counts_all > 0) & (counts_fit == 0))
        assert lost.size == 0, f"{who}s {lost[:5]} have ratings but none left for fitting (anchors broken)"
    assert fit.shape == data.shape and val.shape == data.shape, "splits keep n and m"


def test_train_test_split_oracle_C1():
    data = mfcore.synthetic_ratings(n_users=200, n_items=150, n_ratings=6000, seed=4)
    train, test = mfcore.train_test_split(data, test_size=0.2, seed=11)
    check_split(data, train, test, 0.2)
    assert len(test) == round(0.2 * len(data)), "the held-out share is exactly ρ when feasible"
    again = mfcore.train_test_split(data, test_size=0.2, seed=11)
    assert pairs(again[1]) == pairs(test), "the split must be deterministic for a seed"
    other = mfcore.train_test_split(data, test_size=0.2, seed=12)
    assert pairs(other[1]) != pairs(test)
    # ratings are carried along with their pairs
    lookup = dict(zip(zip(data.users.tolist(), data.items.tolist()), data.ratings.tolist()))
    assert all(lookup[(u, i)] == r for u, i, r in zip(test.users, test.items, test.ratings))


def test_single_rating_users_are_never_held_out():
    users = [0, 1, 1, 1, 2, 2, 2, 2]
    items = [0, 0, 1, 2, 0, 1, 2, 3]
    d = mfcore.Ratings(users, items, np.ones(8))
    for seed in range(20):
        train, test = mfcore.train_test_split(d, test_size=0.3, seed=seed)
        assert 0 not in test.users and 3 not in test.items


def test_split_caps_at_the_non_anchors():
    d = mfcore.Ratings([0, 1, 2, 2], [0, 1, 2, 0], np.ones(4))
    train, test = mfcore.train_test_split(d, test_size=0.9, seed=0)
    assert len(test) == 1, "only one rating is not an anchor here"


def test_split_reports_impossible_requests():
    d = mfcore.Ratings([0, 1], [0, 1], [1.0, 2.0])
    with pytest.raises(ValueError, match="anchors"):
        mfcore.train_test_split(d)
    with pytest.raises(ValueError, match="between 0 and 1"):
        mfcore.train_test_split(d, test_size=1.5)
    with pytest.raises(TypeError, match="Ratings"):
        mfcore.train_test_split([1, 2, 3])


def test_kfold_partitions_the_non_anchors():
    data = mfcore.synthetic_ratings(n_users=120, n_items=100, n_ratings=4000, seed=5)
    folds = mfcore.kfold(data, k=5, seed=3)
    assert len(folds) == 5
    anchor_rows, free = mfcore.anchors(data, seed=3)
    anchor_pairs = pairs(data.subset(anchor_rows))
    held = [pairs(v) for _, v in folds]
    for fit, val in folds:
        check_split(data, fit, val, None)
        assert anchor_pairs <= pairs(fit), "anchors must always stay in the fitting part"
    union = set().union(*held)
    assert union == pairs(data.subset(free)), "the k folds must cover every non-anchor"
    assert sum(len(h) for h in held) == len(union), "the folds must not overlap"
    sizes = [len(h) for h in held]
    assert max(sizes) - min(sizes) <= 1
    with pytest.raises(ValueError, match="k must be"):
        mfcore.kfold(data, k=1)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 12), m=st.integers(2, 12), density=st.floats(0.1, 1.0),
       share=st.floats(0.05, 0.6), seed=st.integers(0, 10_000))
def test_split_properties_on_random_problems(n, m, density, share, seed):
    data, _, _ = random_problem(n, m, 2, density, seed=seed)
    _, free = mfcore.anchors(data, seed)
    expected = min(round(share * len(data)), len(free))
    if expected == 0:
        with pytest.raises(ValueError):
            mfcore.train_test_split(data, share, seed)
        return
    fit, val = mfcore.train_test_split(data, share, seed)
    check_split(data, fit, val, share)
    assert len(val) == expected
