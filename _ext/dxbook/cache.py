"""A cache that cannot lie.

jupyter-cache keys an executed notebook on its code cells only, so by itself it
would reuse a chapter executed against old data. Here

* the execution cache lives in a folder named after the digest of every input
  a chapter reads besides its own code: ``data/``, the ``defection`` package
  and ``requirements.txt``. A cache restored from another digest (an older CI
  cache, a copied ``_build``) is simply not the folder this build looks in, and
  a missing record counts as "changed";
* the digest (with this extension's own) is recorded in the Sphinx environment,
  which Sphinx saves only after every page has been read and executed. A build
  interrupted before that leaves the old record, so the next build sees the
  change again and re-renders every page; nothing is stamped "done" early.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
ENV_KEY = "dx_inputs_digest"


def input_paths(srcdir: Path | None = None) -> list[Path]:
    """What executed chapters depend on besides their own code."""
    import defection  # light: the package loads its submodules lazily
    from defection.paths import data_dir

    paths = [data_dir(), Path(defection.__file__).resolve().parent]
    if srcdir is not None and (Path(srcdir) / "requirements.txt").is_file():
        paths.append(Path(srcdir) / "requirements.txt")
    return paths


def digest(paths) -> str:
    """SHA-256 over every file under ``paths`` (relative names and bytes)."""
    h = hashlib.sha256()
    for root in map(Path, paths):
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            name = path.name if root.is_file() else str(path.relative_to(root))
            h.update(name.encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def _configure(app: Sphinx, config) -> None:
    inputs = digest(input_paths(Path(app.srcdir)))
    extension = digest([HERE])
    app.dx_digest = f"{inputs[:16]}-{extension[:16]}"
    root = Path(config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache")
    if root.name.startswith("inputs-"):  # already keyed (configured twice)
        root = root.parent
    keyed = root / f"inputs-{inputs[:16]}"
    # Caches for other inputs can never be used again by this checkout: remove them.
    if root.is_dir():
        for other in root.iterdir():
            if other != keyed and (other.name.startswith("inputs-") or other.name in ("global.db", "executed")):
                shutil.rmtree(other, ignore_errors=True) if other.is_dir() else other.unlink()
    config.nb_execution_cache_path = str(keyed)
    logger.info("[dxbook] execution cache for these inputs: %s", keyed)


def _outdated(app: Sphinx, env, added, changed, removed):
    recorded = getattr(env, ENV_KEY, None)
    if recorded != app.dx_digest:
        why = "no record of the inputs" if recorded is None else "data/, the package or the extension changed"
        logger.info("[dxbook] %s: every page is read again", why)
        return [d for d in env.found_docs if d not in added and d not in changed]
    return []


def _record(app: Sphinx, env) -> None:
    # env-updated runs after every page was read (and executed); Sphinx saves the
    # environment after this, so an interrupted build never records the new digest.
    setattr(env, ENV_KEY, app.dx_digest)


def setup(app: Sphinx) -> None:
    app.connect("config-inited", _configure, priority=800)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-updated", _record)
