"""Reports from the gradebook and the stored results, without running any notebook.

- `reports/<assignment>/grades.csv`: one row per student, the contract's columns.
- `reports/<assignment>/details.csv`: the reasons behind each status, and loop violations in full.
- `feedback/<student>/<assignment>/*.html`: nbgrader's feedback, hidden tests removed.
- `reports/<assignment>/summary.md`, `score_histogram.png`, `exercise_means.csv`: for the instructor.

Manual grades entered in formgrader are part of the gradebook's scores, so the late penalty applies
to them too; the penalty stored in the gradebook is brought up to date on the way.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Collection
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import GenerateFeedback

from .course import Course
from .grading import log_to
from .late import assess_lateness, points_off
from .results import MISSING, StudentResult

log = logging.getLogger(__name__)

COLUMNS = [
    "student_id", "raw_score", "max_score", "submitted_at", "hours_late", "late_penalty_pct",
    "loop_violations", "final_score", "status", "flags",
    "needs_manual_grading",  # after the contract's columns (shared/spec/autograder.md), which keep their places
]


def load_results(course: Course) -> dict[str, StudentResult]:
    results = (StudentResult.load(p) for p in sorted(course.results.glob("*.json")))
    return {result.student_id: result for result in results}


def grade_rows(course: Course, results: dict[str, StudentResult]) -> list[dict]:
    """The grades.csv rows, with the late penalty recomputed on the gradebook's current scores (manual
    grades included) by the course's late plugin, notebook by notebook as nbgrader applies it."""
    rows = []
    with Gradebook(course.db_url) as gradebook:
        max_score = gradebook.find_assignment(course.assignment).max_score
        for student, result in sorted(results.items()):
            raw, hours, percent, final, pending = 0.0, "", "", "", 0.0
            try:
                submission = gradebook.find_submission(course.assignment, student)
            except MissingEntry:
                submission = None
            if submission is not None:
                raw = float(submission.score)
                pending = sum((float(grade.max_score) for notebook in submission.notebooks
                               for grade in notebook.grades if grade.needs_manual_grade), 0.0)
            if result.status == MISSING:
                percent, final, hours = 0.0, 0.0, ""
            elif result.refused:
                pass
            else:
                lateness = assess_lateness(course.submission(student), course.assignment, student, course.policy,
                                           course.plugin, course.due)
                if lateness.penalty_percent is not None:
                    hours = round(lateness.hours_late, 2)
                    percent = round(lateness.penalty_percent, 2)
                    taken = _update_penalties(submission, course, student, lateness.seconds_late)
                    final = round(raw - taken, 2)
            rows.append({
                "student_id": student, "raw_score": round(raw, 2), "max_score": round(float(max_score), 2),
                "submitted_at": result.submitted_at, "hours_late": hours, "late_penalty_pct": percent,
                "loop_violations": "; ".join(result.loop_violations), "final_score": final,
                "needs_manual_grading": round(pending, 2), "status": result.status, "flags": "; ".join(result.flags),
            })
        gradebook.db.commit()
    return rows


def _update_penalties(submission, course: Course, student: str, seconds_late: float) -> float:
    """Each notebook's penalty, as the plugin gives it, into the gradebook; returns their sum."""
    if submission is None:
        return 0.0
    total = 0.0
    for notebook in submission.notebooks:
        taken = points_off(course.plugin, student, float(notebook.score), seconds_late)
        notebook.late_submission_penalty = taken or None
        total += taken
    return total


def write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    """A CSV a spreadsheet opens safely: a text cell that would start a formula is quoted with a '."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows({k: _inert(v) for k, v in row.items()} for row in rows)


def _inert(value):
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def exercise_means(course: Course, students: list[str]) -> list[dict]:
    """Mean score of every graded cell over the students who submitted, in notebook order."""
    totals, counts, maxima, order = defaultdict(float), Counter(), {}, []
    with Gradebook(course.db_url) as gradebook:
        assignment = gradebook.find_assignment(course.assignment)
        for notebook in assignment.notebooks:
            for cell in notebook.grade_cells:
                key = (notebook.name, cell.name)
                order.append(key)
                maxima[key] = cell.max_score
        for student in students:
            try:
                submission = gradebook.find_submission(course.assignment, student)
            except MissingEntry:
                continue
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    key = (notebook.name, grade.name)
                    totals[key] += float(grade.score)
                    counts[key] += 1
    return [
        {"notebook": n, "grade_id": g, "max_score": maxima[(n, g)],
         "mean_score": round(totals[(n, g)] / counts[(n, g)], 3) if counts[(n, g)] else "",
         "students": counts[(n, g)]}
        for n, g in order
    ]


def generate_feedback(course: Course, students: list[str]) -> list[str]:
    """nbgrader's feedback HTML for each autograded student; returns those it failed for."""
    failed = []
    coursedir = course.coursedir
    for student in students:
        if not (course.root / "autograded" / student / course.assignment).is_dir():
            continue
        coursedir.assignment_id, coursedir.student_id = course.assignment, student
        converter = GenerateFeedback(coursedir=coursedir, config=course.config)
        converter.force = True
        (course.reports / "logs").mkdir(parents=True, exist_ok=True)
        try:
            with log_to(course.reports / "logs" / "feedback.log"):
                converter.start()
        except Exception:  # noqa: BLE001 - one student's feedback never stops the others
            log.exception("feedback for %s failed", student)
            failed.append(student)
    coursedir.student_id = "*"
    return failed


