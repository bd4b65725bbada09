"""The course in JupyterLab as a new student and their instructor meet it, in a real browser (headless Chromium from
Debian's packages, driven by selenium as in tests/test_site.py).

On a temporary copy of the course (never the real grading/ folder): `make course`'s set-up (python -m
course.release --exchange) creates the gradebook and the local exchange, then JupyterLab starts on a free port with
its own config, data and runtime folders, and the browser goes through what the README tells a student and an
instructor to do:

* Nbgrader → Assignment List shows hw1-hw4 (no "Error fetching courses", no "exchange directory does not exist");
  the Create Assignment panel is a tab of the right sidebar;
* Fetch hw1 puts it in my-homework/hw1/; the student's notebook (one exercise written wrongly, the rest untouched)
  opens from the list; *Run → Run All Cells* runs to the last cell, which lists every exercise with its
  status; *Validate* in the notebook's toolbar shows each failing check's teaching message (expected, got, likely
  mistake), no traceback frames; *Submit* puts it on the exchange;
* Nbgrader → Formgrader lists hw1-hw4 as released; *Collect* brings the submission in, and hw1's submissions list
  shows the student.

* `make course` again has nothing to do and touches nothing; a changed homework alone is released again.

Each step's time is printed (pytest -s shows them); with LAB_TEST_SCREENSHOTS=<folder> a step that times out leaves a
screenshot there.  JupyterLab is shut down at the end.  Where no browser can be installed the browser tests skip and
say why (`make browser` installs chromium as root); the set-up tests run everywhere.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
import browser as browser_for_tests
from problems import ROOT

from course import layout

HOMEWORKS = layout.homeworks(ROOT)
#: what a student writes for hw1's rmse when they forget the square root (the check's message names the mistake)
WRONG_RMSE = """def rmse(P, Q, data):
    e = data.ratings - np.sum(P[data.users] * Q[data.items], axis=1)
    return np.mean(e ** 2)
"""
TIMINGS: dict[str, float] = {}


def _state(root: Path) -> dict:
    """The repository's own grading state and fetched homework (path -> size, mtime): the tests must not touch them."""
    out = {}
    for folder in (root / layout.GRADING, root / layout.STUDENT_WORK):
        for p in sorted(folder.rglob("*")) if folder.is_dir() else []:
            st = p.stat()
            out[str(p)] = (st.st_size, st.st_mtime_ns)
    return out


STATE_BEFORE = _state(ROOT)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_course(dest: Path) -> Path:
    """What a fresh clone holds of the course: config, tooling, sources, student versions, my-homework's config."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    for folder in ("course", layout.SOURCE, layout.RELEASE):
        shutil.copytree(ROOT / folder, dest / folder,
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    (dest / layout.STUDENT_WORK).mkdir()
    shutil.copy2(ROOT / layout.STUDENT_WORK / "nbgrader_config.py", dest / layout.STUDENT_WORK / "nbgrader_config.py")
    return dest


def _get(url: str, token: str, timeout: float = 10) -> tuple[int, str]:
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _env(base: Path) -> dict:
    """No nbgrader state from outside, and Jupyter's config, data and runtime folders of this test only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBGRADER_") and k != "MFCORE_JUDGE"}
    folders = {name: base / name for name in ("config", "data", "runtime")}
    for folder in folders.values():
        folder.mkdir(exist_ok=True)
    env.update(JUPYTER_CONFIG_DIR=str(folders["config"]), JUPYTER_DATA_DIR=str(folders["data"]),
               JUPYTER_RUNTIME_DIR=str(folders["runtime"]),
               PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""))
    return env


