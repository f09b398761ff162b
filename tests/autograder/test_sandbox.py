"""The bubblewrap command: what it hides from a kernel, and what the kernel still needs to read."""

from pathlib import Path

import autograder
import course
from autograder.sandbox import bubblewrap_command


def mounts(args: list[str]) -> list[tuple[str, str]]:
    """(option, path) for each mount of a bwrap command, in order."""
    found = []
    for index, arg in enumerate(args):
        if arg in ("--tmpfs", "--ro-bind", "--bind"):
            found.append((arg, args[index + 1]))
    return found


def test_the_packages_the_kernel_imports_stay_readable_wherever_they_live(tmp_path):
    """The launcher and pool (autograder) and the helpers (course) are bound after every hidden folder,
    /tmp included: a checkout under /tmp must grade the same as one elsewhere."""
    args = bubblewrap_command("bwrap", tmp_path / "work", tmp_path / "runtime", tmp_path / "course", [], False)
    order = mounts(args)
    hidden = [i for i, (option, _) in enumerate(order) if option == "--tmpfs"]
    assert ("--tmpfs", "/tmp") in order
    for package in (autograder, course):
        folder = str(Path(package.__file__).resolve().parent)
        bound = [i for i, mount in enumerate(order) if mount == ("--ro-bind", folder)]
        assert bound and bound[-1] > max(hidden), f"{package.__name__} ({folder}) is not readable in the sandbox"


def test_the_course_folder_and_home_are_hidden(tmp_path):
    (tmp_path / "course").mkdir()
    args = bubblewrap_command("bwrap", tmp_path / "work", tmp_path / "runtime", tmp_path / "course", [], False)
    order = mounts(args)
    assert ("--tmpfs", str((tmp_path / "course").resolve())) in order
    assert ("--tmpfs", str(Path.home().resolve())) in order
    assert ("--bind", str(tmp_path / "work")) in order and "--unshare-net" in args
