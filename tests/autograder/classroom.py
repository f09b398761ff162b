"""A test class for the tiny assignment: one student per way a submission can go, with the outcome
each must get. Submissions are built from the release notebooks the way a student makes them:
stubs replaced by code, cells added, moved or deleted, files renamed or broken.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

from autograder.cells import cell_with_id
from autograder.demo import Outcome as Expected
from autograder.demo import Student, Submission
from autograder.demo import add_cell_after as add_cell
from autograder.demo import replace_cell as replace_solution

FIXTURE = Path(__file__).parent / "fixtures" / "course"
PROJECT_CONFIG = Path(__file__).resolve().parents[2] / "nbgrader_config.py"
ASSIGNMENT = "tiny"
ON_TIME = "2025-04-26 23:59:00"  # exactly at the deadline (naive: course time zone)
FULL_AUTO_SCORE = 7.0  # tiny: row_means 1 + 2, add 1 + 1; second: double 1 + 1 (the written answer is manual)


def make_course(root: Path) -> Path:
    """A course directory with the tiny assignment's source and the project's real configuration."""
    shutil.copytree(FIXTURE / "source", root / "source")
    template = (FIXTURE / "nbgrader_config.template.py").read_text()
    (root / "nbgrader_config.py").write_text(template.format(project_config=PROJECT_CONFIG, root=root))
    return root


ROW_MEANS_WITH_LOOP = '''def row_means(x):
    """Mean of each row, with a loop."""
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = x[i].mean()
    return out
'''

WARNS = '''import warnings

def add(a, b):
    """a + b, with a warning of the kind PyTorch emits."""
    warnings.warn("this overload is deprecated", UserWarning)
    return a + b
'''

ROW_MEANS_HIDDEN_LOOP = '''import functools

def row_means(x):
    """A loop over the rows that the static check cannot see: reduce, reached through getattr."""
    fold = getattr(functools, "red" + "uce")
    return np.array(fold(lambda means, row: means + [row.mean()], x, []))
'''


def build_class(release_dir: Path, source_dir: Path) -> dict[str, Submission]:
    """Every student of the test class, keyed by the outcome their id names."""
    student = Student(release_dir, source_dir, timestamp=ON_TIME)
    s: dict[str, Submission] = {}

    s["on_time"] = student.solved()

    for name, stamp in {
        "late_exactly_24h": "2025-04-27 23:59:00 +0800",
        "late_30h": "2025-04-28T05:59:00+08:00",
        "late_49h": "2025-04-28 16:59:00 UTC",
        "late_10h_nbgrader_offset": "2025-04-27 10:00:00.000000 +0800",
        "on_time_other_zone": "2025-04-26T10:59:00-05:00",  # 23:59 in Shanghai
        "late_one_second": "2025-04-26T15:59:01Z",
        "late_cst_as_nbgrader_writes": "2025-04-27 09:00:00.000000 CST",
    }.items():
        s[name] = student.solved()
        s[name].timestamp = stamp

    s["partial"] = student.solved()
    replace_solution(s["partial"], "tiny.ipynb", "row_means", "def row_means(x):\n    return x.sum(axis=1)\n")

    s["loop_in_row_means"] = student.solved()
    replace_solution(s["loop_in_row_means"], "tiny.ipynb", "row_means", ROW_MEANS_WITH_LOOP)

    s["hidden_loop"] = student.solved()
    replace_solution(s["hidden_loop"], "tiny.ipynb", "row_means", ROW_MEANS_HIDDEN_LOOP)

    s["infinite_loop"] = student.solved()
    add_cell(s["infinite_loop"], "tiny.ipynb", "add", "while True:\n    pass\n")

    s["ignores_interrupt"] = student.solved()
    add_cell(s["ignores_interrupt"], "tiny.ipynb", "add", IGNORES_INTERRUPT)

    s["os_exit"] = student.solved()
    add_cell(s["os_exit"], "tiny.ipynb", "add", "import os\nos._exit(3)\n")

    s["segfault"] = student.solved()
    add_cell(s["segfault"], "second.ipynb", "double", "import faulthandler\nfaulthandler._sigsegv()\n")

    s["memory_hog"] = student.solved()
    add_cell(s["memory_hog"], "tiny.ipynb", "add", "hog = np.ones(40 * 2**30, dtype=np.uint8)\n")

    s["output_flood"] = student.solved()
    add_cell(s["output_flood"], "tiny.ipynb", "add", "print('x' * 100_000_000)\n")

    s["invalid_json"] = student.solved()
    s["invalid_json"].notebooks["tiny.ipynb"] = b'{"cells": [ this is not json'

    s["deleted_test_cell"] = student.solved()
    nb = s["deleted_test_cell"].notebooks["tiny.ipynb"]
    nb.cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != "row_means_hidden"]

    s["reordered_cells"] = student.solved()
    nb = s["reordered_cells"].notebooks["tiny.ipynb"]
    index, test = cell_with_id(nb, "row_means_visible")
    nb.cells.pop(index)
    nb.cells.insert(cell_with_id(nb, "row_means")[0], test)

    s["duplicated_cells"] = student.solved()
    nb = s["duplicated_cells"].notebooks["tiny.ipynb"]
    index, test = cell_with_id(nb, "add_visible")
    nb.cells.insert(index, copy.deepcopy(test))

    s["renamed_notebook"] = student.solved()
    s["renamed_notebook"].notebooks["second (1).ipynb"] = s["renamed_notebook"].notebooks.pop("second.ipynb")

    s["one_notebook"] = student.solved()
    del s["one_notebook"].notebooks["second.ipynb"]

    s["missing_timestamp"] = student.solved()
    s["missing_timestamp"].timestamp = None

    s["bad_timestamp"] = student.solved()
    s["bad_timestamp"].timestamp = "last Tuesday, around noon"

    s["tampering"] = student.solved()
    replace_solution(s["tampering"], "tiny.ipynb", "row_means",
                     "assert_close = lambda *args, **kwargs: None\n\ndef row_means(x):\n    return 0\n")

    s["warning_in_solution"] = student.solved()  # an honest library warning costs nothing (nbgrader: all of it)
    replace_solution(s["warning_in_solution"], "tiny.ipynb", "add", WARNS)

    s["bad_metadata_in_second"] = student.solved()  # nbgrader refuses second.ipynb: tiny.ipynb is still graded
    _, hidden = cell_with_id(s["bad_metadata_in_second"].notebooks["second.ipynb"], "double_hidden")
    hidden.metadata["nbgrader"] = {**hidden.metadata["nbgrader"], "schema_version": 99}

    s["stray_module"] = student.solved()
    s["stray_module"].files["course.py"] = b"def assert_close(*args, **kwargs):\n    pass\n"

    s["sandbox_probe"] = student.solved()
    add_cell(s["sandbox_probe"], "tiny.ipynb", "add", SANDBOX_PROBE.format(root=release_dir.parents[1]))
    return s


IGNORES_INTERRUPT = '''import time
while True:
    try:
        time.sleep(0.1)
    except KeyboardInterrupt:
        pass
'''

SANDBOX_PROBE = '''import os, socket
try:
    socket.create_connection(("127.0.0.1", 9), timeout=2)
    print("SANDBOX network: reachable")
except OSError as error:
    print("SANDBOX network: blocked", type(error).__name__)
for name in ("gradebook.db", "source", "submitted", "nbgrader_config.py"):
    print("SANDBOX", name, "VISIBLE" if os.path.exists(os.path.join("{root}", name)) else "hidden")
print("SANDBOX cwd", os.getcwd(), sorted(os.listdir(".")))
'''


EXPECTED: dict[str, Expected] = {
    "on_time": Expected("graded", FULL_AUTO_SCORE, 0.0),
    "late_exactly_24h": Expected("graded", FULL_AUTO_SCORE, 15.0),
    "late_30h": Expected("graded", FULL_AUTO_SCORE, 30.0),
    "late_49h": Expected("graded", FULL_AUTO_SCORE, 100.0),
    "late_10h_nbgrader_offset": Expected("graded", FULL_AUTO_SCORE, 15.0),
    "on_time_other_zone": Expected("graded", FULL_AUTO_SCORE, 0.0),
    "late_one_second": Expected("graded", FULL_AUTO_SCORE, 15.0),
    "late_cst_as_nbgrader_writes": Expected("graded", FULL_AUTO_SCORE, 15.0),
    "partial": Expected("graded", FULL_AUTO_SCORE - 3, 0.0),
    "loop_in_row_means": Expected("graded", FULL_AUTO_SCORE - 3, 0.0, loops="tiny.row_means",
                                  reasons=()),
    "hidden_loop": Expected("graded", FULL_AUTO_SCORE - 3, 0.0, loops="tiny.row_means",
                            flags=("calls getattr() with a computed name",)),
    "infinite_loop": Expected("timeout", FULL_AUTO_SCORE, 0.0, reasons=("was interrupted",)),
    "ignores_interrupt": Expected("timeout", FULL_AUTO_SCORE, 0.0, reasons=("ignored the interrupt",)),
    "os_exit": Expected("error", FULL_AUTO_SCORE, 0.0, reasons=("kernel died",), flags=("uses os._exit",)),
    "segfault": Expected("error", FULL_AUTO_SCORE, 0.0, reasons=("kernel died",), flags=("imports faulthandler",)),
    "memory_hog": Expected("graded", FULL_AUTO_SCORE, 0.0),
    "output_flood": Expected("graded", FULL_AUTO_SCORE, 0.0, reasons=("printed more than",)),
    "invalid_json": Expected("error", 2.0, 0.0, reasons=("tiny.ipynb is not a valid notebook",)),
    "deleted_test_cell": Expected("graded", FULL_AUTO_SCORE, 0.0, reasons=("row_means_hidden were put back",)),
    "reordered_cells": Expected("graded", FULL_AUTO_SCORE, 0.0, reasons=("put back in place",)),
    "duplicated_cells": Expected("graded", FULL_AUTO_SCORE, 0.0, reasons=("duplicated cells add_visible",)),
    "renamed_notebook": Expected("error", FULL_AUTO_SCORE - 2, 0.0, reasons=("rename it to second.ipynb",),
                                 flags=("stray files: second (1).ipynb",)),
    "one_notebook": Expected("graded", FULL_AUTO_SCORE - 2, 0.0, reasons=("second.ipynb is missing",)),
    "missing_timestamp": Expected("error", FULL_AUTO_SCORE, "", reasons=("timestamp.txt is missing",)),
    "bad_timestamp": Expected("error", FULL_AUTO_SCORE, "", reasons=("not a date and time",)),
    # assert_close is put back before each test: row_means' tests fail honestly, and the rebinding is flagged.
    "tampering": Expected("graded", FULL_AUTO_SCORE - 3, 0.0, flags=("rebinds `assert_close`",
                                                                     "`assert_close` no longer refers to")),
    "warning_in_solution": Expected("graded", FULL_AUTO_SCORE, 0.0),
    "bad_metadata_in_second": Expected("error", FULL_AUTO_SCORE - 2, 0.0,
                                       reasons=("second.ipynb: could not be graded",)),
    "stray_module": Expected("graded", FULL_AUTO_SCORE, 0.0, flags=("stray files: course.py",)),
    "sandbox_probe": Expected("graded", FULL_AUTO_SCORE, 0.0, flags=("mentions 'gradebook'",)),
}
