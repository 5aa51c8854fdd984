# Defection Explained: one entry point for building, testing and running the book.
#   make book    set up .venv if needed, execute the chapters, build _build/html (replaced only by a
#                successful build; the full output is in _build/build.log)
#   make test    set up, build, and run the whole test suite
#   make serve   serve _build/html (the last good build) on http://127.0.0.1:8000
#   make lab     open the student notebooks in JupyterLab (127.0.0.1), in lab/ (TEACHER=1: with solutions)
#   make pdf     print every page, the whole book and every printable sheet to PDF, into the site (_build/html/pdf);
#                then the EPUB (make epub), the offline site ZIP (make site-zip) and this version's edition (make editions)
#   make epub    the whole book as EPUB 3, checked with epubcheck, into the site (_build/html/offline)
#   make teacher build the teacher edition (all solutions shown) in _build/teacher
#   make lock    regenerate requirements.txt from requirements.in
#   make clean   remove the build and the execution cache (not the editions archive, _build/editions)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The site goes to $(OUT)/_build/html; set OUT to build a private copy elsewhere.
OUT ?= .
BUILDDIR := $(OUT)/_build
PORT ?= 8000
STAMP := $(VENV)/.installed
# pygiftparser reads the GIFT export back in the tests; it pins an old Markdown, so it has a
# virtual environment of its own, installed here (pinned, with hashes), never during a test.
GIFT_STAMP := $(VENV)-gift/.installed
# The editions archive: every release's frozen files (tools/editions.py, _ext/dxbook/releases.py).
EDITIONS ?= $(BUILDDIR)/editions
export DX_EDITIONS := $(abspath $(EDITIONS))

.PHONY: book test serve lab lock clean venv unit pdf teacher site-zip editions epub

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml _ext/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Building the book needs Python 3.11 or later (its tools read TOML with tomllib); the defection package itself runs on 3.10.")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	# The book's Sphinx extension, for its myst-nb chart plugin's entry point (_ext/pyproject.toml).
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e _ext
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 --display-name "Python 3" >/dev/null
	touch $(STAMP)

# tools/build.py runs `jupyter-book build . -W -n --keep-going` into $(BUILDDIR)/.html.next and
# replaces $(BUILDDIR)/html only when the build succeeds; a failed build ends with its reasons
# (file and line) and leaves the last good site as it was. DX_VERBOSE=1 also shows tracebacks.
book: $(STAMP)
	$(BIN)/python tools/build.py --out $(OUT)

test: pdf $(GIFT_STAMP)
	DX_OUT=$(abspath $(OUT)) $(BIN)/python -m pytest -q

$(GIFT_STAMP): tests/requirements-gift.txt
	test -x $(VENV)-gift/bin/python || $(PYTHON) -m venv $(VENV)-gift
	$(VENV)-gift/bin/python -m pip install --quiet --require-hashes -r tests/requirements-gift.txt
	touch $(GIFT_STAMP)

unit: $(STAMP)
	$(BIN)/python -m pytest -q -m "not build and not browser"

teacher: $(STAMP)
	DX_TEACHER=1 $(BIN)/jupyter-book build . --path-output $(BUILDDIR)/teacher -W -n --keep-going
	@echo "The teacher edition (all solutions shown) is in $(BUILDDIR)/teacher/_build/html."

# The PDFs are printed into a scratch folder and moved into the site only when all are made,
# so a failed run leaves the last good PDFs in place.
pdf: book
	rm -rf $(BUILDDIR)/.pdf.next
	$(BIN)/python tools/pdf.py --site $(BUILDDIR)/html --out $(BUILDDIR)/.pdf.next
	rm -rf $(BUILDDIR)/html/pdf.old && { [ ! -d $(BUILDDIR)/html/pdf ] || mv $(BUILDDIR)/html/pdf $(BUILDDIR)/html/pdf.old; }
	mv $(BUILDDIR)/.pdf.next $(BUILDDIR)/html/pdf && rm -rf $(BUILDDIR)/html/pdf.old
	$(BIN)/python tools/epub.py --out $(OUT)
	$(BIN)/python tools/editions.py zip --site $(BUILDDIR)/html
	$(BIN)/python tools/editions.py freeze --site $(BUILDDIR)/html --archive $(EDITIONS)

