// Lighthouse CI configuration for `make bench`: bench.py runs `lhci autorun` once per profile, BENCH_LHCI=mobile-gzip
// (serve_gzip.py), mobile or desktop (plain server), with BENCH_BASE_URL, BENCH_PAGES and BENCH_CHROME_FLAGS.
// The assertions are the targets (benchmarks/README.md); bench.py reports lhci's verdicts (a miss is not an error).
const path = require('path');
const {execFileSync} = require('child_process');

const ROOT = path.join(__dirname, '..');
// Defaults for a run by hand come from the Python side (tools/sitekit.py, charts.py), so they are written once.
const py = (expr) => execFileSync(path.join(ROOT, '.venv/bin/python'), ['-c', 'import sys; sys.path[:0] = ' +
  `[".", "benchmarks"]; from tools.sitekit import toc_docnames; import charts; print(${expr})`], {cwd: ROOT})
  .toString().trim();
const profile = process.env.BENCH_LHCI || 'mobile';
const pages = process.env.BENCH_PAGES || py('",".join(toc_docnames())');
const median = (opts) => ['error', {aggregationMethod: 'median', ...opts}]; // the median of the runs
const performance = {'mobile-gzip': 0.95, mobile: 0.9, desktop: 0.98}[profile];
const everyPage = {'categories:performance': median({minScore: performance}), ...(profile === 'mobile-gzip' ? {
  'categories:accessibility': median({minScore: 1}), 'categories:best-practices': median({minScore: 1}),
  'total-blocking-time': median({maxNumericValue: 200}),
  'largest-contentful-paint': median({maxNumericValue: 1500})} : {})};
// Teacher pages ask search engines not to list them (answer material; metadata.TEACHER_PAGES), and Lighthouse's
// "Page is blocked from indexing" audit alone takes 0.34 off their SEO score. So the SEO target is for the other
// pages; that the teacher pages are blocked is checked by bench.py (lhci has no "at most this score" assertion).
const noindex = py('"|".join(__import__("re").escape(p) for p in __import__("dxbook.metadata").metadata.TEACHER_PAGES)');
const seo = profile === 'mobile-gzip' ? [
  {matchingUrlPattern: `^(?!.*/(${noindex}))`, assertions: {'categories:seo': median({minScore: 0.9})}}] : [];
// A numbered chapter's first load, as transferred: uncompressed from the plain server, gzip from serve_gzip.py.
const kb = {'mobile-gzip': 120, mobile: 400}[profile];
const chapters = {matchingUrlPattern: '/chapters/\\d\\d-[^/]*\\.html$',
  assertions: {'total-byte-weight': median({maxNumericValue: kb * 1024})}};

module.exports = {
  ci: {
    collect: {
      url: pages.split(',').map((p) => `${process.env.BENCH_BASE_URL || 'http://127.0.0.1:8000'}/${p}.html`),
      numberOfRuns: 3,
      chromePath: process.env.CHROMIUM || '/usr/bin/chromium',
      settings: {
        ...(profile === 'desktop' ? {preset: 'desktop'} : {}),
        disableFullPageScreenshot: true, // taken after the trace, so no figure changes; saves time on 2 CPUs
        chromeFlags: process.env.BENCH_CHROME_FLAGS || py('" ".join(charts.LIGHTHOUSE_FLAGS)'),
      },
    },
    assert: {
      includePassedAssertions: true,
      assertMatrix: [{matchingUrlPattern: '.*', assertions: everyPage}, ...seo, ...(kb ? [chapters] : [])],
    },
    upload: {target: 'filesystem', outputDir: path.join(__dirname, 'work', 'lhci', profile)},
  },
};
