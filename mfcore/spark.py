"""Apache Spark MLlib's ALS beside mfcore's: the same iterations, ready for a cluster (notes/derivations.md §13).

    pip install "mfcore[spark]"      # pyspark; Spark also needs a Java runtime (Debian: openjdk-17-jre-headless)

    from mfcore import spark as mfspark
    sp = mfspark.SparkALS(K=10, lam=0.05, max_iter=10).fit(train, valid=test)        # Spark's own start
    mf = mfcore.MF(K=10, lam=0.05, reg_mode="weighted", max_iter=10, tol=0).fit(train, valid=test, init=sp.init_)
    sp.history_, mf.history_         # the same columns, both computed with mfcore's objective

**The mapping.**  Spark's ALS solves, for every user, (YᵀY + regParam·n_u·I) x = Yᵀr over the user's n_u
ratings (and alike for items): the ridge of ALS-WR, mfcore's ``reg_mode="weighted"`` with ``lam = regParam``
(:func:`reg_param`).  Eq. (1) puts the same ridge λ|Ω| on every row; Spark would need regParam = λ|Ω|/n_u, one
value per row, and takes one number, so ``reg_mode="mean"`` is refused with that reason.

**The start.**  Spark's ALS takes no starting factors: ``ALS.train`` draws them inside from ``seed`` (unit
vectors, one per row that has ratings), and the pieces that could take others are private to its Scala object,
out of reach of Python without compiled JVM code.  Its start is still visible: with ``maxIter=0`` Spark returns
its initial factors.  So the common start of a parity check is Spark's, handed to mfcore through
``MF.fit(init=sp.init_)``; ALS reads only P⁽⁰⁾, and both libraries run the item step first.

**The history.**  Spark returns only the final factors, so :class:`SparkALS` refits from the same seed with
``maxIter = 0, 1, …, max_iter`` (the same deterministic path; O(max_iter²) iterations in all, or only the
iterations asked for) and evaluates each iterate with mfcore's objective, like :class:`mfcore.MF`'s history.

**Quiet.**  :func:`session` starts Spark with its console progress bars off and the Java process's output
(logs, start-up warnings) sent to a log file, so nothing reaches stderr; pyspark's warnings about pandas are
filtered.  ``import mfcore`` never imports pyspark: the functions here import it when they need it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterable

import numpy as np

from ._validate import check_data, check_K, check_lam, check_reg_mode, check_scalar
from .data import Ratings
from .estimator import _History

__all__ = ["reg_param", "session", "java_available", "unavailable", "to_spark", "from_spark", "factors", "SparkALS",
           "INSTALL_HINT"]

INSTALL_HINT = ('pip install "mfcore[spark]" (in a clone of the repository: pip install -e ".[spark]", '
                "or make test-spark)")
JAVA_HINT = ("Spark needs a Java runtime, 17 or newer: on Debian/Ubuntu apt-get install openjdk-17-jre-headless, "
             "elsewhere install one and put java on PATH or set JAVA_HOME")


def reg_param(lam: float, reg_mode: str = "weighted") -> float:
    """Spark's ``regParam`` for mfcore's λ: equal to λ for ``reg_mode="weighted"`` (ALS-WR, notes/derivations.md
    §13); ``"mean"`` (eq. 1) raises, because no single regParam gives every row the ridge λ|Ω|."""
    lam = check_lam(lam)
    if check_reg_mode(reg_mode) == "mean":
        raise ValueError(
            "Spark's ALS cannot fit reg_mode='mean' (eq. 1): it solves (YᵀY + regParam·n_u·I) x = Yᵀr, a ridge that "
            "grows with each row's number of ratings n_u (ALS-WR), while eq. (1) gives every row the same ridge "
            "λ|Ω|. That would need regParam = λ|Ω|/n_u, a different value for every row, and Spark takes one "
            "number. Use reg_mode='weighted' (then regParam = lam), or fit eq. (1) with mfcore.MF "
            "(notes/derivations.md §13).")
    return lam


# ---------------------------------------------------------------------------------------------- the session
def _pyspark():
    """Import pyspark (and its ML package) quietly, or say which extra to install."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)      # "PySpark does not yet fully support pandas >= 3"
            import pyspark
            import pyspark.ml.recommendation  # noqa: F401
            import pyspark.sql  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"mfcore.spark needs pyspark, which the optional extra installs: {INSTALL_HINT}. "
                          f"({exc})") from exc
    return pyspark


