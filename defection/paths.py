"""Find the book's ``data/`` folder from anywhere.

Chapters never build paths. The folder is found in this order:

1. the ``DEFECTION_DATA`` environment variable, if set;
2. ``data/`` next to this package in a checkout (also after ``pip install -e .``);
3. ``data/`` in the current folder or any parent of it;
4. the copy a regular ``pip install`` puts in ``<prefix>/share/defection-explained/data``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

HELP = (
    "The book's data folder was not found. Either clone the repository and run the "
    "chapter from the checkout (git clone https://github.com/defection-explained/defection-explained "
    "&& cd defection-explained && make lab), or install the package with its data "
    "(pip install git+https://github.com/defection-explained/defection-explained), "
    "or set DEFECTION_DATA to the folder that holds datapackage.json."
)


class DataNotFound(FileNotFoundError):
    """The data folder could not be located."""


def data_dir() -> Path:
    env = os.environ.get("DEFECTION_DATA")
    if env:
        path = Path(env).expanduser()
        if (path / "datapackage.json").is_file():
            return path.resolve()
        raise DataNotFound(f"DEFECTION_DATA={env} does not contain datapackage.json. " + HELP)
    candidates = [Path(__file__).resolve().parent.parent / "data"]
    here = Path.cwd().resolve()
    candidates += [p / "data" for p in (here, *here.parents)]
    candidates += [Path(prefix) / "share" / "defection-explained" / "data"
                   for prefix in dict.fromkeys((sys.prefix, sys.base_prefix))]
    for path in candidates:
        if (path / "datapackage.json").is_file():
            return path
    raise DataNotFound(HELP)


def repo_root() -> Path:
    """The checkout that holds ``data/``."""
    return data_dir().parent
