"""Grading library for the course's nbgrader assignment."""
