"""The ratings container: validation with actionable messages, compressed views, round trips."""

import numpy as np
import pandas as pd
import pytest

import mfcore
from mfcore import Ratings, RatingsError


def test_basic_container():
    d = Ratings([0, 0, 2], [1, 0, 1], [5.0, 3.0, 4.0], n_users=4, n_items=3)
    assert len(d) == 3 and d.shape == (4, 3)
    assert d.density == pytest.approx(3 / 12)
    assert d.mean == pytest.approx(4.0)
    assert d.user_counts.tolist() == [2, 0, 1, 0], "|I_u| must count each user's ratings, unseen users 0"
    assert d.item_counts.tolist() == [1, 2, 0]
    assert d.users.dtype == np.int64 and d.ratings.dtype == np.float64


def test_compressed_views_list_I_u_and_U_i():
    rng = np.random.default_rng(3)
    mask = rng.random((30, 20)) < 0.3
    u, i = np.nonzero(mask)
    perm = rng.permutation(len(u))
    d = Ratings(u[perm], i[perm], rng.random(len(u)), 30, 20)
    for view, rows, cols, n in ((d.by_user, d.users, d.items, 30), (d.by_item, d.items, d.users, 20)):
        assert view.indptr[0] == 0 and view.indptr[-1] == len(d)
        for r in range(n):
            seg = slice(view.indptr[r], view.indptr[r + 1])
            assert sorted(view.index[seg]) == sorted(cols[rows == r]), f"row {r} lists the wrong partners"
            np.testing.assert_array_equal(view.values[seg], d.ratings[view.order[seg]])
            assert np.all(rows[view.order[seg]] == r)


def test_frame_round_trip_keeps_raw_ids():
    df = pd.DataFrame({"userId": [10, 10, 7, 99], "movieId": ["b", "a", "a", "c"], "rating": [1, 2, 3, 4.5]})
    d = Ratings.from_frame(df, user="userId", item="movieId")
    assert d.shape == (3, 3)
    back = d.to_frame(raw_ids=True)
    got = set(zip(back.user, back.item, back.rating))
    assert got == set(zip(df.userId, df.movieId, df.rating.astype(float)))
    assert list(d.to_frame().columns) == ["user", "item", "rating"]


def test_subset_keeps_sizes_ids_and_truth():
    d = mfcore.synthetic_ratings(n_users=50, n_items=40, n_ratings=600, seed=1)
    s = d.subset([0, 5, 7])
    assert s.shape == d.shape and len(s) == 3 and s.truth is d.truth
    assert s.users.tolist() == d.users[[0, 5, 7]].tolist()


@pytest.mark.parametrize("kwargs, words", [
    (dict(users=[0, 1], items=[0], ratings=[1.0, 2.0]), ["same length", "items=1"]),
    (dict(users=[], items=[], ratings=[]), ["no ratings"]),
    (dict(users=[0, 1, 1], items=[0, 1, 1], ratings=[1.0, 2.0, 3.0]), ["duplicated", "rows 1, 2", "drop_duplicates"]),
    (dict(users=[0, 1, 2], items=[0, 1, 0], ratings=[1.0, np.nan, 3.0]), ["finite", "row 1", "dropna"]),
    (dict(users=[0, 1], items=[0, 1], ratings=[np.inf, 2.0]), ["finite", "row 0"]),
    (dict(users=[0, -1], items=[0, 1], ratings=[1.0, 2.0]), ["users", ">= 0", "row 1"]),
    (dict(users=[0, 5], items=[0, 1], ratings=[1.0, 2.0], n_users=3), ["n_users=3", "row 1", "at least 6"]),
    (dict(users=[0, 1], items=[0, 9], ratings=[1.0, 2.0], n_items=2), ["n_items=2", "row 1"]),
    (dict(users=[0.5, 1], items=[0, 1], ratings=[1.0, 2.0]), ["whole numbers", "row 0"]),
    (dict(users=["a", "b"], items=[0, 1], ratings=[1.0, 2.0]), ["integer indices", "from_frame"]),
])
def test_invalid_input_names_rows_and_fix(kwargs, words):
    with pytest.raises(RatingsError) as info:
        Ratings(**kwargs)
    assert isinstance(info.value, ValueError), "RatingsError must be a ValueError subclass"
    for w in words:
        assert w in str(info.value), f"message {str(info.value)!r} should mention {w!r}"


def test_arrays_are_read_only():
    d = Ratings([0, 1], [1, 0], [1.0, 2.0])
    with pytest.raises(ValueError):
        d.ratings[0] = 5.0


def test_to_dense_small_and_refuses_large():
    d = Ratings([0, 1], [1, 0], [1.0, 2.0])
    np.testing.assert_array_equal(d.to_dense(), [[0, 1], [2, 0]])
    big = Ratings([0, 9999], [0, 9999], [1.0, 1.0])
    with pytest.raises(ValueError, match="by_user"):
        big.to_dense()


class TestSynthetic:
    def test_default_is_ml100k_shaped(self):
        d = mfcore.synthetic_ratings()
        assert d.shape == (943, 1682) and len(d) == 100_000
        assert set(np.unique(d.ratings)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
        assert d.user_counts.min() >= 20, "every user rates at least 20 items, as in ml-100k"
        uc = np.sort(d.user_counts)[::-1]
        assert uc[0] > 5 * np.median(uc), "user activity should be skewed (a few heavy raters)"
        ic = np.sort(d.item_counts)[::-1]
        top = ic[: len(ic) // 10].sum() / ic.sum()
        assert top > 0.3, f"the 10% most popular items should hold a large share of ratings (got {top:.2f})"
        assert 3.0 < d.mean < 4.0

    def test_truth_and_determinism(self):
        a = mfcore.synthetic_ratings(n_users=100, n_items=80, n_ratings=3000, rank=3, seed=7)
        b = mfcore.synthetic_ratings(n_users=100, n_items=80, n_ratings=3000, rank=3, seed=7)
        c = mfcore.synthetic_ratings(n_users=100, n_items=80, n_ratings=3000, rank=3, seed=8)
        np.testing.assert_array_equal(a.ratings, b.ratings)
        np.testing.assert_array_equal(a.truth.P, b.truth.P)
        assert not np.array_equal(a.items, c.items), "another seed must give other data"
        assert a.truth.rank == 3 and a.truth.P.shape == (100, 3) and a.truth.Q.shape == (80, 3)
        floor = mfcore.rmse(a.truth.P, a.truth.Q, a)
        assert floor == pytest.approx(a.truth.noise_rmse, rel=1e-12)
        assert 0.5 < floor < 0.7, "noise 0.5 plus rounding to stars gives an RMSE floor of about 0.6"

    def test_continuous_ratings_have_the_noise_level(self):
        d = mfcore.synthetic_ratings(n_users=200, n_items=300, n_ratings=20_000, noise=0.3, stars=False, seed=2)
        assert d.truth.noise_rmse == pytest.approx(0.3, rel=0.05)

    @pytest.mark.parametrize("kwargs", [dict(rank=0), dict(n_ratings=10), dict(noise=-1.0),
                                        dict(n_users=10, n_items=10, n_ratings=90, min_per_user=1)])
    def test_bad_arguments(self, kwargs):
        with pytest.raises(ValueError):
            mfcore.synthetic_ratings(**kwargs)
