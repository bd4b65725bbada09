"""The real browser the browser tests drive: Debian's chromium and chromedriver, through selenium.

``make browser`` installs them where it can; elsewhere :func:`skip_unless_available` skips with the reason.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = next((p for p in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                             shutil.which("chromium-browser")) if p and Path(p).is_file()), None)
DRIVER = next((p for p in (os.environ.get("CHROMEDRIVER"), "/usr/bin/chromedriver", shutil.which("chromedriver"))
               if p and Path(p).is_file()), None)


def skip_unless_available() -> None:
    """Skip the calling test (or fixture) with the reason when no browser or no selenium can be had."""
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("no Chromium/chromedriver found (Debian: apt-get install chromium chromium-driver, "
                    "or `make browser` as root); the browser tests need a real browser")
    pytest.importorskip("selenium",
                        reason="selenium is not installed (it is in the dev extra: pip install -e '.[dev]')")


def start(profile: Path, width: int = 1280):
    """Headless Chromium with a fresh profile in ``profile``, its console log kept, 60 s page and script timeouts."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--window-size={width},1000", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    return driver
