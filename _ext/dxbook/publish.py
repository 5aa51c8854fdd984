"""``builder-inited`` and the finishing pass: files the site serves besides its pages: the dataset, CITATION.cff and the
book's own package as a wheel (``downloads/``), which carries the data, so a
downloaded notebook can install everything it needs from the book itself.

Spreadsheet formulas never reach a served CSV (CSV injection, see SECURITY.md):

* before anything is read or executed, ``data/`` is validated
  (``defection.data.validate``); a bad cell, including a text cell beginning
  with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, ends the build
  with one message naming file, row and column;
* defence in depth: the data copied into the site and into the wheel goes
  through ``defection.csvsafe``, and at build end every ``*.csv`` in the site
  (``data/``, ``_downloads/``, the charts' data in ``_static/charts/``) is
  checked again and any formula-like cell gets a leading ``'``. Clean files
  are left byte for byte as they are.

The wheel is reproducible: its files carry a fixed time stamp
(``SOURCE_DATE_EPOCH`` if set, else 1980-01-01).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import SphinxError
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: The time stamp of every file in the wheel when SOURCE_DATE_EPOCH is not set
#: (1980-01-01 00:00 UTC, the earliest a zip file can record).
DEFAULT_EPOCH = 315532800


class DataInputError(SphinxError):
    """``data/`` does not validate; the message names file, row and column."""

    category = "Data error"


def source_date_epoch() -> int:
    """SOURCE_DATE_EPOCH (https://reproducible-builds.org/specs/source-date-epoch/), or 1980-01-01."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return int(value) if value.isdigit() else DEFAULT_EPOCH


def copy_data_file(source: Path, target: Path) -> None:
    """Copy one data file; a CSV is written through the formula neutraliser."""
    from defection.csvsafe import neutralise_csv_bytes

    if source.suffix == ".csv":
        target.write_bytes(neutralise_csv_bytes(source.read_bytes()))
    else:
        shutil.copyfile(source, target)


def neutralise_site_csv(outdir: Path) -> int:
    """Give every formula-like cell of every CSV under ``outdir`` a leading ``'``; the count of files changed."""
    from defection.csvsafe import neutralise_csv_bytes

    changed = 0
    for path in sorted(Path(outdir).rglob("*.csv")):
        raw = path.read_bytes()
        try:
            safe = neutralise_csv_bytes(raw)
        except UnicodeDecodeError:
            logger.error("[dxbook] %s is not UTF-8 text; it is not published", path.relative_to(outdir))
            path.unlink()
            continue
        if safe != raw:
            path.write_bytes(safe)
            changed += 1
    return changed


def package_root() -> Path:
    """The project the ``defection`` package is developed in (it holds pyproject.toml)."""
    import defection

    return Path(defection.__file__).resolve().parents[1]


def project_version(root: Path | None = None) -> str:
    root = root or package_root()
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def wheel_name(root: Path | None = None) -> str:
    return f"defection-{project_version(root)}-py3-none-any.whl"


def build_wheel(root: Path, data: Path, target_dir: Path, cache_dir: Path | None = None) -> Path:
    """Build the package wheel in a scratch copy (the checkout gets no build/ or egg-info).
    With ``cache_dir`` (the build's output folder keeps one), a wheel of the same inputs
    is reused from there instead of built again."""
    from .cache import digest

    key = f"{digest([root / 'pyproject.toml', root / 'defection', data])[:16]}-{source_date_epoch()}"
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / wheel_name(root)
    cached = Path(cache_dir) / key / wheel_name(root) if cache_dir else None
    if cached is not None and cached.is_file():
        shutil.copy2(cached, target)
        return target
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            if (root / name).is_file():
                shutil.copy2(root / name, work / name)
        shutil.copytree(root / "defection", work / "defection", ignore=shutil.ignore_patterns("__pycache__"))
        (work / "data").mkdir()
        for path in sorted(data.iterdir()):
            if path.is_file() and (path.suffix in (".csv", ".json") or path.name == "README.md"):
                copy_data_file(path, work / "data" / path.name)
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(source_date_epoch())}
        result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                                 "--no-build-isolation", "-w", str(work / "dist"), str(work)],
                                capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise RuntimeError("[dxbook] building the package wheel failed:\n" + result.stderr[-2000:])
        shutil.copy2(work / "dist" / wheel_name(root), target)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(target, cached)
    return target


def publish_files(app: Sphinx) -> None:
    """The data files, CITATION.cff and the package wheel, into the site."""
    from defection.paths import data_dir

    out = Path(app.outdir)
    citation = Path(app.srcdir) / "CITATION.cff"
    if citation.is_file():
        shutil.copyfile(citation, out / "CITATION.cff")
    target = out / "data"
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(data_dir().iterdir()):
        if path.suffix in (".csv", ".json") or path.name in ("README.md", "AUDIT.md"):
            copy_data_file(path, target / path.name)
    # The cache lives beside the site, under the build's output folder (make book OUT=...).
    wheel = build_wheel(package_root(), data_dir(), out / "downloads", out.parent / ".dx-wheel")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (out / "downloads" / (wheel.name + ".sha256")).write_text(f"{digest}  {wheel.name}\n")
    logger.info("[dxbook] package wheel: downloads/%s", wheel.name)


def _validate_data(app: Sphinx) -> None:
    """Stop before any chapter runs if ``data/`` does not validate, with the problems and no traceback."""
    from defection.data import DataError, validate

    try:
        validate()
    except DataError as exc:
        raise DataInputError(str(exc)) from None


def neutralise(app: Sphinx) -> None:
    changed = neutralise_site_csv(Path(app.outdir))
    if changed:
        logger.warning("[dxbook] %d CSV file(s) had cells a spreadsheet would run as formulas; "
                       "they were written with a leading ' (see SECURITY.md)", changed)


def setup(app: Sphinx) -> None:
    app.connect("builder-inited", _validate_data)
