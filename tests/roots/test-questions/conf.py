from pathlib import Path

import defection

exec((Path(defection.__file__).resolve().parents[1] / "tests" / "roots" / "base_conf.py").read_text(encoding="utf-8"))
