"""Build the book so that a failed build publishes nothing (``make book``).

    python tools/build.py [--out DIR]        # the site goes to DIR/_build/html (DIR defaults to the repository)

What it does, and why:

* Sphinx builds into a scratch folder, ``_build/.html.next``, next to the
  published ``_build/html``. Because both sit in ``_build``, everything Sphinx
  and myst-nb keep beside the output folder stays where it always was and keeps
  working across builds: the execution cache (``_build/.jupyter_cache``), the
  doctrees (``_build/.doctrees``) and the executed notebooks
  (``_build/jupyter_execute``). The scratch folder is kept between builds, so
  the next build is incremental; the first time, it starts as a copy of the
  published site (modification times kept).
* Only when the build succeeds (exit status 0 under ``-W --keep-going``, so no
  warning either) is the scratch folder copied and the copy swapped with
  ``_build/html`` in one atomic ``renameat2(RENAME_EXCHANGE)`` (two renames
  where the kernel lacks it). A failed or interrupted build leaves
  ``_build/html``, the last good site, byte for byte as it was: ``make serve``
  and anyone copying the folder get that site. (The published folder is a
  copy, not hard links to the scratch folder, because Sphinx rewrites files in
  place and would change the published ones through a shared link.) The PDFs
  that ``make pdf`` prints into the published site (``pdf/``) are carried over
  until ``make pdf`` prints them again.
* The whole output goes to ``_build/build.log``. On the terminal, tracebacks
  are left out unless ``DX_VERBOSE=1``; on failure the build ends with the
  short reasons (each naming file and line or row) and the log's path.

Exit status: 0 when the site was published, 1 when the build failed.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tools.sitekit import build_cli  # noqa: E402

STAGE = ".html.next"      # the scratch output folder, in <out>/_build
INCOMING = ".html.incoming"  # the copy that is swapped in

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --- publishing -------------------------------------------------------------------


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    return renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0


#: Folders that other tools write into the published site after the build (``make pdf``
#: prints into ``_build/html/pdf``; the site ZIP and EPUB go to ``offline``, see
#: tools/editions.py): a new site keeps the last ones until they are made again.
KEEP = ("pdf", "offline")


def publish(stage: Path, live: Path) -> None:
    """Make ``live`` a copy of ``stage``, replacing it in one step."""
    incoming = live.parent / INCOMING
    shutil.rmtree(incoming, ignore_errors=True)
    shutil.copytree(stage, incoming, symlinks=True)
    for name in KEEP:
        if (live / name).is_dir() and not (incoming / name).exists():
            shutil.copytree(live / name, incoming / name, symlinks=True)
    if not live.exists():
        os.rename(incoming, live)
    elif _exchange(incoming, live):
        shutil.rmtree(incoming)  # now the previous site
    else:
        old = live.parent / ".html.previous"
        shutil.rmtree(old, ignore_errors=True)
        os.rename(live, old)
        os.rename(incoming, live)
        shutil.rmtree(old)


def seed(stage: Path, live: Path) -> None:
    """Start the scratch folder from the published site, so the first build is incremental."""
    if not stage.exists() and live.is_dir():
        shutil.copytree(live, stage, symlinks=True)


# --- reading the output -------------------------------------------------------------

_WARNING = re.compile(r"^(?P<where>\S[^\n]*?): (?P<level>WARNING|ERROR|CRITICAL|SEVERE): (?P<msg>.*)$")
_CATEGORY = re.compile(r"^(?P<cat>[A-Z][A-Za-z ]*error|Extension error|Configuration error|Data error|"
                       r"Theme error|Build environment error|Sphinx error):$", re.I)
_EXC_LINE = re.compile(r"^(?:[\w.]+\.)?(?P<cls>[A-Z]\w*(?:Error|Exception))(?:: (?P<msg>.*))?$")
_BOILER = ("The full traceback has been saved", "Please also report this", "A bug report can be filed",
           "Traceback (most recent call last)", "Exception occurred:", "There was an error in building",
           "Look above for the cause", "Running Jupyter-Book", "====")


_CELL_ERROR = re.compile(r"^(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception|Interrupt|Exit): .+$")


def _cell_line(where: str, source: list[str], srcdir: Path) -> str:
    """``:N``, the line of the chapter where the failing cell's code starts, if found."""
    first = next((line for line in source if line.strip()), None)
    path = Path(where) if Path(where).is_absolute() else srcdir / where
    if first is None or not path.is_file():
        return ""
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if line.rstrip() == first.rstrip():
            return f":{number}"
    return ""


def _short_path(text: str, srcdir: Path) -> str:
    return text.replace(str(srcdir) + os.sep, "")


