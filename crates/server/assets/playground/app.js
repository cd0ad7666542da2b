// The playground: chat and compare views over the server's own OpenAI-compatible API.
// Model text reaches the page only as text nodes (markdown.js builds DOM nodes), never as HTML.
import { renderMarkdown } from './markdown.js';

const $ = (id) => document.getElementById(id);
const KEY = 'agora.key'; // sessionStorage: dropped with the tab
const CONVO = 'agora.conversation'; // localStorage: kept across visits
const SETTINGS = 'agora.settings';

let models = []; // /v1/models entries
let running = null; // { controller, done: Promise } of the active chat stream
let comparing = []; // AbortControllers of the compare streams
let conversation = loadJson(CONVO, []);

function loadJson(key, fallback) {
  try {
    const v = JSON.parse(localStorage.getItem(key));
    return v ?? fallback;
  } catch {
    return fallback;
  }
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function status(text) {
  $('status').textContent = text;
}

class KeyNeeded extends Error {}

// A call to the API with the key when one is set; 401 opens the key box.
async function api(path, body, signal) {
  const headers = { 'Content-Type': 'application/json' };
  const key = sessionStorage.getItem(KEY);
  if (key) headers.Authorization = `Bearer ${key}`;
  const resp = await fetch(path, body === undefined ? { headers, signal } : { method: 'POST', headers, body: JSON.stringify(body), signal });
  if (resp.status === 401) {
    askKey(key ? 'That key was refused; check it and try again.' : '');
    throw new KeyNeeded('this server needs an API key');
  }
  if (!resp.ok) {
    let message = `${resp.status} ${resp.statusText}`;
    try {
      message = (await resp.json()).error.message || message;
    } catch {}
    throw new Error(message);
  }
  return resp;
}

function askKey(error) {
  $('keybox').hidden = false;
  $('key-error').hidden = !error;
  $('key-error').textContent = error;
  $('api-key').focus();
}

// Server-sent events from a streaming completion: calls onChunk(json) per `data:` line.
async function readSse(resp, onChunk) {
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') return;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        onChunk(chunk);
      }
    }
  }
}

function params() {
  const num = (id) => ($(id).value === '' ? undefined : Number($(id).value));
  const p = { temperature: num('temperature'), top_p: num('top-p'), max_tokens: num('max-tokens'), seed: num('seed') };
  if ($('ignore-eos').checked) p.ignore_eos = true;
  return p;
}

// Streams one chat completion; `on.delta(text, logprobs)` per piece. Returns the stats.
async function streamChat(model, messages, signal, on, logprobs) {
  const body = { model, messages, stream: true, stream_options: { include_usage: true }, ...params() };
  if (logprobs) Object.assign(body, { logprobs: true, top_logprobs: 3 });
  const t0 = performance.now();
  let first = null;
  let last = null;
  let pieces = 0;
  let usage = null;
  let finish = null;
  let stopped = false;
  const resp = await api('/v1/chat/completions', body, signal);
  try {
    await readSse(resp, (chunk) => {
      if (chunk.usage) usage = chunk.usage;
      const c = chunk.choices && chunk.choices[0];
      if (!c) return;
      if (c.finish_reason) finish = c.finish_reason;
      const text = c.delta && c.delta.content;
      const lps = c.logprobs && c.logprobs.content;
      if (!text && !(lps && lps.length)) return;
      const now = performance.now();
      if (first === null) first = now;
      last = now;
      pieces += lps && lps.length ? lps.length : 1;
      on.delta(text || '', lps || null);
    });
  } catch (e) {
    if (e.name !== 'AbortError') throw e;
    stopped = true;
  }
  const tokens = usage ? usage.completion_tokens : pieces;
  const ttft = first === null ? null : first - t0;
  // Decode speed: tokens after the first over the time since it came.
  const tps = first !== null && last > first && tokens > 1 ? ((tokens - 1) * 1000) / (last - first) : null;
  return { ttft_ms: ttft, tokens_per_s: tps, tokens, finish: stopped ? 'stopped' : finish };
}

function statsText(s) {
  const parts = [];
  parts.push(s.ttft_ms === null ? 'no tokens' : `TTFT ${Math.round(s.ttft_ms)} ms`);
  if (s.tokens_per_s !== null) parts.push(`${s.tokens_per_s.toFixed(1)} tok/s`);
  parts.push(`${s.tokens} tokens`);
  if (s.finish) parts.push(s.finish);
  return parts.join(' · ');
}

// ---- chat view ----

function messageNode(m) {
  const box = el('article', `msg ${m.role}`);
  box.append(el('div', 'who', m.role === 'assistant' ? `assistant · ${m.model || ''}` : m.role));
  const body = el('div', 'body');
  renderMarkdown(m.content, body);
  box.append(body);
  const stats = el('div', 'stats', m.stats ? statsText(m.stats) : '');
  box.append(stats);
  return { box, body, stats };
}

function renderConversation() {
  const list = $('messages');
  list.replaceChildren(...conversation.map((m) => messageNode(m).box));
  list.scrollTop = list.scrollHeight;
}

