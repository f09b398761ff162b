"""Fixtures for the browser tests: system Chromium driven by Playwright, and JupyterLab servers.

Every test here is marked `browser`; they skip, saying why, only when no Chromium is installed
(`scripts/system-packages.sh`, which ./test.sh runs, installs Debian's `chromium` when it can).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser.lab import CHROMIUM_FLAGS, VIEWPORT, JupyterLab, find_chromium
from tests.notebooks import ROOT

COURSE_FILES = ("nbgrader_config.py", "source", "release")


@pytest.fixture(scope="session")
def screenshots(request, tmp_path_factory) -> Path:
    """Where screenshots go: --screenshots DIR (docs/screenshots to refresh the README's), else a temp dir."""
    chosen = request.config.getoption("--screenshots")
    folder = (ROOT / chosen).resolve() if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser():
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium installed: install Debian's `chromium` package (scripts/system-packages.sh does, "
                    "as root) or set CHROMIUM=/path/to/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(60_000)
    page = context.new_page()
    yield page
    context.close()


def course_copy(target: Path) -> Path:
    """A student's copy of the course directory: configuration, source and release notebooks."""
    target.mkdir(parents=True)
    for name in COURSE_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        else:
            shutil.copy(source, target / name)
    return target


@pytest.fixture(scope="module")
def course_lab(browser, tmp_path_factory):
    """JupyterLab in a fresh copy of the course directory (release and source), as `./lab.sh` starts it."""
    base = tmp_path_factory.mktemp("course")
    lab = JupyterLab(course_copy(base / "course"), base / "jupyter").start()
    yield lab
    lab.stop()
