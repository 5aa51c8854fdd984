"""``config-inited``, ``env-get-outdated``, ``env-updated``: a cache that cannot lie.

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

It also makes execution give the same outputs every time (issue 27): the
kernels the build starts read an IPython start-up file (:data:`STARTUP`, in an
``IPYTHONDIR`` of the build's own beside the cache) that sends each cell's
printed text as one message. ipykernel otherwise sends what a cell has printed
every 0.2 s, so a slow cell's table could arrive in two pieces, cut at a
different place in each build; myst-nb's merging of the pieces then strips
whitespace at the cut, and a blank line appeared in a table in some builds and
not in others.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
ENV_KEY = "dx_inputs_digest"

#: The start-up file of the build's kernels. ipykernel has no setting for this
#: (``OutStream.flush_interval`` is a plain attribute), so it is set in the
#: kernel itself; the kernel still sends the text at the end of each cell and
#: before each chart or table it displays, so the order of outputs is kept.
STARTUP = """\
# Written by the book's build (_ext/dxbook/cache.py) for its own kernels only: each cell's printed
# text is sent as one message, so executing a chapter twice gives the same outputs.
import sys as _dx_sys
for _dx_stream in (_dx_sys.stdout, _dx_sys.stderr):
    if hasattr(_dx_stream, "flush_interval"):
        _dx_stream.flush_interval = 24 * 3600.0
del _dx_sys, _dx_stream
"""


def use_whole_streams(folder: Path) -> Path:
    """Write :data:`STARTUP` into an IPython folder under ``folder``, and let kernels started from here use it."""
    startup = Path(folder) / "profile_default" / "startup" / "00-whole-streams.py"
    startup.parent.mkdir(parents=True, exist_ok=True)
    if not startup.is_file() or startup.read_text(encoding="utf-8") != STARTUP:
        startup.write_text(STARTUP, encoding="utf-8")
    os.environ["IPYTHONDIR"] = str(Path(folder).resolve())
    return startup


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
    # A config value of the book's own (computed, not set in _config.yml), not an attribute on app:
    # read-only after config-inited, and kept with the rest of the build's settings.
    config.dx_inputs_digest = f"{inputs[:16]}-{extension[:16]}"
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
    use_whole_streams(root / "ipython")
    logger.info("[dxbook] execution cache for these inputs: %s", keyed)


def _outdated(app: Sphinx, env, added, changed, removed):
    recorded = getattr(env, ENV_KEY, None)
    if recorded != app.config.dx_inputs_digest:
        why = "no record of the inputs" if recorded is None else "data/, the package or the extension changed"
        logger.info("[dxbook] %s: every page is read again", why)
        return [d for d in env.found_docs if d not in added and d not in changed]
    return []


def failed_executions(env) -> list[str]:
    """Pages whose last execution failed (myst-nb's record on ``env``): their outputs are not these inputs'."""
    records = getattr(env, "nb_metadata", {}) or {}
    return sorted(d for d, data in records.items()
                  if (data.get("exec_data") or {}).get("succeeded") is False)


def _record(app: Sphinx, env) -> None:
    # env-updated runs after every page was read (and executed); Sphinx saves the
    # environment after this, so an interrupted build never records the new digest.
    # Nor does a build in which an execution failed (an error, or an interrupt the
    # executor took for a failure): its pages would otherwise stay without outputs.
    failed = failed_executions(env)
    if failed:
        logger.info("[dxbook] execution failed for %s: these inputs are not recorded", ", ".join(failed))
        return
    setattr(env, ENV_KEY, app.config.dx_inputs_digest)


def setup(app: Sphinx) -> None:
    # rebuild "": the extension compares it with the environment's record itself (_outdated), so
    # that only a build that read every page records it.
    app.add_config_value("dx_inputs_digest", "", "", types=[str])
    app.connect("config-inited", _configure, priority=800)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-updated", _record)
