from pathlib import Path

import defection

exec((Path(defection.__file__).resolve().parents[1] / "tests" / "roots" / "base_conf.py").read_text(encoding="utf-8"))
extensions.append("sphinx_sitemap")  # the sheets get a sitemap entry like every page
sitemap_url_scheme = "{link}"