def _set_up(course: Path, env: dict) -> subprocess.CompletedProcess:
    """What `make course` runs."""
    return subprocess.run([sys.executable, "-m", "course.release", "--exchange"], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def course_with_exchange(tmp_path_factory):
    """A fresh clone's course after `make course`: gradebook, exchange with hw1-hw4 released.  (folder, env)"""
    base = tmp_path_factory.mktemp("lab")
    course = copy_course(base / "course")
    env = _env(base)
    start = time.monotonic()
    setup = _set_up(course, env)
    TIMINGS["set-up (make course: gradebook, exchange, release hw1-hw4)"] = time.monotonic() - start
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert [line.split(":")[0] for line in setup.stdout.splitlines()[:len(HOMEWORKS)]] == HOMEWORKS, setup.stdout
    assert all("released in" in line for line in setup.stdout.splitlines()[:len(HOMEWORKS)]), setup.stdout
    assert "WARNING" not in setup.stdout, setup.stdout
    for hw in HOMEWORKS:
        assert (course / layout.EXCHANGE / layout.COURSE_ID / "outbound" / hw / f"{hw}.ipynb").is_file(), setup.stdout
    assert (course / layout.GRADEBOOK).is_file() and (course / layout.STUDENT_WORK).is_dir()
    yield course, env
    print("\n" + "\n".join(f"  {what}: {seconds:.1f} s" for what, seconds in TIMINGS.items()))


@pytest.fixture(scope="module")
def lab(course_with_exchange):
    """JupyterLab serving the course: (base url, token, course folder)."""
    browser_for_tests.skip_unless_available()
    course, env = course_with_exchange
    base = course.parent
    # JupyterLab's news pop-up would sit on top of the page's buttons; autosave would write the student's notebook
    # behind the test's back (the test saves when the student would)
    settings = Path(env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings" / "@jupyterlab"
    for plugin, values in (("apputils-extension/notification", {"fetchNews": "false"}),
                           ("docmanager-extension/plugin", {"autosave": False})):
        (settings / plugin).parent.mkdir(parents=True, exist_ok=True)
        (settings / f"{plugin}.jupyterlab-settings").write_text(json.dumps(values))

    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(base / "jupyterlab.log", "w")
    start = time.monotonic()
    server = subprocess.Popen(cmd, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited ({server.returncode}):\n"
                            f"{(base / 'jupyterlab.log').read_text()[-3000:]}")
            try:
                if _get(f"{url}/api/status", token, timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() - start > 120:
                pytest.fail(f"JupyterLab did not answer in 120 s:\n{(base / 'jupyterlab.log').read_text()[-3000:]}")
            time.sleep(0.3)
        TIMINGS["jupyter lab start (until its API answers)"] = time.monotonic() - start
        yield url, token, course
    finally:
        try:                                                    # shuts down the kernels, then the server
            urllib.request.urlopen(urllib.request.Request(f"{url}/api/shutdown", method="POST", data=b"",
                                                          headers={"Authorization": f"token {token}"}), timeout=10)
        except OSError:
            pass
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        log.close()


@pytest.fixture(scope="module")
def browser(lab, tmp_path_factory):
    driver = browser_for_tests.start(tmp_path_factory.mktemp("chromium-profile"), width=1400)
    yield driver
    driver.quit()


# ------------------------------------------------------------------------------------------------ helpers
def _wait(driver, condition, timeout: float = 60, what: str = ""):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(condition)
    except TimeoutException:
        body = driver.execute_script("return document.body ? document.body.innerText : ''")
        if os.environ.get("LAB_TEST_SCREENSHOTS"):
            driver.save_screenshot(os.path.join(os.environ["LAB_TEST_SCREENSHOTS"], f"timeout-{time.time():.0f}.png"))
        raise AssertionError(f"timed out after {timeout} s waiting for {what}; the page says:\n"
                             f"{body[-3000:]}") from None


def _css(driver, selector: str):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def _menu(driver, top: str, item: str) -> None:
    """Click JupyterLab's menu bar entry ``top``, then its item ``item`` (as a student does)."""
    bar = _wait(driver, lambda d: [e for e in _css(d, ".lm-MenuBar-item") if e.text == top], 30, f"menu {top!r}")
    bar[0].click()
    entry = _wait(driver, lambda d: [e for e in _css(d, ".lm-Menu-item") if e.text == item], 10,
                  f"menu item {top} → {item}")
    entry[0].click()


def _severe(driver) -> list[str]:
    """Console errors since the last call (a 500 from nbgrader's handlers, a failed request, a script error)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _panel(driver) -> str:
    return ".jp-NotebookPanel:not(.lm-mod-hidden) "


def _text(element) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", element.get_attribute("innerText") or "")


# ------------------------------------------------------------------------------------------------ the student
def test_the_assignment_list_shows_the_homework(lab, browser):
    url, token, course = lab
    start = time.monotonic()
    browser.get(f"{url}/lab?token={token}")
    _wait(browser, lambda d: _css(d, ".lm-MenuBar-item"), 90, "JupyterLab's menu bar")
    TIMINGS["JupyterLab page loaded in the browser"] = time.monotonic() - start
    # where the README sends instructors to mark cells: the Create Assignment panel of the right sidebar
    tab = _css(browser, ".jp-SideBar.jp-mod-right li.lm-TabBar-tab[data-id='nbgrader-create_assignemnt']")
    assert tab and "Create Assignment" in tab[0].text, "no Create Assignment tab in the right sidebar"
    start = time.monotonic()
    _menu(browser, "Nbgrader", "Assignment List")
    rows = _wait(browser, lambda d: _css(d, "#released_assignments_list > .list_item")
                 or [e for e in _css(d, "#released_assignments_list_error, .list_error") if e.is_displayed()],
                 60, "the released assignments")
    text = _text(_css(browser, "#assignments")[0])
    TIMINGS["Assignment List shows hw1-hw4"] = time.monotonic() - start
    assert "Error" not in text and "exchange directory does not exist" not in text, text
    names = [_text(r).split("\n")[0].strip() for r in rows]
    assert names == HOMEWORKS, f"the Assignment List shows {names}, not the course's homework {HOMEWORKS}:\n{text}"
    assert all("Fetch" in _text(r) for r in rows), text
    assert "mfcore" in _text(_css(browser, "#course_list_default")[0])
    assert not _severe(browser), _severe(browser)


def test_fetch_run_all_validate_submit(lab, browser):
    url, token, course = lab
    # Fetch
    start = time.monotonic()
    row = next(r for r in _css(browser, "#released_assignments_list > .list_item") if _text(r).startswith("hw1"))
    next(b for b in row.find_elements("tag name", "button") if b.text == "Fetch").click()
    _wait(browser, lambda d: _css(d, "#fetched_assignments_list > .list_item"), 60, "hw1 among the downloaded")
    TIMINGS["Fetch hw1"] = time.monotonic() - start
    fetched = course / layout.STUDENT_WORK / "hw1" / "hw1.ipynb"
    assert fetched.is_file(), f"Fetch did not put hw1 in {layout.STUDENT_WORK}/hw1/"
    assert json.loads(fetched.read_text())["cells"] == json.loads((course / layout.RELEASE / "hw1" / "hw1.ipynb")
                                                                    .read_text())["cells"]
    # the student writes one exercise, wrongly (the file, as the editor would save it)
    nb = nbformat.read(str(fetched), as_version=4)
    cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "rmse")
    cell.source = WRONG_RMSE
    nbformat.write(nb, str(fetched))

    # the notebook opens from the Assignment List; Validate is offered there too
    _css(browser, "#fetched_assignments_list a.assignment-notebooks-link")[0].click()
    links = _wait(browser, lambda d: [a for a in _css(d, "#nbgrader-mfcore-hw1 .nested_list_item a")
                                      if a.is_displayed()], 20, "hw1's notebook in the downloaded assignment")
    nested = _text(_css(browser, "#nbgrader-mfcore-hw1")[0])
    assert "Validate" in nested, nested
    start = time.monotonic()
    links[0].click()
    panel = _panel(browser)
    _wait(browser, lambda d: _css(d, panel + ".validate-button"), 60, "the notebook with its Validate button")
    _wait(browser, lambda d: _css(d, ".jp-Notebook-ExecutionIndicator[data-status='idle']"), 90, "an idle kernel")
    TIMINGS["open hw1 (kernel ready)"] = time.monotonic() - start

    # Run → Run All Cells (the kernel is fresh; restarting it within a second of its start trips a race in
    # JupyterLab's websocket, nothing of ours): runs to the end, the last cell lists every exercise
    start = time.monotonic()
    _menu(browser, "Run", "Run All Cells")

    saved = {"at": 0.0}

    def saved_notebook(d):
        """The notebook as the browser holds it: saved (toolbar button, at most every 2 s) and read back."""
        if time.monotonic() - saved["at"] > 2:
            saved["at"] = time.monotonic()
            _css(d, panel + "[data-command='docmanager:save']")[0].click()
        try:
            return nbformat.read(str(fetched), as_version=4)
        except Exception:                                   # noqa: BLE001  (caught while being written)
            return None

    def last_output(d) -> str:
        ran = saved_notebook(d)
        return "".join(o.get("text", "") for o in ran.cells[-1].get("outputs", [])) if ran else ""

    _wait(browser, lambda d: "exercises pass" in last_output(d), 120, "the summary in the last cell")
    TIMINGS["Run All Cells (to the last cell)"] = time.monotonic() - start
    summary = re.sub(r"\x1b\[[0-9;]*m", "", last_output(browser))
    from mfcore.checks import exercises

    for name in exercises("hw1"):
        short = name.split(".", 1)[1]
        line = next((x for x in summary.splitlines() if re.search(rf"\s{re.escape(short)}\s", x)), None)
        assert line is not None, f"{name} is missing from the summary:\n{summary}"
        assert ("FAILED" if short == "rmse" else "not implemented yet") in line, summary
    assert summary.startswith(f"hw1: 0 of {len(exercises('hw1'))} exercises pass"), summary
    # every cell ran, none stopped with an error, each test cell says its exercise's status
    ran = saved_notebook(browser)
    code = [c for c in ran.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "Run All did not reach every cell"
    bad = [(c.get("id"), o.get("ename") or o.get("text", "")[:200]) for c in code for o in c.outputs
           if o.output_type == "error" or o.get("name") == "stderr"]
    assert not bad, bad
    said = {c.metadata["nbgrader"]["grade_id"]: "".join(o.get("text", "") for o in c.outputs)
            for c in code if c.metadata.get("nbgrader", {}).get("grade")}
    assert "likely mistake: you forgot the square root" in said["test_rmse"], said["test_rmse"]
    for gid, text in said.items():
        name = "hw1." + gid.split("_", 1)[1]
        assert f"✗ {name}: FAILED" in text, (gid, text)
        if not gid.endswith("rmse"):
            assert "is not implemented yet" in text, (gid, text)
    tried = "".join(o.get("text", "") for c in code if "try_it(objective" in c.source for o in c.outputs)
    assert "objective is not implemented yet" in tried, tried

    # Validate (toolbar): every failing check's teaching message, no frames
    start = time.monotonic()
    _css(browser, panel + ".validate-button")[0].click()
    dialog = _wait(browser, lambda d: _css(d, ".jp-Dialog #validation-message"), 180, "the validation results")[0]
    TIMINGS["Validate (toolbar)"] = time.monotonic() - start
    message = _text(dialog)
    assert "hw1.rmse: FAILED" in message and "expected:" in message and "got:" in message, message[:3000]
    assert "likely mistake: you forgot the square root" in message, message[:3000]
    assert "hw1.objective: FAILED" in message and "not implemented yet" in message, message[:3000]
    assert "Traceback" not in message and "mfcore/checks" not in message, message[:3000]
    failed_cells = message.count("The following cell failed")
    n_tests = sum(1 for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")
                  and c.cell_type == "code")
    assert failed_cells == n_tests, f"{failed_cells} failed cells reported, the notebook has {n_tests} test cells"
    _css(browser, ".jp-Dialog .jp-mod-accept, .jp-Dialog button")[-1].click()
    _wait(browser, lambda d: not _css(d, ".jp-Dialog"), 20, "the dialog to close")

    # Submit (Assignment List)
    browser.find_element("css selector", "li.lm-TabBar-tab[data-id='nbgrader-assignment-list']").click()
    start = time.monotonic()
    row = _wait(browser, lambda d: [r for r in _css(d, "#fetched_assignments_list > .list_item") if r.is_displayed()],
                20, "the downloaded hw1")[0]
    next(b for b in row.find_elements("tag name", "button") if b.text == "Submit").click()
    submitted = _wait(browser, lambda d: _css(d, "#submitted_assignments_list > .list_item"), 60, "hw1 submitted")
    TIMINGS["Submit hw1"] = time.monotonic() - start
    assert _text(submitted[0]).startswith("hw1"), _text(submitted[0])
    inbound = list((course / layout.EXCHANGE / layout.COURSE_ID / "inbound").glob(f"{getpass.getuser()}+hw1+*"))
    assert len(inbound) == 1, inbound
    sent = nbformat.read(str(inbound[0] / "hw1.ipynb"), as_version=4)
    assert any(c.source == WRONG_RMSE.rstrip("\n") or c.source == WRONG_RMSE for c in sent.cells)
    assert not _severe(browser), _severe(browser)


# ------------------------------------------------------------------------------------------------ the instructor
def test_the_formgrader_lists_the_homework_and_the_submission(lab, browser):
    url, token, course = lab
    start = time.monotonic()
    _menu(browser, "Nbgrader", "Formgrader")
    frame = _wait(browser, lambda d: [f for f in _css(d, "iframe") if "formgrader" in (f.get_attribute("src") or "")],
                  30, "the formgrader panel")[0]
    browser.switch_to.frame(frame)
    try:
        rows = _wait(browser, lambda d: _css(d, "#main-table tr td.name"), 60, "the formgrader's assignments")
        TIMINGS["Formgrader lists hw1-hw4"] = time.monotonic() - start
        page = _text(browser.find_element("tag name", "body"))
        assert "Loading, please wait" not in page, page
        assert [_text(r).strip() for r in rows] == HOMEWORKS, page
        table = {r.find_element("css selector", "td.name").text: r for r in _css(browser, "#main-table tr")}
        assert all(table[hw].find_element("css selector", "td.status").text == "released" for hw in HOMEWORKS), page
        # Collect hw1 from the exchange: one submission
        start = time.monotonic()
        table["hw1"].find_element("css selector", "td.collect a").click()
        modal = _wait(browser, lambda d: [m for m in _css(d, "#success-modal, #error-modal") if m.is_displayed()],
                      60, "the collect result")[0]
        TIMINGS["Formgrader: Collect hw1"] = time.monotonic() - start
        assert "Successfully collected" in _text(modal), _text(modal)

        def closed(d):                     # OK, again if a click landed while the dialog was still fading in
            shown = [m for m in _css(d, ".modal") if m.is_displayed()]
            for m in shown:
                for button in m.find_elements("css selector", ".modal-footer button"):
                    try:
                        button.click()
                    except Exception:      # noqa: BLE001  (covered by the backdrop while it fades)
                        pass
            return not shown and not [b for b in _css(d, ".modal-backdrop") if b.is_displayed()]

        _wait(browser, closed, 30, "the collect result to close")
        count = _wait(browser, lambda d: [r.find_element("css selector", "td.num-submissions a")
                                          for r in _css(d, "#main-table tr")
                                          if r.find_element("css selector", "td.name").text == "hw1"
                                          and r.find_elements("css selector", "td.num-submissions a")], 30,
                      "hw1's number of submissions")[0]
        assert count.text == "1", count.text
        count.click()
        students = _wait(browser, lambda d: _css(d, "#main-table tr td.student-id"), 30, "hw1's submissions")
        page = _text(browser.find_element("tag name", "body"))
        assert [s.text for s in students] == [getpass.getuser()], page
        assert "needs autograding" in page, page
    finally:
        browser.switch_to.default_content()
    assert (course / layout.SUBMITTED / getpass.getuser() / "hw1" / "hw1.ipynb").is_file()
    assert not _severe(browser), _severe(browser)


def test_the_repositorys_own_grading_state_is_untouched(lab):
    url, token, course = lab
    assert not course.is_relative_to(ROOT)
    assert _state(ROOT) == STATE_BEFORE, "the browser test changed the repository's grading/ or my-homework/"


def test_the_set_up_is_idempotent_and_follows_a_new_release(course_with_exchange):
    """`make course` again: nothing to do, nothing touched (a student's fetched copy and submission stay); after a
    change of one homework only that one is released again, with a warning if assignments/ is not what solutions/
    generates."""
    course, env = course_with_exchange
    exchange = course / layout.EXCHANGE / layout.COURSE_ID

    def files():
        return {str(p.relative_to(course)): p.stat().st_mtime_ns for folder in (exchange, course / layout.STUDENT_WORK)
                for p in folder.rglob("*") if p.is_file()}

    before = files()
    start = time.monotonic()
    again = _set_up(course, env)
    TIMINGS["set-up again (nothing to do)"] = time.monotonic() - start
    assert again.returncode == 0, again.stdout + again.stderr
    assert all(f"{hw}: up to date" in again.stdout for hw in HOMEWORKS), again.stdout
    assert files() == before

    # an instructor edits hw2's student version by hand (instead of solutions/ + make release)
    path = course / layout.RELEASE / "hw2" / "hw2.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[0].source += "\n\nA sentence added by hand."
    nbformat.write(nb, str(path))
    changed = _set_up(course, env)
    assert changed.returncode == 0, changed.stdout + changed.stderr
    lines = dict(line.split(": ", 1) for line in changed.stdout.splitlines() if line.startswith("hw"))
    assert lines["hw1"] == "up to date" and lines["hw3"] == "up to date", changed.stdout
    assert lines["hw2"].startswith("released in") and "WARNING: assignments/hw2/hw2.ipynb is not what solutions/hw2" \
        in lines["hw2"] and "make release" in lines["hw2"], changed.stdout
    released = nbformat.read(str(exchange / "outbound" / "hw2" / "hw2.ipynb"), as_version=4)
    assert released.cells[0].source.endswith("A sentence added by hand.")
    after = files()
    assert {k: v for k, v in after.items() if "outbound/hw2" not in k} == \
        {k: v for k, v in before.items() if "outbound/hw2" not in k}, "set-up touched more than hw2's release"
