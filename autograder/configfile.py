"""The course's configuration file, read without importing nbgrader: what a grading run needs in its
first milliseconds (to start kernels warming up while the rest of the grader loads)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"

# jsonschema (under nbformat) imports rfc3987_syntax when it is installed, which builds a Lark grammar at
# import (1.6 s here), only to check the "iri" string format that no notebook schema uses: every grading
# process (the command, its workers) skips it. See docs/benchmarks.md.
sys.modules.setdefault("rfc3987_syntax", None)


def find_course_root(start: Path | None = None) -> Path:
    """The nearest directory at or above `start` (default: cwd) holding nbgrader_config.py."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    raise FileNotFoundError(f"no {CONFIG_FILE} in {here} or any directory above it")


def load_config(root: Path) -> Config:
    """Read `root/nbgrader_config.py` and point the course directory at `root`."""
    put_environment_on_path()
    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return config


def put_environment_on_path() -> None:
    """nbgrader runs `alembic` and kernels by name: make this interpreter's bin/ visible to it."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
