"""The offline site ZIP and the frozen editions (``make site-zip``, ``make editions``; both run by ``make pdf``).

    python tools/editions.py zip    --site _build/html
    python tools/editions.py freeze --site _build/html --archive _build/editions [--force]

``zip`` writes the whole built site as one ZIP, ``offline/defection-explained-site-<version>.zip`` in
the site (``offline/``, like ``pdf/``, is kept by the next ``make book`` until made again), that works
opened from disk: unpack it and open ``defection-explained-<version>/index.html``. Pages opened from
``file://`` cannot fetch(), so in the ZIP only:

* each quiz's answer-key file (``_static/quiz/<hash>.json``) also comes as ``<hash>.js``, a script
  that sets ``window.dxQuizKeys``, loaded by the pages that use it; ``dx-quiz.js`` reads it there
  before trying to fetch;
* the charts stay the images drawn at build time (the live charts fetch their Vega specs):
  the pages do not load ``dx-charts.js``;
* the search page lists its results without the text snippets (Sphinx fetches each page for them):
  ``SHOW_SEARCH_SUMMARY`` is off in ``documentation_options.js``.

The ZIP leaves out ``editions/`` (earlier editions), other versions' wheels and itself. Every entry
has the same fixed time stamp (1980-01-01, as the other ZIPs the book makes), in name order, so
the same site gives the same bytes.

``freeze`` makes the current version (``CITATION.cff``) an edition: it copies its files (the book PDF,
the EPUB if made, the site ZIP, the quizzes for learning platforms as one ZIP, the wheel, CITATION.cff)
into ``<archive>/<version>/`` with a ``SHA256SUMS``, unless that folder exists: a published edition
is never rewritten (``--force`` rewrites the current version's, for a broken first publish). It never
touches another version's folder. Then it copies the whole archive into the site's ``editions/``
and every archived wheel into ``downloads/`` (the HTML build does the same, see
``_ext/dxbook/releases.py``). Exit status 1 when a file the edition needs is missing.
"""
from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
from dxbook.lms import ZIP_TIME, reproducible_zip  # noqa: E402,F401 (ZIP_TIME: the fixed time of every member)
from dxbook.releases import copy_archive, edition_files, read_citation  # noqa: E402

_KEYS_ATTR = re.compile(r'data-dx-keys="([^"]+\.json)"')
_QUIZ_SCRIPT = re.compile(r'<script[^>]*src="[^"]*dx/dx-quiz\.js[^"]*"[^>]*>\s*</script>')
_CHARTS_SCRIPT = re.compile(r'<script[^>]*src="[^"]*dx/dx-charts\.js[^"]*"[^>]*>\s*</script>\n?')


def version(root: Path = ROOT) -> str:
    return str(read_citation(root).get("version", ""))


def site_zip_name(v: str) -> str:
    return f"defection-explained-site-{v}.zip"


def _left_out(rel: str, v: str) -> bool:
    parts = rel.split("/")
    if parts[0] in ("editions", "offline") or parts[0].startswith("."):
        return True
    name = parts[-1]
    if re.fullmatch(r"defection-explained-site-.*\.zip", name):
        return True
    m = re.fullmatch(r"defection-(\d+\.\d+\.\d+)-py3-none-any\.whl(?:\.sha256)?", name)
    return bool(m and m.group(1) != v)


def offline_files(site: Path, v: str) -> dict[str, bytes]:
    """The site's files, relative paths to bytes, made to work from file://."""
    files = {}
    for path in sorted(site.rglob("*")):
        rel = path.relative_to(site).as_posix()
        if path.is_file() and not _left_out(rel, v):
            files[rel] = path.read_bytes()
    options = "_static/documentation_options.js"
    if options in files:
        files[options] = re.sub(rb"SHOW_SEARCH_SUMMARY:\s*true", b"SHOW_SEARCH_SUMMARY: false", files[options])
    for rel in [r for r in files if r.endswith(".html")]:
        page = files[rel].decode("utf-8")
        if _CHARTS_SCRIPT.search(page):
            page = _CHARTS_SCRIPT.sub("", page)
            files[rel] = page.encode("utf-8")
        keys = _KEYS_ATTR.search(page)
        if not keys:
            continue
        url = keys.group(1)
        json_rel = (Path(rel).parent / url).as_posix()
        json_rel = str(Path(json_rel)).replace("\\", "/")
        json_rel = _normalise(json_rel)
        if json_rel not in files:
            continue
        script_rel = json_rel[:-len(".json")] + ".js"
        name = json_rel.rsplit("/", 1)[-1]
        files[script_rel] = (b"window.dxQuizKeys = window.dxQuizKeys || {};\nwindow.dxQuizKeys[\"" + name.encode()
                             + b"\"] = " + files[json_rel].strip() + b";\n")
        tag = f'<script defer="defer" src="{url[:-len(".json")]}.js"></script>'
        quiz = _QUIZ_SCRIPT.search(page)
        page = page[:quiz.start()] + tag + page[quiz.start():] if quiz else page.replace("</body>", tag + "</body>", 1)
        files[rel] = page.encode("utf-8")
    return files


