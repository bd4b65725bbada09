"""Model selection over (K, λ) (notes/derivations.md §9–10): grid, random and Bayesian search, one result type.

============  =====================================================================  ===========
file          what lives there                                                       notes
============  =====================================================================  ===========
``grid.py``   Algorithm 6: :func:`grid_search`, the λ scale :func:`lambda_max`,      §8.2, §9
              :func:`lambda_grid`
``random.py`` :func:`random_search`: K uniform, log10 λ uniform                       §10
``bayes.py``  :func:`bayes_search`: optuna's TPE with pruning                        §10
``trials.py`` the shared trial runner: folds, one fit per (K, λ, fold), joblib        §9.2–9.3
``best.py``   the argmin with its tie rule, and the one boundary rule                 §9.5
``result.py`` :class:`SearchResult` (``SearchResult.from_table``): table, best,       §9.5–9.6
              heatmaps, refit
``compare.py`` :func:`compare_searches`: best RMSE so far against trials and seconds  §10
============  =====================================================================  ===========
"""

from .bayes import bayes_search
from .best import boundary_flags, select_best
from .compare import compare_searches
from .grid import grid_search, lambda_grid, lambda_max
from .random import random_search
from .result import SearchResult
from .trials import make_folds, run_trials

__all__ = ["grid_search", "random_search", "bayes_search", "compare_searches", "lambda_grid", "lambda_max",
           "SearchResult", "select_best", "boundary_flags", "make_folds", "run_trials"]
