"""mfcore: matrix factorization for explicit ratings, the reference library of the course.

The model is r̂_ui = p_uᵀq_i, fitted by minimising the regularised mean squared
error of the slides' eq. (1).  Where each idea lives:

============================  ==========================================================
``data.py``                   :class:`Ratings`, the observed set Ω (MATH §0)
``synthetic.py``              :func:`synthetic_ratings`, the embedded default data
``movielens.py``              :func:`load_movielens` (download, checksum, cache)
``split.py``                  anchored :func:`train_test_split` and :func:`kfold` (§9.2)
``objective.py``              :func:`predict`, :func:`objective` (eq. 1), :func:`rmse`
``gradient.py``               :func:`gradient` (sparse), :func:`gradient_dense` (eq. 2), checks
============================  ==========================================================
"""

__version__ = "0.1.0"

from .data import Compressed, Ratings, Truth
from .datasets import load_data, read_ratings_csv
from .errors import (ChecksumError, DataUnavailableError, DivergenceError, ObjectiveIncreaseWarning,
                     RatingsError)
from .gradient import build_M, check_gradient, gradient, gradient_dense, penalty_weights
from .movielens import load_movielens
from .objective import mse, objective, penalty, predict, residuals, rmse, stack, unstack
from .split import anchors, kfold, train_test_split
from .synthetic import synthetic_ratings

__all__ = [
    "Ratings", "Compressed", "Truth", "load_data", "read_ratings_csv",
    "ChecksumError", "DataUnavailableError", "DivergenceError", "ObjectiveIncreaseWarning", "RatingsError",
    "gradient", "gradient_dense", "build_M", "check_gradient", "penalty_weights",
    "load_movielens", "predict", "residuals", "rmse", "mse", "penalty", "objective", "stack", "unstack",
    "anchors", "kfold", "train_test_split", "synthetic_ratings",
]
