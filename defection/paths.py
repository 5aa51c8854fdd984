"""Find the book's ``data/`` folder from anywhere.

Chapters never build paths. The folder is found in this order:

1. the ``DEFECTION_DATA`` environment variable, if set;
2. ``data/`` next to this package in a checkout (also after ``pip install -e .``);
3. ``data/`` in the current folder or any parent of it;
4. the copy a regular ``pip install`` of the package (or of the wheel the book's
   site serves) puts in ``<scheme data>/share/defection-explained/data``, for
   every install layout pip uses: a virtual environment, a system Python such
   as Colab's (``/usr/local``), and ``pip install --user``.
"""
from __future__ import annotations

import os
import site
import sys
import sysconfig
from pathlib import Path

SHARE = Path("share") / "defection-explained" / "data"

HELP = (
    "The book's data folder was not found. Either run the chapter from a checkout of the book "
    "(make lab), or install the book's package, which carries the data: run the first cell of a "
    "notebook downloaded from the book, or `pip install` the wheel linked from the book's data page. "
    "Or set DEFECTION_DATA to the folder that holds datapackage.json."
)


class DataNotFound(FileNotFoundError):
    """The data folder could not be located."""


def install_locations() -> list[Path]:
    """Where an installed package's data files can be, in pip's install schemes."""
    prefixes = [sys.prefix, sys.base_prefix, sysconfig.get_path("data")]
    for scheme in ("posix_user", "nt_user", "osx_framework_user", "posix_prefix", "posix_local"):
        if scheme in sysconfig.get_scheme_names():
            try:
                prefixes.append(sysconfig.get_path("data", scheme))
            except KeyError:
                pass
    if getattr(site, "USER_BASE", None):
        prefixes.append(site.USER_BASE)
    prefixes.append("/usr/local")
    return [Path(p) / SHARE for p in dict.fromkeys(p for p in prefixes if p)]


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
    candidates += install_locations()
    for path in candidates:
        if (path / "datapackage.json").is_file():
            return path
    raise DataNotFound(HELP)


def repo_root() -> Path:
    """The checkout that holds ``data/``."""
    return data_dir().parent