function save() {
  localStorage.setItem(CONVO, JSON.stringify(conversation));
}

function chosenModel() {
  return $('adapter').value || $('model').value;
}

async function send() {
  const text = $('prompt').value;
  if (!text.trim() || running) return;
  const model = chosenModel();
  if (!model) return status('no model loaded yet');
  // A user turn that got an error instead of an answer is left out, so roles keep alternating.
  const history = conversation.filter((m, i) => m.role === 'assistant' || (m.role === 'user' && conversation[i + 1]?.role !== 'error')).map(({ role, content }) => ({ role, content }));
  const system = $('system').value.trim();
  const messages = [...(system ? [{ role: 'system', content: system }] : []), ...history, { role: 'user', content: text }];
  conversation.push({ role: 'user', content: text });
  const answer = { role: 'assistant', content: '', model };
  conversation.push(answer);
  save();
  $('prompt').value = '';
  renderConversation();
  const view = $('messages').lastElementChild;
  const body = view.querySelector('.body');
  const controller = new AbortController();
  setRunning(controller);
  let frame = 0;
  try {
    answer.stats = await streamChat(model, messages, controller.signal, {
      delta(t) {
        answer.content += t;
        if (!frame) {
          frame = requestAnimationFrame(() => {
            frame = 0;
            renderMarkdown(answer.content, body);
            $('messages').scrollTop = $('messages').scrollHeight;
          });
        }
      },
    });
  } catch (e) {
    answer.role = 'error';
    answer.content = e instanceof KeyNeeded ? 'This server needs an API key: enter it above and send again.' : `Error: ${e.message}`;
    if (e instanceof KeyNeeded) {
      conversation.splice(conversation.length - 2, 2); // nothing was sent: give the text back
      $('prompt').value = text;
    }
  } finally {
    cancelAnimationFrame(frame);
    setRunning(null);
    save();
    renderConversation();
    if ($('keybox').hidden) $('prompt').focus();
  }
}

function setRunning(controller) {
  running = controller;
  $('send').disabled = !!controller;
  $('stop').disabled = !controller;
  document.body.dataset.busy = controller ? 'chat' : '';
  status(controller ? 'generating…' : 'ready');
}

function stopAll() {
  if (running) running.abort();
  comparing.forEach((c) => c.abort());
}