def reasons(log: str, srcdir: Path = ROOT, limit: int = 12) -> list[str]:
    """The lines of a build log that say what is wrong, and where, without tracebacks."""
    lines = [_ANSI.sub("", line).rstrip() for line in log.splitlines()]
    found: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _WARNING.match(line)
        if m and "Executing notebook failed" in m.group("msg"):
            # myst-nb: the failing cell's source between dashes, then the kernel's traceback.
            i, where, source, error = i + 1, m.group("where"), [], None
            while i < len(lines) and "[mystnb.exec]" not in lines[i]:
                if lines[i] == "-" * 18 and not source:
                    i += 1
                    while i < len(lines) and lines[i] != "-" * 18:
                        source.append(lines[i])
                        i += 1
                elif (e := _CELL_ERROR.match(lines[i])) and not lines[i].startswith("nbclient"):
                    error = lines[i]
                i += 1
            found.append(f"{where}{_cell_line(where, source, srcdir)}: a code cell failed: "
                         f"{error or 'see the log'}")
        elif m and "[dxbook] execution cache" not in line:
            found.append(f"{m.group('where')}: {m.group('msg')}")
        elif _CATEGORY.match(line) and i + 1 < len(lines):
            # Sphinx's report of a SphinxError: "Data error:" then the message.
            i += 1
            while i < len(lines) and lines[i].strip() and not lines[i].startswith(_BOILER):
                found.append(lines[i].strip())
                i += 1
            continue
        elif line.startswith("Exception occurred:"):
            # Sphinx's report of another exception: cut frames, then "module.Error: message" and its lines.
            i += 1
            while i < len(lines) and (lines[i].startswith(" ") or not _EXC_LINE.match(lines[i])):
                if lines[i].startswith(_BOILER):
                    break
                i += 1
            if i < len(lines) and (m := _EXC_LINE.match(lines[i])):
                if m.group("cls") == "ExecutionError":  # myst-nb repeating a failed notebook's path
                    i += 1
                    continue
                found.append(m.group("msg") or m.group("cls"))
                i += 1
                while i < len(lines) and lines[i].strip() and not lines[i].startswith(_BOILER):
                    found.append(lines[i].strip())
                    i += 1
            continue
        i += 1
    out = list(dict.fromkeys(_short_path(r, srcdir) for r in found if r))
    if len(out) > limit:
        out = out[:limit] + [f"... and {len(out) - limit} more (see the log)"]
    return out


class _Filter:
    """Pass build output through, leaving tracebacks out (they stay in the log)."""

    def __init__(self, verbose: bool):
        self.verbose, self.skipping = verbose, False

    def __call__(self, line: str) -> str | None:
        if self.verbose:
            return line
        plain = _ANSI.sub("", line)
        if plain.startswith(("Traceback (most recent call last)", "Exception occurred:")):
            self.skipping = True
            return None
        if self.skipping:
            if plain.startswith(" ") or plain.startswith(_BOILER) or not plain.strip():
                return None
            self.skipping = False
        if plain.startswith(_BOILER[:3]):
            return None
        return line


# --- the build ---------------------------------------------------------------------


def sphinx_main(srcdir: Path, outdir: Path) -> int:
    """What ``jupyter-book build SRC -W -n --keep-going`` does, into ``outdir``."""
    from jupyter_book.sphinx import build_sphinx
    from jupyter_book.cli.main import find_config_path

    found = find_config_path(srcdir)
    config = found[0].joinpath("_config.yml") if found[1] else None
    result = build_sphinx(srcdir, outdir, use_external_toc=True, noconfig=True, path_config=config,
                          confoverrides={"external_toc_path": (srcdir / "_toc.yml").as_posix(),
                                         "latex_individualpages": False, "nitpicky": True},
                          builder="html", warningiserror=True, keep_going=True,
                          verbosity=1 if os.environ.get("DX_VERBOSE") else 0)
    return result if isinstance(result, int) else 1


def build(out: Path, srcdir: Path = ROOT, verbose: bool = False, echo=print) -> int:
    builddir = out / "_build"
    live, stage = builddir / "html", builddir / STAGE
    builddir.mkdir(parents=True, exist_ok=True)
    seed(stage, live)
    log_path = builddir / "build.log"
    # The editions archive (every release's frozen files; _ext/dxbook/releases.py) beside the build.
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "DX_EDITIONS": os.environ.get("DX_EDITIONS") or str(builddir / "editions")}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--sphinx", str(srcdir), str(stage)]
    keep = _Filter(verbose)
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                encoding="utf-8", errors="replace", env=env, cwd=srcdir)
        assert proc.stdout is not None
        captured = []
        for line in proc.stdout:
            log.write(line)
            captured.append(line)
            shown = keep(line.rstrip("\n"))
            if shown is not None:
                echo(shown)
        status = proc.wait()
    if status == 0 and (stage / "index.html").is_file():
        publish(stage, live)
        echo(f"The site is in {live}: open {live / 'index.html'} or run 'make serve'.")
        return 0
    why = reasons("".join(captured), srcdir)
    echo("")
    echo(f"The build failed; {live} was not changed" + (" (it still holds the last good site)." if live.is_dir()
                                                        else " (there is no site yet)."))
    for reason in why or ["(no reason found in the output: read the log)"]:
        echo(f"  {reason}")
    echo(f"Full output: {log_path}" + ("" if verbose else "; DX_VERBOSE=1 also shows the tracebacks."))
    return 1


def main(argv=None) -> int:
    return build_cli(argv, __doc__, "the site goes to OUT/_build/html",
                     lambda src, out: sphinx_main(Path(src).resolve(), Path(out).resolve()), build)


if __name__ == "__main__":
    sys.exit(main())
