"""``config-inited``: the teacher edition (``DX_TEACHER=1``) shows every solution, unfolded."""
from __future__ import annotations

import os

from sphinx.application import Sphinx


def is_teacher_build() -> bool:
    return os.environ.get("DX_TEACHER", "") not in ("", "0")


def _configure(app: Sphinx, config) -> None:
    if is_teacher_build():
        config.togglebutton_selector = ".toggle"
        config.html_title = f"{config.html_title} (teacher edition)"
        config.html_context = {**config.html_context, "dx_teacher": True}


def setup(app: Sphinx) -> None:
    app.connect("config-inited", _configure)
