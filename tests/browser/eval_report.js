// Opens an `agora eval --html` report (REPORT_HTML) in headless Chromium and checks that the
// charts render: SVG charts with visible bars, CI whiskers inside the plot, a reference line;
// no network requests (the report is self-contained). Saves a screenshot.
const { launch, screenshotPath, check, run } = require('./lib/browser');

run(async () => {
  const file = process.env.REPORT_HTML;
  check(file, 'REPORT_HTML must name the report file');
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    const requests = [];
    page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
    await page.goto('file://' + file);
    check((await page.title()).startsWith('Agora eval'), `title: ${await page.title()}`);
    const charts = await page.$$eval('svg.chart', (svgs) => svgs.map((s) => {
      const box = s.getBoundingClientRect();
      const bars = [...s.querySelectorAll('rect.bar')].map((r) => r.getBoundingClientRect());
      return {
        w: box.width, h: box.height,
        bars: bars.length,
        visibleBars: bars.filter((b) => b.width > 0 && b.height > 0).length,
        whiskers: s.querySelectorAll('g.ci').length,
        reference: s.querySelectorAll('line.reference').length,
        inside: bars.every((b) => b.left >= box.left - 1 && b.right <= box.right + 1),
      };
    }));
    console.log(JSON.stringify(charts));
    check(charts.length >= 1, 'at least one chart');
    const c = charts[0];
    check(c.w > 300 && c.h > 100, `chart is laid out (${c.w}x${c.h})`);
    check(c.bars === 7, `six categories and "all" drawn as bars (${c.bars})`);
    check(c.visibleBars >= 1, 'some bars have a visible length');
    check(c.whiskers === c.bars, 'every bar has a confidence-interval whisker');
    check(c.reference === 1, 'the 0.5 reference line is drawn');
    check(c.inside, 'bars stay inside the chart');
    const rows = await page.$$eval('table.metrics tr', (r) => r.length);
    check(rows >= 8, `metric table rows (${rows})`);
    check(requests.length === 0, `no network requests: ${requests.join(', ')}`);
    await page.screenshot({ path: screenshotPath('eval_report.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});
