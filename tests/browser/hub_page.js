// The hub's web pages in headless Chromium (started by crates/cli/tests/hub_browser.rs, which runs a
// hub and pushes the repos): the repo page shows the rendered card, the license and gate banners and
// the file list; hostile HTML in the card (script, img onerror, javascript: link) stays inert text;
// the repo list searches. Env: HUB_URL, HUB_REPO (the gated repo with the card), HUB_OTHER (a second repo).
const { launch, screenshotPath, check, run } = require('./lib/browser');

const HUB = process.env.HUB_URL;
const REPO = process.env.HUB_REPO;
const OTHER = process.env.HUB_OTHER;

run(async () => {
  check(HUB && REPO && OTHER, 'run through `cargo test -p cli --test hub_browser` (HUB_URL, HUB_REPO, HUB_OTHER)');
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const blocked = [];
    page.on('console', (m) => {
      if (m.type() === 'error') blocked.push(m.text());
    });

    const resp = await page.goto(`${HUB}/${REPO}`);
    check(resp.status() === 200, `repo page answered ${resp.status()}`);
    check((await page.locator('h1').first().innerText()).includes(REPO), 'the page is headed by the repo id');

    // Banners.
    const license = page.locator('.banner.license');
    check(await license.isVisible(), 'the license banner is visible');
    check((await license.innerText()).includes('apache-2.0'), `license banner says: ${await license.innerText()}`);
    const gate = page.locator('.banner.gated');
    check(await gate.isVisible(), 'the gate banner is visible');
    check((await gate.innerText()).includes('Tell us what you will build'), `gate banner says: ${await gate.innerText()}`);

    // The card, rendered from Markdown.
    const card = page.locator('section.card');
    check(await card.isVisible(), 'the card is visible');
    check((await card.locator('h1').first().innerText()) === 'Card demo', 'the card heading is rendered as a heading');
    check((await card.locator('strong').first().innerText()) === 'tiny', 'bold text is rendered');
    check((await card.locator('table td').count()) >= 2, 'the Markdown table is rendered');

    // Hostile HTML is shown as text and never runs.
    const text = await card.innerText();
    check(text.includes('<script>window.__pwned=1</script>'), 'the script tag is shown as text');
    check(text.includes('<img src=x onerror="window.__pwned2=1">'), 'the img tag is shown as text');
    check((await card.locator('script').count()) === 0, 'a <script> element made it into the card');
    check((await card.locator('img[onerror]').count()) === 0, 'an <img onerror> element made it into the card');
    const jsLink = card.locator('a', { hasText: 'click me' });
    check((await jsLink.count()) === 1, 'the markdown link is rendered');
    const href = await jsLink.getAttribute('href');
    check(!/^\s*javascript:/i.test(href), `a javascript: link survived: ${href}`);
    await jsLink.click();
    await page.waitForTimeout(300);
    const pwned = await page.evaluate(() => [window.__pwned, window.__pwned2, window.__pwned3]);
    check(pwned.every((v) => v === undefined), `card content ran: ${JSON.stringify(pwned)}`);
    check((await page.locator('script').count()) === 0, 'the page carries no scripts at all');

    // Files with sizes.
    const rows = page.locator('table tr', { has: page.locator('td a') });
    const files = await rows.allInnerTexts();
    for (const f of ['README.md', 'config.json', 'model.safetensors']) {
      check(files.some((r) => r.startsWith(f)), `file list lacks ${f}: ${JSON.stringify(files)}`);
    }
    const weights = rows.filter({ hasText: 'model.safetensors' });
    check(await weights.isVisible(), 'the weights row is visible');
    check((await weights.innerText()).includes('LFS'), 'the weights file is marked LFS');
    check((await weights.innerText()).includes('kB'), `the weights size is human-readable: ${await weights.innerText()}`);
    await page.screenshot({ path: screenshotPath('hub_repo_page.png'), fullPage: true });

    // The repo list: search through the form.
    await page.goto(`${HUB}/`);
    const listed = async () => page.locator('li a').allInnerTexts();
    let all = await listed();
    check(all.includes(REPO) && all.includes(OTHER), `the list shows both repos: ${JSON.stringify(all)}`);
    await page.fill('input[name=search]', 'card-de');
    await Promise.all([page.waitForNavigation(), page.click('form button')]);
    all = await listed();
    check(all.includes(REPO) && !all.includes(OTHER), `search 'card-de' shows only ${REPO}: ${JSON.stringify(all)}`);
    check((await page.inputValue('input[name=search]')) === 'card-de', 'the search box keeps the query');
    await page.screenshot({ path: screenshotPath('hub_search.png'), fullPage: true });
    await page.click(`li a:text-is("${REPO}")`);
    check(page.url().endsWith(`/${REPO}`), `the search result links to the repo page: ${page.url()}`);
    console.log(`hub pages ok; CSP-blocked console errors: ${blocked.length}`);
  } finally {
    await browser.close();
  }
});
