"""The command line: help, the data summary, one-line errors with exit status 2, silence on stderr."""

import os
import subprocess
import sys

import pytest

import mfcore
from mfcore.cli import main


def run(*args, env=None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "mfcore", *args], capture_output=True, text=True,
                          env=full_env, timeout=300)


def test_help_via_python_m():
    out = run("--help")
    assert out.returncode == 0 and "data" in out.stdout and out.stderr == ""


def test_data_summary_of_the_synthetic_default(capsys):
    assert main(["data", "--data", "synthetic"]) == 0
    out = capsys.readouterr()
    d = mfcore.synthetic_ratings()
    assert "943" in out.out and "1,682" in out.out and "100,000" in out.out
    assert f"{d.density:.4%}" in out.out
    for star in range(1, 6):
        count = int((d.ratings == star).sum())
        assert f"{count:,}" in out.out, f"the histogram must show the count of {star}-star ratings"
    assert "rank K0 = 5" in out.out
    assert out.err == ""


def test_summary_of_a_csv_file(tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_text("user,item,rating\nalice,matrix,5\nbob,matrix,3\nalice,heat,4\n")
    assert main(["data", "--data", str(path)]) == 0
    out = capsys.readouterr().out
    assert "users        2" in out and "items        2" in out and "ratings      3" in out


@pytest.mark.parametrize("content, words", [
    ("user,item,rating\n1,2,5\n1,2,4\n", "duplicated"),
    ("user,item,rating\n1,2,five\n", "non-number"),
    ("user,item\n1,2\n", "at least three"),
    ("", "not a readable CSV"),
])
def test_bad_csv_is_one_line_and_exit_2(tmp_path, content, words):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    out = run("data", "--data", str(path))
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert words in out.stderr


def test_missing_file_is_one_line_and_exit_2():
    out = run("data", "--data", "no/such/file.csv")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "no data set or file" in out.stderr


def test_nothing_on_stderr_under_grading():
    out = run("data", "--data", "synthetic", env={"NBGRADER_EXECUTION": "autograde"})
    assert out.returncode == 0 and out.stderr == "", "nbgrader scores any stderr output as 0"


def test_progress_is_quiet_when_graded_or_tested(monkeypatch, capfd):
    from mfcore.progress import progress, quiet
    assert quiet(), "under pytest progress bars must be off"
    for _ in progress(range(3), desc="work"):
        pass
    assert capfd.readouterr().err == ""
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("MFCORE_QUIET", raising=False)
    assert not quiet()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert quiet()
    monkeypatch.delenv("NBGRADER_EXECUTION")
    monkeypatch.setenv("MFCORE_QUIET", "1")
    assert quiet()