def _normalise(rel: str) -> str:
    out: list[str] = []
    for part in rel.split("/"):
        if part == "..":
            out.pop()
        elif part not in (".", ""):
            out.append(part)
    return "/".join(out)


def make_zip(site: Path, v: str) -> Path:
    top = f"defection-explained-{v}/"
    files = {top + rel: data for rel, data in offline_files(site, v).items()}
    files[top + "README.txt"] = (
        f"Defection Explained, version {v}: the whole site, to read offline.\n\n"
        f"Open {top}index.html in a web browser. Everything works from disk except the search\n"
        "results' text snippets and what needs the internet (launching a chapter on Binder or Colab).\n").encode()
    data = reproducible_zip(files)
    target = site / "offline" / site_zip_name(v)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


# --- freezing an edition --------------------------------------------------------------------


def lms_zip(site: Path) -> bytes:
    folder = site / "questions"
    files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    return reproducible_zip(files)


def edition_sources(site: Path, v: str) -> dict[str, Path | bytes]:
    """Each file of the current edition: where it comes from in the built site (or its bytes)."""
    return {
        f"defection-explained-{v}.pdf": site / "pdf" / "defection-explained.pdf",
        f"defection-explained-{v}.epub": site / "offline" / f"defection-explained-{v}.epub",
        site_zip_name(v): site / "offline" / site_zip_name(v),
        f"defection-explained-lms-{v}.zip": lms_zip(site) if (site / "questions").is_dir() else site / "questions",
        f"defection-{v}-py3-none-any.whl": site / "downloads" / f"defection-{v}-py3-none-any.whl",
        f"defection-{v}-py3-none-any.whl.sha256": site / "downloads" / f"defection-{v}-py3-none-any.whl.sha256",
        "CITATION.cff": site / "CITATION.cff",
    }


def freeze(site: Path, archive: Path, force: bool = False, echo=print) -> int:
    v = version()
    folder = archive / v
    if folder.is_dir() and not force:
        echo(f"Edition {v} is already frozen in {folder}; it is not rewritten.")
    else:
        sources = edition_sources(site, v)
        required = [n for n, _ in edition_files(v)] + [f"defection-{v}-py3-none-any.whl.sha256", "CITATION.cff"]
        missing = [n for n in required if isinstance(sources[n], Path) and not sources[n].is_file()]
        if missing:
            echo(f"Edition {v} cannot be frozen: missing " + ", ".join(str(sources[n]) for n in missing))
            return 1
        scratch = archive / f".{v}.next"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        sums = []
        for name, source in sources.items():
            if isinstance(source, Path) and not source.is_file():
                continue  # the EPUB, when it is not made
            data = source if isinstance(source, bytes) else source.read_bytes()
            (scratch / name).write_bytes(data)
            sums.append(f"{hashlib.sha256(data).hexdigest()}  {name}")
        (scratch / "SHA256SUMS").write_text("\n".join(sums) + "\n")
        shutil.rmtree(folder, ignore_errors=True)
        scratch.rename(folder)
        echo(f"Edition {v} frozen in {folder}.")
    versions = copy_archive(archive, site)
    echo(f"The site serves {len(versions)} edition(s) in {site / 'editions'}: {', '.join(versions)}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("zip", "freeze"))
    parser.add_argument("--site", default=str(ROOT / "_build" / "html"))
    parser.add_argument("--archive", default=None, help="the editions archive (default: <site>/../editions)")
    parser.add_argument("--force", action="store_true", help="rewrite the current version's edition")
    args = parser.parse_args(argv)
    site = Path(args.site).resolve()
    if args.command == "zip":
        path = make_zip(site, version())
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")
        return 0
    archive = Path(args.archive).resolve() if args.archive else site.parent / "editions"
    return freeze(site, archive, args.force)


if __name__ == "__main__":
    sys.exit(main())