function exportJson() {
  const data = { exported: new Date().toISOString(), settings: { model: chosenModel(), system: $('system').value, ...params() }, messages: conversation };
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
  const a = el('a');
  a.href = url;
  a.download = `agora-chat-${Date.now()}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---- compare view ----

function tokenSpan(lp) {
  const s = el('span', 'tok', lp.token);
  const p = Math.exp(lp.logprob);
  if (p < 0.2) s.classList.add('low');
  const alts = (lp.top_logprobs || []).map((t) => `  ${JSON.stringify(t.token)} ${t.logprob.toFixed(3)} (${(Math.exp(t.logprob) * 100).toFixed(1)}%)`);
  s.dataset.tip = `${JSON.stringify(lp.token)} logprob ${lp.logprob.toFixed(3)} (${(p * 100).toFixed(1)}%)${alts.length ? `\ntop:\n${alts.join('\n')}` : ''}`;
  s.title = s.dataset.tip;
  return s;
}

async function compare() {
  const prompt = $('compare-prompt').value;
  const ids = [...document.querySelectorAll('#compare-models input:checked')].map((c) => c.value);
  if (!prompt.trim() || comparing.length) return;
  if (ids.length < 2 || ids.length > 3) return status('pick two or three models to compare');
  const system = $('system').value.trim();
  const messages = [...(system ? [{ role: 'system', content: system }] : []), { role: 'user', content: prompt }];
  const cols = $('compare-cols');
  cols.replaceChildren();
  comparing = ids.map(() => new AbortController());
  $('compare-send').disabled = true;
  $('compare-stop').disabled = false;
  status('comparing…');
  await Promise.all(
    ids.map(async (id, i) => {
      const col = el('section', 'col');
      col.dataset.model = id;
      const answer = el('div', 'answer');
      const stats = el('div', 'stats');
      col.append(el('h3', '', id), answer, stats);
      cols.append(col);
      try {
        const s = await streamChat(id, messages, comparing[i].signal, {
          delta(text, lps) {
            if (lps) lps.forEach((lp) => answer.append(tokenSpan(lp)));
            else answer.append(document.createTextNode(text));
          },
        }, true);
        stats.textContent = statsText(s);
      } catch (e) {
        stats.textContent = `Error: ${e.message}`;
        stats.classList.add('error');
      }
    }),
  );
  comparing = [];
  $('compare-send').disabled = false;
  $('compare-stop').disabled = true;
  status('ready');
}

function showTip(e) {
  const t = e.target.closest && e.target.closest('.tok');
  const tip = $('tip');
  if (!t) return void (tip.hidden = true);
  tip.textContent = t.dataset.tip;
  const r = t.getBoundingClientRect();
  tip.style.left = `${Math.min(r.left, window.innerWidth - 260)}px`;
  tip.style.top = `${r.bottom + 4}px`;
  tip.hidden = false;
}

// ---- models and the card panel ----

function fillInfo() {
  const m = models.find((x) => x.id === $('model').value);
  const dl = $('model-info');
  dl.replaceChildren();
  if (!m) return;
  const a = m.agora || {};
  const lic = a.license || {};
  const row = (term, value) => {
    dl.append(el('dt', '', term));
    const dd = el('dd');
    if (value instanceof Node) dd.append(value);
    else dd.textContent = value;
    dl.append(dd);
    return dd;
  };
  row('Id', m.id);
  const licDd = row('License', [lic.name, lic.id].filter(Boolean).join(' · ') || 'not stated: check before use');
  licDd.id = 'license';
  if (lic.link && /^https?:\/\//i.test(lic.link)) {
    const link = el('a', '', 'license text');
    link.href = lic.link;
    link.rel = 'noopener noreferrer';
    link.target = '_blank';
    licDd.append(' (', link, ')');
  }
  const attr = a.attribution || [];
  if (attr.length) {
    const ul = el('ul');
    attr.forEach((t) => ul.append(el('li', '', t)));
    row('Required attribution', ul);
  } else {
    row('Required attribution', 'none recorded');
  }
  if ((a.base_model || []).length) row('Base model', a.base_model.join(', '));
  if (a.summary) row('Card', a.summary);
  row('Architecture', [a.architecture, a.quantization].filter(Boolean).join(' · '));
  row('Context', `${m.context_length} served${a.context_length ? ` / ${a.context_length} trained` : ''}`);
  const adapters = a.adapters || [];
  $('adapter-row').hidden = !adapters.length;
  $('adapter').replaceChildren(el('option', '', 'none'), ...adapters.map((x) => Object.assign(el('option', '', x), { value: x })));
  $('adapter').firstChild.value = '';
}

async function loadModels() {
  try {
    const resp = await api('/v1/models');
    models = (await resp.json()).data;
  } catch (e) {
    if (!(e instanceof KeyNeeded)) status(`could not list models: ${e.message}`);
    return;
  }
  $('keybox').hidden = true;
  const keep = loadJson(SETTINGS, {}).model;
  // LoRA adapters are listed as models of their own (`parent` = the base); the picker offers
  // bases, and a base's adapters in the adapter list below it.
  const bases = models.filter((m) => !m.parent);
  $('model').replaceChildren(...bases.map((m) => Object.assign(el('option', '', m.id), { value: m.id })));
  if (bases.some((m) => m.id === keep)) $('model').value = keep;
  const box = $('compare-models');
  box.querySelectorAll('label').forEach((l) => l.remove());
  models.forEach((m, i) => {
    const label = el('label');
    const c = el('input');
    Object.assign(c, { type: 'checkbox', value: m.id, checked: i < 3, name: 'compare' });
    label.append(c, document.createTextNode(m.id));
    box.append(label);
  });
  fillInfo();
  status(`ready · ${models.length} model${models.length === 1 ? '' : 's'}`);
  document.body.dataset.ready = '1';
}

// ---- wiring ----

function saveSettings() {
  const s = { model: $('model').value, system: $('system').value };
  for (const id of ['temperature', 'top-p', 'max-tokens', 'seed']) s[id] = $(id).value;
  localStorage.setItem(SETTINGS, JSON.stringify(s));
}

function restoreSettings() {
  const s = loadJson(SETTINGS, {});
  if (typeof s.system === 'string') $('system').value = s.system;
  for (const id of ['temperature', 'top-p', 'max-tokens', 'seed']) if (typeof s[id] === 'string') $(id).value = s[id];
}

function selectTab(name) {
  for (const t of ['chat', 'compare']) {
    $(`tab-${t}`).setAttribute('aria-selected', String(t === name));
    $(`${t}-view`).hidden = t !== name;
  }
}

function enterSends(textarea, action) {
  textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      action();
    }
  });
}

restoreSettings();
renderConversation();
$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  send();
});
$('compare-form').addEventListener('submit', (e) => {
  e.preventDefault();
  compare();
});
enterSends($('prompt'), send);
enterSends($('compare-prompt'), compare);
$('stop').addEventListener('click', stopAll);
$('compare-stop').addEventListener('click', stopAll);
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') stopAll();
});
$('new-chat').addEventListener('click', () => {
  conversation = [];
  save();
  renderConversation();
});
$('export').addEventListener('click', exportJson);
$('model').addEventListener('change', () => {
  fillInfo();
  saveSettings();
});
for (const id of ['system', 'temperature', 'top-p', 'max-tokens', 'seed']) $(id).addEventListener('change', saveSettings);
$('tab-chat').addEventListener('click', () => selectTab('chat'));
$('tab-compare').addEventListener('click', () => selectTab('compare'));
$('keybox').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(KEY, $('api-key').value.trim());
  $('api-key').value = '';
  loadModels();
});
document.addEventListener('mouseover', showTip);
document.addEventListener('focusin', showTip);
loadModels();