def java_available() -> bool:
    """True when a ``java`` executable is on PATH or under ``$JAVA_HOME/bin`` (Spark runs in a Java process)."""
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and os.access(os.path.join(home, "bin", "java"), os.X_OK)))


def unavailable() -> str | None:
    """Why Spark cannot run here (pyspark missing, or no Java runtime), or None when it can; imports nothing."""
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        return f"pyspark is not installed: {INSTALL_HINT}"
    if not java_available():
        return JAVA_HINT
    return None


def _temp_dir(prefix: str) -> str:
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def session(master: str | None = None, *, app_name: str = "mfcore", checkpoint_dir: str | None = None,
            log_file: str | None = None, config: dict | None = None):
    """A quiet SparkSession: a new one on ``master``, or the one already running (e.g. under ``spark-submit``).

    ``master``: ``"local[2]"`` (two threads here), ``"spark://host:7077"`` (a standalone cluster), ``"yarn"``,
    ``"k8s://https://host:443"``; default ``$MFCORE_SPARK_MASTER``, else ``"local[*]"`` (every core of this
    machine).  ``checkpoint_dir``: where ALS cuts its lineage every ``checkpointInterval`` iterations (without it
    long fits overflow the stack); default a temporary folder for a local master; a cluster needs a folder
    every node reaches (HDFS, S3).  ``log_file``: where the Java process writes its logs and warnings (default a
    file in the temporary folder, named by ``spark.conf.get("spark.mfcore.logFile")``).  ``config``: more Spark
    settings, e.g. ``{"spark.driver.memory": "4g"}``; they override the quiet defaults.
    """
    _pyspark()
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    if SparkContext._active_spark_context is None:
        if not java_available():
            raise RuntimeError(f"{JAVA_HINT}.")
        master = master or os.environ.get("MFCORE_SPARK_MASTER", "local[*]")
        log_file = log_file or os.path.join(tempfile.gettempdir(), f"mfcore-spark-{os.getpid()}.log")
        settings = {"spark.ui.showConsoleProgress": "false",          # no progress bars on stderr
                    "spark.ui.enabled": "false" if master.startswith("local") else "true",
                    "spark.mfcore.logFile": log_file, **(config or {})}
        conf = SparkConf().setMaster(master).setAppName(app_name).setAll(list(settings.items()))
        _start(conf, log_file)
    spark = SparkSession.builder.getOrCreate()
    sc = spark.sparkContext
    if master is not None and master != sc.master:
        raise ValueError(f"a Spark session is already running on {sc.master!r}; stop it (spark.stop()) before "
                         f"starting one on {master!r}, or call session() without a master to use it.")
    sc.setLogLevel("WARN")
    if checkpoint_dir is not None:
        sc.setCheckpointDir(checkpoint_dir)
    elif sc.getCheckpointDir() is None and sc.master.startswith("local"):
        sc.setCheckpointDir(_temp_dir("mfcore-spark-checkpoints-"))
    return spark


def _start(conf, log_file: str) -> None:
    """Start the Java process with its stdout and stderr in ``log_file`` (pyspark's own launcher, one option)."""
    from pyspark import SparkContext
    from pyspark.java_gateway import launch_gateway

    with open(log_file, "ab") as log:                     # the child keeps its own copy of the descriptor
        gateway = launch_gateway(conf, popen_kwargs={"stdout": log, "stderr": log})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        SparkContext(conf=conf, gateway=gateway)