def _has_feedback(course: Course, student: str) -> bool:
    return any((course.root / "feedback" / student / course.assignment).glob("*.html"))


def plot_histogram(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = [r["final_score"] for r in rows if r["final_score"] != ""]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    top = max([r["max_score"] for r in rows] or [1])
    ax.hist(scores, bins=min(20, max(5, len(scores))), range=(0, top), color="#3b6ea8", edgecolor="white")
    ax.set_xlabel("final score (after late penalty)")
    ax.set_ylabel("students")
    ax.set_title(f"{len(scores)} scored submissions")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_summary(course: Course, rows: list[dict], means: list[dict], failed_feedback: list[str]) -> Path:
    statuses = Counter(r["status"] for r in rows)
    scored = [r["final_score"] for r in rows if r["final_score"] != ""]
    lines = [
        f"# {course.assignment}: grading summary",
        "",
        f"{len(rows)} students: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())),
        f"Mean final score {sum(scored) / len(scored):.2f} of {rows[0]['max_score']}" if scored else "No scores.",
        "",
        "![score histogram](score_histogram.png)",
        "",
        "| notebook | exercise (grade id) | mean | max | students |",
        "| --- | --- | --- | --- | --- |",
        *(f"| {m['notebook']} | {m['grade_id']} | {m['mean_score']} | {m['max_score']} | {m['students']} |"
          for m in means),
    ]
    if failed_feedback:
        lines += ["", "Feedback could not be generated for: " + ", ".join(failed_feedback)]
    path = course.reports / "summary.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def feedback_states(course: Course) -> dict[str, str]:
    """A digest, per student, of everything nbgrader's feedback page shows from the gradebook (scores,
    manual grades, comments, late penalties), read in two queries for the whole class."""
    from nbgrader.api import Assignment, Comment, Grade, SubmittedAssignment, SubmittedNotebook

    parts: dict[str, list] = defaultdict(list)
    with Gradebook(course.db_url) as gradebook:
        submitted = (gradebook.db.query(SubmittedAssignment.student_id, SubmittedNotebook.id,
                                        SubmittedNotebook.late_submission_penalty, SubmittedAssignment.timestamp,
                                        SubmittedAssignment.extension)
                     .join(SubmittedNotebook, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                     .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
                     .filter(Assignment.name == course.assignment))
        owner = {}
        for student, notebook, *values in submitted:
            owner[notebook] = student
            parts[student].append(("notebook", notebook, *map(str, values)))
        for model, columns in ((Grade, (Grade.auto_score, Grade.manual_score, Grade.extra_credit)),
                               (Comment, (Comment.auto_comment, Comment.manual_comment))):
            for notebook, cell, *values in gradebook.db.query(model.notebook_id, model.cell_id, *columns):
                if notebook in owner:
                    parts[owner[notebook]].append((model.__name__, notebook, cell, *map(str, values)))
    return {student: hashlib.sha256(repr(sorted(items)).encode()).hexdigest() for student, items in parts.items()}


FEEDBACK_STATES = "feedback_states.json"


def build_reports(course: Course, feedback_done: Collection[str] = (), feedback_failed: Collection[str] = ()
                  ) -> list[dict]:
    """grades.csv, details.csv, feedback and the summary, all from the gradebook and results.

    Students in `feedback_done` already have this run's feedback (`autograder grade` writes it as each
    student is saved, while the workers grade the others); `feedback_failed` are those it failed for.
    Anyone else's feedback is made again only if what it shows changed in the gradebook since it was
    made (a manual grade, a comment) or it is missing: rebuilding the reports of a class is quick.
    """
    results = load_results(course)
    rows = grade_rows(course, results)
    write_csv(course.reports / "grades.csv", rows, COLUMNS)
    details = [{"student_id": s, "status": r.status, "reasons": " | ".join(r.reasons),
                "loop_violations": " | ".join(r.loop_details), "flags": " | ".join(r.flags)}
               for s, r in sorted(results.items())]
    write_csv(course.reports / "details.csv", details, ["student_id", "status", "reasons", "loop_violations", "flags"])
    states = feedback_states(course)
    state_file = course.reports / FEEDBACK_STATES
    try:
        made = json.loads(state_file.read_text())
    except (OSError, ValueError):
        made = {}
    stale = [s for s, r in results.items() if r.status != MISSING and not r.refused and s not in feedback_done
             and (made.get(s) != states.get(s) or not _has_feedback(course, s))]
    failed = sorted({*feedback_failed, *generate_feedback(course, stale)})
    made = {s: states[s] for s in states if s not in failed and (s in made or s in stale or s in feedback_done)}
    state_file.write_text(json.dumps(made, indent=0, sort_keys=True))
    means = exercise_means(course, list(results))
    write_csv(course.reports / "exercise_means.csv", means, ["notebook", "grade_id", "max_score", "mean_score",
                                                              "students"])
    if rows:
        plot_histogram(rows, course.reports / "score_histogram.png")
    write_summary(course, rows, means, failed)
    return rows
