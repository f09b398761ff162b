"""The harness's process checks tolerate what a busy server leaves for a moment: children that have
exited but are not reaped yet (zombies), whose command line can no longer be read."""

import subprocess
import sys
import time

import psutil

from tests.browser.lab import command_line, is_alive


def test_an_unreaped_child_is_not_alive_and_its_command_reads_without_error():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    process = psutil.Process(child.pid)
    deadline = time.monotonic() + 30
    while process.status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.05)
    try:
        assert not is_alive(process)
        assert command_line(process) == "?"
    finally:
        child.wait()
    assert not is_alive(process)


def test_a_running_process_is_alive_and_its_command_reads():
    assert is_alive(psutil.Process())
    assert "pytest" in command_line(psutil.Process())