# ---------------------------------------------------------------------------------------------- data and factors
def to_spark(data: Ratings, spark=None):
    """Ratings → a Spark DataFrame with columns ``user`` and ``item`` (int, mfcore's indices) and ``rating``
    (double; Spark's ALS reads it as float32).  The rows travel from this process: fine on one machine; on a
    cluster read the ratings where they live (``spark.read.parquet(...)``) instead."""
    data = check_data(data)
    spark = spark or session()
    rows = list(zip(data.users.tolist(), data.items.tolist(), data.ratings.tolist()))
    slices = max(1, min(spark.sparkContext.defaultParallelism, len(rows)))
    return spark.createDataFrame(spark.sparkContext.parallelize(rows, slices), "user int, item int, rating double")


def from_spark(df, n_users: int | None = None, n_items: int | None = None, *, user_col: str = "user",
               item_col: str = "item", rating_col: str = "rating") -> Ratings:
    """A Spark DataFrame of (user index, item index, rating) → Ratings (collected to this process, validated)."""
    missing = [c for c in (user_col, item_col, rating_col) if c not in df.columns]
    if missing:
        raise ValueError(f"the DataFrame has no column {missing[0]!r} (columns: {', '.join(df.columns)}); "
                         "name them with user_col=, item_col=, rating_col=.")
    rows = df.select(user_col, item_col, rating_col).collect()
    if not rows:
        raise ValueError("the DataFrame has no rows: there are no ratings to convert.")
    users, items, ratings = (np.array(col) for col in zip(*rows))
    return Ratings(users, items, ratings.astype(np.float64), n_users, n_items)


