"""Files the site serves besides its pages: the dataset and CITATION.cff."""
from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx


def _copy_data(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    from defection.paths import data_dir

    citation = Path(app.srcdir) / "CITATION.cff"
    if citation.is_file():
        shutil.copyfile(citation, Path(app.outdir) / "CITATION.cff")
    target = Path(app.outdir) / "data"
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(data_dir().iterdir()):
        if path.suffix in (".csv", ".json") or path.name == "README.md":
            shutil.copyfile(path, target / path.name)


def setup(app: Sphinx) -> None:
    app.connect("build-finished", _copy_data)
