"""The harness itself: JupyterLab from this environment answers on localhost behind its token, shows
the course directory in Chromium, and leaves no process behind when stopped."""

import time
import urllib.error
import urllib.request

import psutil
import pytest

from tests.browser.conftest import course_copy
from tests.browser.lab import JupyterLab, is_alive
from tests.notebooks import ROOT

pytestmark = pytest.mark.browser


def test_jupyterlab_serves_the_course_and_stops_without_leftovers(browser, page, tmp_path):
    lab = JupyterLab(course_copy(tmp_path / "course"), tmp_path / "jupyter").start()
    try:
        assert lab.status() is not None
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{lab.base}/api/contents", timeout=5)
        assert refused.value.code == 403, "the server must require its token"

        kernel = lab.api("api/kernels", "POST", {"name": "python3"})
        deadline = time.monotonic() + 60
        while not (kernels := lab.kernels()):
            assert time.monotonic() < deadline, "the kernel process did not appear"
            time.sleep(0.5)
        assert kernel["name"] == "python3"

        page.goto(lab.url("lab/tree/release"))
        listing = page.locator(".jp-DirListing-content .jp-DirListing-itemName")
        listing.first.wait_for()
        names = set(listing.all_inner_texts())
        assert {"assignment2"} <= {n.strip() for n in names}, names
    finally:
        server = psutil.Process(lab.process.pid)
        lab.stop()
    assert not is_alive(server)
    assert not any(is_alive(k) for k in kernels)
    assert lab.status() is None
    assert not lab.forced, f"processes needed SIGKILL: {lab.forced}"


def test_lab_sh_starts_jupyterlab_in_a_course_directory(browser, page, tmp_path):
    """The README's one command, `./lab.sh [COURSE_DIR]`, serves that course directory."""
    course = course_copy(tmp_path / "course")
    lab = JupyterLab(course, tmp_path / "jupyter", launcher=[str(ROOT / "lab.sh"), str(course)]).start()
    try:
        listing = {item["name"] for item in lab.api("api/contents")["content"]}
        assert {"nbgrader_config.py", "release", "source"} <= listing, listing
        page.goto(lab.url("lab"))
        page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="Nbgrader").wait_for()
    finally:
        lab.stop()
