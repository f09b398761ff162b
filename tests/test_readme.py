"""The README a new user follows: its commands exist and every picture it shows is committed."""

import re

from tests.notebooks import ROOT

README = (ROOT / "README.md").read_text()


def test_every_picture_in_the_readme_exists():
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert pictures, "the README shows no screenshot"
    missing = [p for p in pictures if not (ROOT / p).is_file()]
    assert not missing, f"the README shows pictures that are not committed: {missing}"


def test_the_readme_names_the_commands_users_run():
    for command in ("./lab.sh", "course.self_check()", "python -m course.selfcheck", "nbgrader validate",
                    "autograder report assignment2", "./test.sh -m browser --screenshots docs/screenshots"):
        assert command in README, command
    for script in ("lab.sh", "run.sh", "test.sh"):
        assert (ROOT / script).stat().st_mode & 0o111, f"{script} is not executable"
