"""Build the whole book as EPUB 3 into the site (``make epub``; ``make pdf`` runs it too).

    python tools/epub.py [--out DIR]      # the site is DIR/_build/html (DIR defaults to the repository)

Sphinx's own ``epub`` builder reads the same sources with the same configuration
as the site (``tools/build.py``), into a scratch folder ``<out>/_build/.epub.next``
with its own doctrees (``.doctrees-epub``), so the site's incremental build is not
disturbed. The execution cache (``<out>/_build/.jupyter_cache``, keyed by
``_ext/dxbook/cache.py``) is the site's, so no chapter is executed again after
``make book``. What the EPUB needs beyond Sphinx (charts as images with their text
alternative, the quiz with its answers, no script, the cover and metadata from
``CITATION.cff``) is done in ``_ext/dxbook/epub.py``, in the EPUB builder's own hooks.

The EPUB is then checked with epubcheck (Debian's ``epubcheck``) when it is
installed, and only a build that succeeded with no warning and passed epubcheck
with no error and no warning is moved into the site, as
``<site>/offline/defection-explained-<version>.epub`` (version from ``CITATION.cff``),
replacing the last one in one rename. A failed build leaves the last good EPUB.

Exit status: 0 when the EPUB was published, 1 otherwise.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
sys.path.insert(0, str(ROOT))
from tools.build import _Filter, reasons  # noqa: E402
from tools.sitekit import build_cli  # noqa: E402
from dxbook.epub import OFFLINE_DIR, epub_name  # noqa: E402
from dxbook.releases import read_citation  # noqa: E402

STAGE = ".epub.next"
DOCTREES = ".doctrees-epub"


def epubcheck_command() -> list[str] | None:
    """How to run epubcheck here, or None. Debian's ``/usr/bin/epubcheck`` is a link to the
    jar itself (it runs directly only where binfmt's jarwrapper is set up), so run the jar with java."""
    found = shutil.which("epubcheck")
    jar = Path(found).resolve() if found else Path("/usr/share/java/epubcheck.jar")
    if jar.suffix == ".jar":
        return ["java", "-jar", str(jar)] if jar.is_file() and shutil.which("java") else None
    return [found] if found else None


def epubcheck(path: Path) -> tuple[bool, str]:
    """(clean, output): clean means no error, no warning (epubcheck exits 0 also with warnings)."""
    cmd = epubcheck_command()
    if cmd is None:
        return True, "epubcheck is not installed: not checked (Debian: sudo apt-get install epubcheck)"
    proc = subprocess.run(cmd + [str(path)], capture_output=True, text=True, encoding="utf-8", errors="replace")
    output = (proc.stdout + proc.stderr).strip()
    flagged = [line for line in output.splitlines() if line.startswith(("ERROR", "WARNING", "FATAL"))]
    return proc.returncode == 0 and not flagged, output


def sphinx_main(srcdir: Path, outdir: Path, doctreedir: Path, version: str) -> int:
    """``jupyter-book build SRC --builder custom --custom-builder epub -W -n --keep-going``, into ``outdir``."""
    from jupyter_book.sphinx import build_sphinx
    from jupyter_book.cli.main import find_config_path

    found = find_config_path(srcdir)
    config = found[0].joinpath("_config.yml") if found[1] else None
    result = build_sphinx(srcdir, outdir, doctreedir=doctreedir, use_external_toc=True, noconfig=True,
                          path_config=config,
                          confoverrides={"external_toc_path": (srcdir / "_toc.yml").as_posix(),
                                         "latex_individualpages": False, "nitpicky": True,
                                         # EPUB 3 asks for a version; only this build sets it.
                                         "version": version, "release": version},
                          builder="epub", warningiserror=True, keep_going=True,
                          verbosity=1 if os.environ.get("DX_VERBOSE") else 0)
    return result if isinstance(result, int) else 1


def build(out: Path, srcdir: Path = ROOT, verbose: bool = False, echo=print) -> int:
    started = time.monotonic()
    builddir = out / "_build"
    site = builddir / "html"
    stage, doctrees = builddir / STAGE, builddir / DOCTREES
    version = str(read_citation(srcdir).get("version", ""))
    name = epub_name(version)
    builddir.mkdir(parents=True, exist_ok=True)
    log_path = builddir / "epub.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "DX_EDITIONS": os.environ.get("DX_EDITIONS") or str(builddir / "editions")}
    (stage / name).unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--sphinx", str(srcdir), str(stage), str(doctrees), version]
    keep = _Filter(verbose)
    captured = []
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                encoding="utf-8", errors="replace", env=env, cwd=srcdir)
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            captured.append(line)
            shown = keep(line.rstrip("\n"))
            if shown is not None:
                echo(shown)
        status = proc.wait()
        made = stage / name
        if status != 0 or not made.is_file():
            echo("")
            echo(f"The EPUB build failed; {site / OFFLINE_DIR / name} was not changed.")
            for reason in reasons("".join(captured), srcdir) or ["(no reason found in the output: read the log)"]:
                echo(f"  {reason}")
            echo(f"Full output: {log_path}")
            return 1
        clean, report = epubcheck(made)
        log.write("\n--- epubcheck ---\n" + report + "\n")
    echo(report)
    if not clean:
        echo(f"epubcheck found problems; {site / OFFLINE_DIR / name} was not changed. Full output: {log_path}")
        return 1
    target = site / OFFLINE_DIR / name
    target.parent.mkdir(parents=True, exist_ok=True)
    incoming = target.with_name(f".{name}.incoming")
    shutil.copyfile(made, incoming)
    os.replace(incoming, target)
    echo(f"The EPUB is {target} ({target.stat().st_size // 1024} KB, built in "
         f"{time.monotonic() - started:.0f} s).")
    return 0


def main(argv=None) -> int:
    return build_cli(argv, __doc__, "the site is OUT/_build/html; the EPUB goes to its offline/",
                     lambda src, out, doctrees, tag: sphinx_main(Path(src).resolve(), Path(out).resolve(),
                                                                 Path(doctrees).resolve(), tag), build)


if __name__ == "__main__":
    sys.exit(main())
