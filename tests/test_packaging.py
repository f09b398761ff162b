"""One pinned stack (pyproject.toml; environment.yml must agree), and CI runs the README's command."""

import re
import tomllib

from tests.notebooks import ROOT


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    requirements = project["dependencies"] + [r for extra in extras for r in extra]
    pins = {}
    for requirement in requirements:
        name, _, version = requirement.partition("==")
        assert version, f"pyproject.toml: {requirement!r} is not pinned with =="
        pins[name.strip().lower()] = version.strip()
    return pins


def environment_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        match = re.fullmatch(r"\s*-\s*([A-Za-z0-9_.\-\[\]]+)==(\S+)\s*", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_environment_yml_pins_exactly_the_pyproject_stack():
    assert environment_pins() == pyproject_pins()


def test_the_required_stack_is_pinned():
    pins = pyproject_pins()
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"
    for name in ("nbgrader", "jupyterlab", "numpy", "matplotlib", "pytest"):
        assert name in pins


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./test.sh" in readme and "./run.sh" in readme
    assert re.search(r"^\s*(exec\s+)?\./test\.sh\b", ci, re.M), ".ci/run must call ./test.sh"