def factors(model, n_users: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """(P, Q) of a fitted ``pyspark.ml.recommendation.ALSModel`` as float64 arrays of shapes (n_users, K) and
    (n_items, K); users and items without a Spark row (no training rating) get 0, as in mfcore's ALS."""
    return (_factor_matrix(model.userFactors, n_users, model.rank, "user"),
            _factor_matrix(model.itemFactors, n_items, model.rank, "item"))


def _factor_matrix(frame, n_rows: int, K: int, what: str) -> np.ndarray:
    rows = frame.select("id", "features").collect()
    F = np.zeros((n_rows, K))
    if rows:
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if ids.min() < 0 or ids.max() >= n_rows:
            raise ValueError(f"Spark has a {what} id {ids.max() if ids.max() >= n_rows else ids.min()} outside "
                             f"[0, {n_rows}): fit on the Ratings' indices (to_spark) and pass their n_{what}s.")
        F[ids] = np.array([r[1] for r in rows], dtype=np.float32)       # Spark's float32, widened exactly
    return F


# ---------------------------------------------------------------------------------------------- the estimator
class SparkALS:
    """Spark MLlib's ALS (explicit ratings, Cholesky solves) in mfcore's terms: factors and history as :class:`MF`'s.

    Parameters
    ----------
    K : int
        Rank (Spark's ``rank``).
    lam : float
        λ of ``reg_mode="weighted"``, which is Spark's ``regParam`` (notes/derivations.md §13).
    reg_mode : "weighted"
        ``"mean"`` raises: no regParam reproduces eq. (1).
    max_iter : int
        Iterations (Spark's ``maxIter``); each is an item step, then a user step, as in Algorithm 1.
    seed : int
        Spark's seed, which fixes Spark's own start.
    num_blocks : int, optional
        Spark's ``numUserBlocks`` = ``numItemBlocks`` (the partitions of each factor); default the session's
        default parallelism (one per core).
    checkpoint_interval : int
        Cut the lineage every so many iterations (Spark's default 10; needs the session's checkpoint folder).
    history : bool or iterable of int
        True: one row per iteration 0..max_iter (a Spark fit per row, see the module's docstring); False: the
        start and the end; or the iterations to record.

    Attributes (after fit)
    ----------------------
    P_, Q_ : float64 factors (rows without a training rating are 0).  init_ : (P⁽⁰⁾, Q⁽⁰⁾), Spark's start.
    history_ : DataFrame like ``MF.history_`` (``objective`` = eq. 1, ``target`` = the weighted objective,
    ``train_rmse``, ``valid_rmse``), whose ``seconds`` is the wall time of the Spark fit that produced the row
    (set-up, iterations and collecting the factors).  reg_param_ : Spark's regParam.  model_ : the last
    ``ALSModel`` (for Spark's own ``transform`` and ``recommendForAllUsers``).
    """

    def __init__(self, K: int = 10, lam: float = 0.05, reg_mode: str = "weighted", max_iter: int = 10, seed: int = 0,
                 num_blocks: int | None = None, checkpoint_interval: int = 10, history: bool | Iterable[int] = True):
        self.K, self.lam, self.reg_mode, self.max_iter, self.seed = K, lam, reg_mode, max_iter, seed
        self.num_blocks, self.checkpoint_interval, self.history = num_blocks, checkpoint_interval, history

    def __repr__(self) -> str:
        return (f"SparkALS(K={self.K!r}, lam={self.lam!r}, reg_mode={self.reg_mode!r}, max_iter={self.max_iter!r}, "
                f"seed={self.seed!r}, num_blocks={self.num_blocks!r}, "
                f"checkpoint_interval={self.checkpoint_interval!r}, history={self.history!r})")

    def _iterations(self, max_iter: int) -> list[int]:
        if self.history is True:
            return list(range(max_iter + 1))
        if self.history is False:
            return sorted({0, max_iter})
        its = sorted({check_scalar(k, "history iteration", integer=True, low=0) for k in self.history} | {0})
        if its[-1] > max_iter:
            raise ValueError(f"history asks for iteration {its[-1]} but max_iter={max_iter}.")
        return its

    def fit(self, train: Ratings, valid: Ratings | None = None, *, spark=None) -> "SparkALS":
        """Fit Spark's ALS on ``train`` from Spark's own start (``seed``); with ``valid``, record its RMSE."""
        K = check_K(self.K)
        regp = reg_param(self.lam, self.reg_mode)                 # refuses "mean" with the reason
        max_iter = check_scalar(self.max_iter, "max_iter", integer=True, low=0)
        seed = check_scalar(self.seed, "seed", integer=True)
        interval = check_scalar(self.checkpoint_interval, "checkpoint_interval", integer=True, low=1)
        iterations = self._iterations(max_iter)
        train = check_data(train, "train")
        if valid is not None and check_data(valid, "valid").shape != train.shape:
            raise ValueError(f"valid has shape {valid.shape} but train has {train.shape}: split both from the same "
                             "Ratings (e.g. mfcore.train_test_split) so indices agree.")
        spark = spark or session()
        blocks = self.num_blocks or spark.sparkContext.defaultParallelism
        blocks = check_scalar(blocks, "num_blocks", integer=True, low=1)

        from pyspark.ml.recommendation import ALS

        ratings = to_spark(train, spark).cache()
        history = _History(train, valid, self.lam, "weighted")
        b, c = np.zeros(train.n_users), np.zeros(train.n_items)     # Spark's ALS has no biases
        try:
            for k in iterations:
                start = time.perf_counter()
                model = ALS(rank=K, maxIter=k, regParam=regp, seed=seed, numUserBlocks=blocks, numItemBlocks=blocks,
                            checkpointInterval=interval, userCol="user", itemCol="item", ratingCol="rating",
                            nonnegative=False, implicitPrefs=False).fit(ratings)
                P, Q = factors(model, train.n_users, train.n_items)
                history.record(k, P, Q, b, c, np.nan)["seconds"] = time.perf_counter() - start
                if k == 0:
                    self.init_ = (P, Q)
        finally:
            ratings.unpersist()
        self.P_, self.Q_, self.model_ = P, Q, model
        self.history_ = history.frame()
        self.n_iter_, self.reg_param_, self.num_blocks_ = max_iter, regp, blocks
        return self