# The whole book as EPUB 3 (tools/epub.py: Sphinx's epub builder, the same execution cache, no chapter
# executed again), into _build/.epub.next; moved into the site's offline/ only when the build and
# epubcheck (if installed) pass with no error and no warning.
epub: book
	$(BIN)/python tools/epub.py --out $(OUT)

# The whole site as one ZIP that works opened from disk (file://), into the site's offline/ folder.
site-zip: book
	$(BIN)/python tools/editions.py zip --site $(BUILDDIR)/html

# Freeze this version (CITATION.cff) as an edition, once: its PDF, EPUB, site ZIP, quiz files and
# wheel are copied into $(EDITIONS)/<version>/, and every edition there is served as editions/.
# See README.md, "Editions". (make pdf does this; it needs the PDF and the site ZIP.)
editions:
	$(BIN)/python tools/editions.py freeze --site $(BUILDDIR)/html --archive $(EDITIONS)

serve:
	@echo "Serving $(BUILDDIR)/html on http://127.0.0.1:$(PORT)/ (Ctrl-C to stop)"
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory $(BUILDDIR)/html

# The student notebooks (plain Jupyter, no solutions) in a working folder of your own:
# your edits stay in lab/ and never touch chapters/. `make lab TEACHER=1` opens the
# teacher notebooks (with solutions) in lab-teacher/ instead. Existing files are kept.
LABDIR = $(if $(TEACHER),lab-teacher,lab)
NBDIR = $(if $(TEACHER),$(BUILDDIR)/html/notebooks/teacher,$(BUILDDIR)/html/_sources/chapters)
lab: book
	mkdir -p $(LABDIR)
	for nb in $(NBDIR)/*.ipynb; do test -e $(LABDIR)/$$(basename $$nb) || cp $$nb $(LABDIR)/; done
	$(BIN)/jupyter lab --ip 127.0.0.1 --no-browser --notebook-dir=$(LABDIR) $(if $(filter 0,$(shell id -u)),--allow-root) $(LABFLAGS)

lock:
	rm -rf /tmp/dx-lock && $(PYTHON) -m venv /tmp/dx-lock
	/tmp/dx-lock/bin/pip install --quiet pip-tools
	/tmp/dx-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links -o requirements.txt requirements.in

clean:
	[ ! -d $(BUILDDIR) ] || find $(BUILDDIR) -mindepth 1 -maxdepth 1 ! -name editions -exec rm -rf {} +

# make bench   benchmarks (not tests) on standard tools: hyperfine (build times, in a private copy), Lighthouse CI
#              and Playwright (chart probes). `make bench PAGES=intro,chapters/01-how-defection-works` measures only
#              those pages; QUICK=1 runs everything once instead of 3 times. Installs @lhci/cli (npm ci) itself.
#              Writes benchmarks/RESULTS.md; exits 0 on a missed target. See benchmarks/README.md.
.PHONY: bench
bench: $(STAMP)
	@command -v npm >/dev/null || { echo "make bench needs Node >= 18.20 and npm: https://nodejs.org (Debian 13: sudo apt-get install nodejs npm)"; exit 1; }
	@test -x "$${CHROMIUM:-/usr/bin/chromium}" || { echo "make bench needs Chromium: sudo apt-get install chromium"; exit 1; }
	@command -v hyperfine >/dev/null || echo "hyperfine is missing, so builds are not timed: sudo apt-get install hyperfine"
	[ benchmarks/node_modules/.package-lock.json -nt benchmarks/package-lock.json ] || npm ci --prefix benchmarks --no-audit --no-fund
	BENCH_PAGES="$(PAGES)" BENCH_RUNS=$(if $(QUICK),1,3) $(abspath $(BIN))/python benchmarks/bench.py
