"""The course's one configuration: nbgrader's settings and the course policy (due dates, late tiers,
time limits, devices). `nbgrader ...` and `autograder ...` both read this file from the repo root."""

import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

# --- nbgrader: this repository is the course directory ----------------------------------------
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "intro-cv"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.Exchange.timezone = "Asia/Shanghai"

# --- Course policy ---------------------------------------------------------------------------
c.CoursePolicy.timezone = "Asia/Shanghai"  # naive timestamps and due dates are in this zone
c.CoursePolicy.due_dates = {"assignment2": "2025-04-26 23:59:00"}
