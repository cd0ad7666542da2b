// The playground's LoRA adapter picker against `agora serve BASE --lora NAME=DIR ...` (started by
// crates/cli/tests/lora_serve.rs). Env: AGORA_URL (server root), BASE_ID, ADAPTERS (comma list),
// ANSWER_<NAME> and ANSWER_BASE: the text each gives for the prompt PROMPT (from the same server).
const { launch, screenshotPath, check, run } = require('./lib/browser');

const URL = process.env.AGORA_URL;
const BASE = process.env.BASE_ID;
const ADAPTERS = (process.env.ADAPTERS || '').split(',').filter(Boolean);
const PROMPT = process.env.PROMPT;

// The last answer as the page keeps it (raw text, before Markdown rendering) and the model it names.
const lastAnswer = () => {
  const c = JSON.parse(localStorage.getItem('agora.conversation') || '[]');
  const a = c[c.length - 1] || {};
  return { role: a.role, content: a.content, model: a.model };
};
const idle = () => !document.getElementById('send').disabled && document.getElementById('stop').disabled;

run(async () => {
  check(URL && BASE && ADAPTERS.length && PROMPT, 'set AGORA_URL, BASE_ID, ADAPTERS and PROMPT');
  const browser = await launch();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  // The `model` of every chat request the page sends.
  const sent = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/v1/chat/completions') && r.method() === 'POST') sent.push(JSON.parse(r.postData()).model);
  });
  try {
    await page.goto(`${URL}/`);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
    // Bases in the model picker; the adapters in the adapter picker, shown because the base has some.
    const models = await page.$$eval('#model option', (o) => o.map((x) => x.value));
    check(JSON.stringify(models) === JSON.stringify([BASE]), `model picker lists only the base: ${models}`);
    check(await page.isVisible('#adapter-row'), 'the adapter picker is hidden although the base has adapters');
    const options = await page.$$eval('#adapter option', (o) => o.map((x) => x.value));
    check(JSON.stringify(options) === JSON.stringify(['', ...ADAPTERS]), `adapter picker offers none + ${ADAPTERS}: ${options}`);
    await page.fill('#temperature', '0');
    await page.fill('#max-tokens', '8');
    // One turn per choice, each in a fresh conversation: the request names the adapter (or the
    // base for "none") and the answer is that model's.
    for (const choice of ['', ...ADAPTERS]) {
      await page.click('#new-chat');
      await page.selectOption('#adapter', choice);
      await page.fill('#prompt', PROMPT);
      await page.press('#prompt', 'Enter');
      await page.waitForFunction(() => document.getElementById('send').disabled || document.querySelector('#messages .msg.assistant'), null, { timeout: 30000 });
      await page.waitForFunction(idle, null, { timeout: 60000 });
      const want = choice || BASE;
      check(sent[sent.length - 1] === want, `the page sent model ${sent[sent.length - 1]}, want ${want}`);
      const answer = await page.evaluate(lastAnswer);
      const expected = process.env[`ANSWER_${choice ? choice.toUpperCase() : 'BASE'}`];
      check(answer.role === 'assistant' && answer.model === want, `last turn: ${JSON.stringify(answer)}`);
      check(answer.content === expected, `answer with ${want}: ${JSON.stringify(answer.content)}, want ${JSON.stringify(expected)}`);
    }
    await page.screenshot({ path: screenshotPath('playground-lora.png') });
    check(errors.length === 0, errors.join('\n'));
    console.log(`playground adapter picker: ${ADAPTERS.length} adapters, requests sent as ${sent.join(', ')}`);
  } finally {
    await browser.close();
  }
});
