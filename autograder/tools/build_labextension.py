"""Builds the course's JupyterLab extension (``autograder/tools/labextension/``) for commit.

The extension is TypeScript; JupyterLab loads it prebuilt. CI and students have no npm
registry, so the build happens here, on a maintainer's machine with ``npm``, and both the
source and the built output (``labextension/prebuilt/course-lab/``) are committed. ``make lab``
loads the built output from the repository (:mod:`autograder.tools.lab`), nothing is installed.

    cd autograder/tools/labextension && npm ci    # once: the build tools, into node_modules/
    .venv/bin/python -m autograder.tools.build_labextension

The build records a hash of the source it was made from (``BUILT_FROM``);
``tests/test_student_path.py`` fails when the source has changed since, so the two cannot
drift apart unnoticed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "labextension"
PREBUILT = FOLDER / "prebuilt"
NAME = "course-lab"
BUILT_FROM = FOLDER / "BUILT_FROM"
#: What the build reads: a change to any of them needs a new build.
SOURCES = ("package.json", "tsconfig.json", "src", "style")


def source_hash(folder: Path = FOLDER) -> str:
    """sha256 over the source files' relative paths and contents, in a fixed order."""
    digest = hashlib.sha256()
    for name in SOURCES:
        path = folder / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(file.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


def build() -> None:
    tools = FOLDER / "node_modules" / ".bin"
    if not (tools / "tsc").exists():
        raise SystemExit(
            f"The build tools are missing: run `npm ci` in {FOLDER} first (needs the npm registry)."
        )
    core = Path(sys.executable).parent.parent / "share" / "jupyter" / "lab" / "static" / "package.json"
    shutil.rmtree(PREBUILT, ignore_errors=True)
    shutil.rmtree(FOLDER / "lib", ignore_errors=True)
    subprocess.run([str(tools / "tsc")], cwd=FOLDER, check=True)
    builder = Path(sys.executable).with_name("jupyter-builder")
    subprocess.run([str(builder), "build", f"--core-package-file={core}", "."], cwd=FOLDER, check=True)
    shutil.rmtree(FOLDER / "lib")  # tsc's output, an intermediate step of the bundle
    BUILT_FROM.write_text(source_hash() + "\n")
    print(
        f"Built {PREBUILT / NAME} from source {source_hash()[:12]}; commit src/, style/ and prebuilt/ together."
    )


if __name__ == "__main__":
    build()
