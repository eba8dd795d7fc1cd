"""Fixtures shared by the test modules."""

import pytest

import rnn_forecast


@pytest.fixture(scope="session")
def series():
    """The course's S&P 500 series, loaded once."""
    return rnn_forecast.load_monthly_series()


@pytest.fixture(scope="session")
def split(series):
    """The course's windows, split chronologically."""
    from rnn_forecast.windows import course_split

    return course_split(series)


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """The synthetic class of ``sample_class.CLASS``, graded ONCE by ``nbgrader autograde``.

    A temporary course built from the repository (config, solutions/, exercises/, and a
    gradebook that knows the assignment), one submission per kind, and one run of
    ``nbgrader autograde gated_rnn`` over all of them. Returns a ``sample_class.Grading``:
    ``.course``, ``.result`` (the finished process), ``.seconds``, ``.scores``
    (student -> {grade_id: auto score}) and the digests of ``submitted/`` before and after.
    """
    from autograder.testkit import sample_class

    course = sample_class.make_course(tmp_path_factory.mktemp("graded_class"))
    sample_class.make_class(course)
    return sample_class.autograde(course)


@pytest.fixture(scope="session")
def readme_clone():
    """A fresh clone of this checkout under /tmp, set up by the README's own commands (``.venv``
    inside the course folder): ``clone_support.ReadmeClone``, about a minute to make."""
    from clone_support import ReadmeClone

    clone = ReadmeClone.create()
    yield clone
    clone.remove()
