"""What a notebook's kernel writes is kept in autograded/ (as nbgrader keeps it), except files a browser runs
scripts in and the grader's own timestamp.txt, each dropped with its reason."""

from pathlib import Path

from autograder.files import kept_output_problem
from autograder.preprocessors.execute import _keep_side_effects, _regular_files, _stamp


def test_active_content_notebooks_and_the_timestamp_are_not_kept():
    for name in ("report.html", "REPORT.HTM", "sub/page.svg", "a.xhtml", "a.xml", "a.js", "a.mhtml", "a.shtml",
                 "timestamp.txt", "other.ipynb"):
        assert kept_output_problem(name), name
    for name in ("results.csv", "model.pt", "figure.png", "notes.txt", "sub/timestamp.txt", "data.npy"):
        assert kept_output_problem(name) == "", name


def test_kernel_written_files_are_copied_back_but_not_scripts_or_the_timestamp(tmp_path: Path):
    notebook_dir, scratch = tmp_path / "autograded", tmp_path / "scratch"
    notebook_dir.mkdir()
    (notebook_dir / "timestamp.txt").write_text("2025-04-20 10:00:00\n")
    (notebook_dir / "data.txt").write_text("release data\n")
    scratch.mkdir()
    (scratch / "timestamp.txt").write_text("2025-04-20 10:00:00\n")
    (scratch / "data.txt").write_text("release data\n")
    given = {relative: _stamp(path) for relative, path in _regular_files(scratch)}
    (scratch / "timestamp.txt").write_text("2020-01-01 00:00:00\n")
    (scratch / "report.html").write_text("<script>alert(1)</script>")
    (scratch / "sub").mkdir()
    (scratch / "sub" / "page.svg").write_text('<svg onload="alert(7)"/>')
    (scratch / "results.csv").write_text("a,b\n")
    dropped = dict(_keep_side_effects(scratch, notebook_dir, given))
    assert set(dropped) == {"timestamp.txt", "report.html", "sub/page.svg"}, dropped
    assert (notebook_dir / "timestamp.txt").read_text() == "2025-04-20 10:00:00\n"
    assert (notebook_dir / "results.csv").read_text() == "a,b\n"
    assert not (notebook_dir / "report.html").exists() and not (notebook_dir / "sub" / "page.svg").exists()
