"""mfcore: matrix factorization for explicit ratings, the reference library of the course.

The model is r̂_ui = p_uᵀq_i, fitted by minimising the regularised mean squared
error of the slides' eq. (1), or with biases μ + b_u + c_i + p_uᵀq_i (notes/derivations.md §11).
Every submodule is reachable under its own name; the functions the lectures and homework use are
also here, flat (``mfcore.objective(...)``).
Where each idea lives (imports only run downward in this table):

=========================  ==========================================================
``data.py``                :class:`Ratings`, the observed set Ω (notes/notation.md)
``synthetic.py``           :func:`synthetic_ratings`, the embedded default data
``movielens.py``           :func:`load_movielens` (download, checksum, cache)
``datasets.py``            :func:`load_data`: a data set by name or path (the CLI's ``--data``)
``split.py``               anchored :func:`train_test_split` and :func:`kfold` (§9.2)
``_validate.py``           argument checks, run once at the public boundary
``_kernels.py``            every numba kernel (the loops of Algorithms 1, 3, 5); ``compile_all``
``objectives.py``          :func:`predict`, :func:`objective` (eq. 1), :func:`rmse`, penalty weights
``gradients.py``           :func:`gradient` (sparse), :func:`gradient_dense` (eq. 2), checks
``initialization.py``      :func:`init_factors`, the shared initial point (§8.1)
``als.py``                 Algorithm 1: :func:`als_item_step`, :func:`als_user_step`
``gd.py``                  full GD (eq. 3): :func:`gd_step`, :func:`armijo_step`
``als_gd.py``              Algorithms 3/4: :func:`block_gd_step`, :func:`als_gd_iteration`
``sampling.py``            the shuffle and per-sample penalties shared by SGD and BGD (§6.3)
``sgd.py``                 Algorithm 5: :func:`sgd_update`, :func:`sgd_epoch`
``bgd.py``                 mini-batch GD: :func:`bgd_epoch`
``ranking.py``             top-N lists and ranking metrics (precision@k, NDCG@k, ...; §11.5–11.6)
``estimator.py``           :class:`MF`, the estimator every solver runs through (§7); biases (§11), recommend
``selection/``             Algorithm 6 and §10: grid, random and Bayesian search, :class:`SearchResult`
``spark.py``               Spark MLlib's ALS beside mfcore's (§13); imports pyspark only when used
``cli.py``                 the ``mfcore`` command line
=========================  ==========================================================
"""

__version__ = "0.1.0"

from .als import als_item_step, als_iteration, als_user_step
from .als_gd import als_gd_iteration, block_gd_step
from .bgd import bgd_epoch
from .data import Compressed, Ratings, Truth
from .datasets import load_data, read_ratings_csv
from .errors import (ChecksumError, DataUnavailableError, DivergenceError, NotFittedError, ObjectiveIncreaseWarning,
                     RatingsError)
from .estimator import MF
from .gd import armijo_step, gd_step, lipschitz_bound
from .gradients import build_M, check_gradient, gradient, gradient_dense
from .initialization import init_factors
from .movielens import load_movielens
from .objectives import mse, objective, penalty, penalty_weights, predict, residuals, rmse, stack, unstack
from .ranking import (catalogue_coverage, evaluate_ranking, hit_at_k, ndcg_at_k, popularity_scores, precision_at_k,
                      ranking_report, recall_at_k, top_n)
from .selection import (SearchResult, bayes_search, compare_searches, grid_search, lambda_grid, lambda_max,
                        random_search)
from .sgd import sgd_epoch, sgd_update
from .split import anchors, kfold, train_test_split
from . import spark as spark  # the submodule, re-exported; it imports pyspark only inside its functions
from .synthetic import synthetic_ratings

__all__ = [
    "Ratings", "Compressed", "Truth", "load_data", "read_ratings_csv",
    "ChecksumError", "DataUnavailableError", "DivergenceError", "NotFittedError", "ObjectiveIncreaseWarning",
    "RatingsError",
    "gradient", "gradient_dense", "build_M", "check_gradient", "penalty_weights",
    "load_movielens", "predict", "residuals", "rmse", "mse", "penalty", "objective", "stack", "unstack",
    "anchors", "kfold", "train_test_split", "synthetic_ratings", "init_factors",
    "MF", "als_item_step", "als_user_step", "als_iteration", "gd_step", "armijo_step", "lipschitz_bound",
    "block_gd_step", "als_gd_iteration", "sgd_update", "sgd_epoch", "bgd_epoch",
    "grid_search", "lambda_grid", "lambda_max", "SearchResult", "random_search", "bayes_search", "compare_searches",
    "top_n", "precision_at_k", "recall_at_k", "ndcg_at_k", "hit_at_k", "catalogue_coverage", "popularity_scores",
    "evaluate_ranking", "ranking_report",
]
