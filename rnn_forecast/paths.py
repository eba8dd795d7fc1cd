"""The repository's root folder, defined once for the package, the autograder, tests and benchmarks.

The package is installed editable from the repository (``make setup``), so its parent
folder is the checkout that holds ``data/``, ``lessons/``, ``solutions/`` and ``exercises/``.
"""

from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
