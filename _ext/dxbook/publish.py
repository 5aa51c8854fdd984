"""Files the site serves besides its pages: the dataset, CITATION.cff and the
book's own package as a wheel (``downloads/``), which carries the data, so a
downloaded notebook can install everything it needs from the book itself."""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

def package_root() -> Path:
    """The project the ``defection`` package is developed in (it holds pyproject.toml)."""
    import defection

    return Path(defection.__file__).resolve().parents[1]


def project_version(root: Path | None = None) -> str:
    root = root or package_root()
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def wheel_name(root: Path | None = None) -> str:
    return f"defection-{project_version(root)}-py3-none-any.whl"


def build_wheel(root: Path, data: Path, target_dir: Path) -> Path:
    """Build the package wheel in a scratch copy (the checkout gets no build/ or egg-info)."""
    from .cache import digest

    key = digest([root / "pyproject.toml", root / "defection", data])[:16]
    cached = root / "_build" / ".dx-wheel" / key / wheel_name(root)
    if not cached.is_file():
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            for name in ("pyproject.toml", "README.md", "LICENSE"):
                if (root / name).is_file():
                    shutil.copy2(root / name, work / name)
            shutil.copytree(root / "defection", work / "defection", ignore=shutil.ignore_patterns("__pycache__"))
            shutil.copytree(data, work / "data", ignore=shutil.ignore_patterns("audit", "*.md"))
            shutil.copy2(data / "README.md", work / "data" / "README.md")
            result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                                     "--no-build-isolation", "-w", str(work / "dist"), str(work)],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError("[dxbook] building the package wheel failed:\n" + result.stderr[-2000:])
            cached.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(work / "dist" / wheel_name(root), cached)
    target_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(cached, target_dir / cached.name)
    return target_dir / cached.name


def _publish(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    from defection.paths import data_dir

    out = Path(app.outdir)
    citation = Path(app.srcdir) / "CITATION.cff"
    if citation.is_file():
        shutil.copyfile(citation, out / "CITATION.cff")
    target = out / "data"
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(data_dir().iterdir()):
        if path.suffix in (".csv", ".json") or path.name in ("README.md", "AUDIT.md"):
            shutil.copyfile(path, target / path.name)
    wheel = build_wheel(package_root(), data_dir(), out / "downloads")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    (out / "downloads" / (wheel.name + ".sha256")).write_text(f"{digest}  {wheel.name}\n")
    logger.info("[dxbook] package wheel: downloads/%s", wheel.name)


def setup(app: Sphinx) -> None:
    app.connect("build-finished", _publish, priority=400)
