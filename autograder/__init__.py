"""Grading package for Assignment 2: release generation, autograding on nbgrader, reports."""

__version__ = "1.0.0"
