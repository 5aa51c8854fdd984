// Lighthouse CI configuration for `make bench`: bench.py runs `lhci autorun` with BENCH_LHCI=mobile-gzip (pages
// from serve_gzip.py: gzip + Cache-Control), =mobile and =desktop (plain server), BENCH_BASE_URL (its 127.0.0.1
// server) and BENCH_PAGES (default: every page of _toc.yml). Assertions = targets; bench.py reports failed ones.
const path = require('path');
const {execFileSync} = require('child_process');

const run = process.env.BENCH_LHCI || 'mobile';
const pages = process.env.BENCH_PAGES || execFileSync(path.join(__dirname, '../.venv/bin/python'),
  ['-c', 'from tools.sitekit import toc_docnames; print(",".join(toc_docnames()))'], {cwd: path.join(__dirname, '..')})
  .toString().trim();
const median = (opts) => ['error', {aggregationMethod: 'median-run', ...opts}];
const everyPage = {
  'categories:performance': median({minScore: {'mobile-gzip': 0.95, mobile: 0.9, desktop: 0.98}[run]}),
  'categories:accessibility': median({minScore: 1}),
};
if (run === 'mobile-gzip') {
  everyPage['total-blocking-time'] = median({maxNumericValue: 200});
  everyPage['largest-contentful-paint'] = median({maxNumericValue: 1500});
}
// First load of a numbered chapter, as transferred: uncompressed (plain server), gzip (serve_gzip.py).
const chapterPages = run === 'desktop' ? {} :
  {'total-byte-weight': median({maxNumericValue: (run === 'mobile' ? 400 : 120) * 1024})};

module.exports = {
  ci: {
    collect: {
      url: pages.split(',').map((p) => `${process.env.BENCH_BASE_URL || 'http://127.0.0.1:8000'}/${p}.html`),
      numberOfRuns: 3,
      chromePath: '/usr/bin/chromium',
      settings: {
        ...(run === 'desktop' ? {preset: 'desktop'} : {}),
        // Every host but 127.0.0.1 goes to a closed port: nothing leaves the machine. (`<-loopback>`
        // also sends loopback to the proxy, so 127.0.0.1, where the pages are, is bypassed by name.)
        chromeFlags: '--headless=new --no-sandbox --disable-gpu --proxy-server=http://127.0.0.1:9 ' +
          '--proxy-bypass-list=<-loopback>;127.0.0.1',
      },
    },
    assert: {
      assertMatrix: [
        {matchingUrlPattern: '.*', assertions: everyPage},
        {matchingUrlPattern: '/chapters/\\d\\d-[^/]*\\.html$', assertions: chapterPages},
      ],
    },
    upload: {target: 'filesystem', outputDir: path.join(__dirname, 'work', 'lhci', run)},
  },
};
