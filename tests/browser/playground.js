// End-to-end test of the playground at `/` against a running `agora serve` with two real models
// and an API key (started by crates/cli/tests/playground_browser.rs). Env: AGORA_URL (server
// root), AGORA_KEY, MODEL_A, MODEL_B (ids served).
const fs = require('fs');
const { launch, screenshotPath, check, run } = require('./lib/browser');

const URL = process.env.AGORA_URL;
const KEY = process.env.AGORA_KEY;
const [A, B] = [process.env.MODEL_A, process.env.MODEL_B];
const INJECTION = '<script>window.__pwned=1</script>';
const IMG = '<img src=x onerror=window.__pwned=2>';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `fn` in the page until it returns truthy; fails with `what` after `ms`.
async function until(page, what, fn, arg, ms = 120000) {
  const t = Date.now();
  for (;;) {
    const v = await page.evaluate(fn, arg);
    if (v) return v;
    if (Date.now() - t > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const lastAnswer = () => {
  const all = document.querySelectorAll('#messages .msg.assistant .body, #messages .msg.error .body');
  return all.length ? all[all.length - 1].textContent : '';
};
const idle = () => !document.getElementById('send').disabled && document.getElementById('stop').disabled;

async function settings(page, s) {
  for (const [id, v] of Object.entries(s)) await page.fill(`#${id}`, String(v));
}

// Sends `prompt` with Enter and records the answer's length while it streams.
async function sendAndWatch(page, prompt) {
  await page.fill('#prompt', prompt);
  await page.press('#prompt', 'Enter');
  await until(page, 'the request to start', () => document.getElementById('send').disabled);
  const lengths = [];
  while (!(await page.evaluate(idle))) {
    const n = (await page.evaluate(lastAnswer)).length;
    if (n > 0 && n !== lengths[lengths.length - 1]) lengths.push(n);
    await sleep(20);
  }
  return lengths;
}

run(async () => {
  check(URL && KEY && A && B, 'set AGORA_URL, AGORA_KEY, MODEL_A and MODEL_B');
  const browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && !/401/.test(m.text()) && errors.push(`console: ${m.text()}`));
  try {
    // 1. The page loads without a key, has a strict CSP, and asks for the key the API needs.
    const resp = await page.goto(`${URL}/`);
    check(resp.status() === 200, `GET / is ${resp.status()}`);
    const csp = resp.headers()['content-security-policy'] || '';
    check(csp.includes("default-src 'self'") && csp.includes("script-src 'self'") && !csp.includes('unsafe-inline'), `CSP header: ${csp}`);
    await page.waitForSelector('#keybox:not([hidden])', { timeout: 20000 });
    await page.screenshot({ path: screenshotPath('playground-01-key.png') });
    await page.fill('#api-key', 'wrong-key');
    await page.press('#api-key', 'Enter');
    await page.waitForSelector('#key-error:not([hidden])');
    await page.fill('#api-key', KEY);
    await page.click('#key-save');
    await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
    check(await page.isHidden('#keybox'), 'the key box stays open after a good key');
    const ids = await page.$$eval('#model option', (o) => o.map((x) => x.value));
    check(ids.includes(A) && ids.includes(B), `model picker lists ${A} and ${B}: ${ids}`);

    // 2. The card panel shows the license of the selected model.
    const license = await page.textContent('#license');
    check(/gemma/i.test(license), `license panel shows the Gemma license: ${license}`);
    const info = await page.textContent('#model-info');
    check(info.includes('Required attribution') && info.includes('Q4_K_M'), `card panel: ${info}`);

    // 3. Chat: a streamed answer grows in several steps; TTFT and tok/s shown.
    await page.selectOption('#model', A);
    await settings(page, { temperature: 0, 'max-tokens': 48, seed: 7 });
    const lengths = await sendAndWatch(page, 'Write three sentences about the sea.');
    const answer = await page.evaluate(lastAnswer);
    check(answer.length > 20, `an answer came: ${JSON.stringify(answer)}`);
    check(lengths.length >= 3, `the answer streamed (lengths seen: ${lengths})`);
    const stats = await page.textContent('#messages .msg.assistant:last-child .stats');
    check(/TTFT \d+ ms/.test(stats) && /\d+(\.\d+)? tok\/s/.test(stats), `stats line: ${stats}`);
    await page.screenshot({ path: screenshotPath('playground-02-chat.png') });

    // 4. Stop a long answer with Esc: it stops growing and the UI is ready again.
    await page.check('#ignore-eos');
    await settings(page, { 'max-tokens': 3000 });
    await page.fill('#prompt', 'Count from 1 to 1000, one number per line.');
    await page.press('#prompt', 'Enter');
    await until(page, 'the long answer to grow', () => {
      const all = document.querySelectorAll('#messages .msg.assistant .body');
      return all.length && all[all.length - 1].textContent.length > 60;
    });
    check(!(await page.evaluate(idle)), 'the long answer is still running before Esc');
    await page.keyboard.press('Escape');
    await until(page, 'the UI to be ready after stop', idle, undefined, 10000);
    const stopped = (await page.evaluate(lastAnswer)).length;
    await sleep(1500);
    check((await page.evaluate(lastAnswer)).length === stopped, 'the answer kept growing after stop');
    const stopStats = await page.textContent('#messages .msg.assistant:last-child .stats');
    check(stopStats.includes('stopped'), `stopped answer is marked: ${stopStats}`);
    await page.screenshot({ path: screenshotPath('playground-03-stopped.png') });
    await page.uncheck('#ignore-eos');

    // 5. Model output with HTML is shown as text and never runs (Gemma 270M echoes both at temp 0):
    //    an <img onerror> would run if parsed as HTML; a <script> would at least become an element.
    await page.click('#new-chat');
    await settings(page, { 'max-tokens': 24 });
    await sendAndWatch(page, `Repeat exactly: ${IMG}`);
    const img = await page.evaluate(lastAnswer);
    check(img.includes(IMG), `the model echoed the img tag as text: ${JSON.stringify(img)}`);
    check(await page.evaluate(() => typeof window.__pwned === 'undefined' && !document.querySelector('#messages img')), 'the img from model output became an element');
    await page.click('#new-chat');
    await sendAndWatch(page, `Repeat exactly: ${INJECTION}`);
    const echoed = await page.evaluate(lastAnswer);
    check(echoed.includes(INJECTION), `the model echoed the script tag as text: ${JSON.stringify(echoed)}`);
    const injected = await page.evaluate(() => ({
      pwned: typeof window.__pwned,
      elements: document.querySelectorAll('#messages script, #messages img, #messages iframe').length,
      scripts: [...document.scripts].map((s) => s.src),
    }));
    check(injected.pwned === 'undefined', 'window.__pwned was set: the script ran');
    check(injected.elements === 0, 'model output became HTML elements');
    check(injected.scripts.length === 1 && injected.scripts[0].endsWith('/playground/app.js'), `scripts in page: ${injected.scripts}`);
    await page.screenshot({ path: screenshotPath('playground-04-injection.png') });

    // 6. The conversation survives a reload (localStorage), the key the tab (sessionStorage);
    //    the export is the conversation as JSON.
    await page.reload();
    await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
    check((await page.$$('#messages .msg')).length === 2, 'the conversation is kept across a reload');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const exported = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
    check(exported.messages.length === 2 && exported.messages[1].content.includes(INJECTION) && exported.messages[1].stats.ttft_ms > 0, `export: ${JSON.stringify(exported).slice(0, 300)}`);

    // 7. Compare: the same prompt to both models, side by side, with log-probs on hover.
    await page.click('#tab-compare');
    await page.check(`#compare-models input[value="${A}"]`);
    await page.check(`#compare-models input[value="${B}"]`);
    await settings(page, { 'max-tokens': 32 });
    await page.fill('#compare-prompt', 'Name three colors of the rainbow.');
    await page.press('#compare-prompt', 'Enter');
    await until(page, 'both columns to start', () => document.querySelectorAll('#compare-cols .col .tok').length > 0);
    const grow = [];
    while (await page.evaluate(() => document.getElementById('compare-send').disabled)) {
      grow.push(await page.$$eval('#compare-cols .col .answer', (c) => c.map((x) => x.textContent.length).join(',')));
      await sleep(50);
    }
    const cols = await page.$$eval('#compare-cols .col', (c) => c.map((x) => ({ model: x.dataset.model, text: x.querySelector('.answer').textContent, toks: x.querySelectorAll('.tok').length, stats: x.querySelector('.stats').textContent })));
    check(cols.length === 2 && cols.map((c) => c.model).join() === [A, B].join(), `two columns: ${JSON.stringify(cols)}`);
    for (const c of cols) check(c.text.trim().length > 0 && c.toks > 1 && /TTFT/.test(c.stats), `column ${c.model} filled: ${JSON.stringify(c)}`);
    check(new Set(grow).size >= 3, `the columns streamed (${grow.length} samples)`);
    await page.hover('#compare-cols .col:nth-child(2) .tok:nth-child(2)');
    await page.waitForSelector('#tip:not([hidden])');
    const tip = await page.textContent('#tip');
    check(/logprob -?\d/.test(tip) && tip.includes('top:'), `log-prob tooltip: ${tip}`);
    await page.screenshot({ path: screenshotPath('playground-05-compare.png') });

    // 8. Phone width: one column, no sideways scrolling.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.click('#tab-chat');
    const layout = await page.evaluate(() => {
      const x = (sel) => document.querySelector(sel).getBoundingClientRect();
      return { main: x('main'), settings: x('aside.settings'), scroll: document.documentElement.scrollWidth };
    });
    check(Math.abs(layout.main.left - layout.settings.left) < 2 && layout.settings.top > layout.main.top, `one column under 700px: ${JSON.stringify(layout)}`);
    check(layout.scroll <= 391, `no horizontal scroll on a phone (${layout.scroll}px wide)`);
    await page.screenshot({ path: screenshotPath('playground-06-phone.png'), fullPage: true });

    // 9. Keyboard: Tab reaches the controls with a visible focus ring.
    await page.focus('#prompt');
    await page.keyboard.press('Tab');
    const ring = await page.evaluate(() => {
      const a = document.activeElement;
      return { id: a.id, outline: getComputedStyle(a).outlineStyle };
    });
    check(ring.id === 'send' && ring.outline !== 'none', `Tab from the prompt reaches Send with a focus ring: ${JSON.stringify(ring)}`);

    check(errors.length === 0, `errors in the page:\n${errors.join('\n')}`);
    console.log(`playground ok: streamed lengths ${lengths.join(',')}; stopped at ${stopped} chars; compare ${cols.map((c) => `${c.model}: ${c.toks} tokens`).join('; ')}`);
  } catch (e) {
    await page.screenshot({ path: screenshotPath('playground-failure.png'), fullPage: true }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
});
