// Markdown to DOM nodes, safe by construction: every piece of model text goes into the page
// through textContent or a text node, never parsed as HTML. Covers what chat answers use:
// paragraphs, headings, lists, quotes, code fences, inline code, bold, italics and links.

const FENCE = /^\s*(```|~~~)\s*([\w+#.-]*)/;
const HEADING = /^(#{1,6})\s+(.*)$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*\d+[.)]\s+(.*)$/;
const QUOTE = /^\s*>\s?(.*)$/;
// Inline marks, tried left to right: `code`, **bold**, *em* / _em_, [text](url).
const INLINE = /(`+)([^`]+?)\1|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|\b_([^_]+)_\b|\[([^\]]+)\]\(([^)\s]+)\)/g;
// Only web links become anchors; javascript:, data: and the like stay plain text.
const SAFE_URL = /^(https?:\/\/|mailto:)/i;

function el(tag, cls) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  return e;
}

function isBlockStart(line) {
  return FENCE.test(line) || HEADING.test(line) || BULLET.test(line) || NUMBERED.test(line) || QUOTE.test(line);
}

export function renderInline(text, parent) {
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) parent.append(document.createTextNode(text.slice(last, m.index)));
    last = m.index + m[0].length;
    if (m[2] !== undefined) {
      const c = el('code');
      c.textContent = m[2];
      parent.append(c);
    } else if (m[3] !== undefined) {
      const b = el('strong');
      renderInline(m[3], b);
      parent.append(b);
    } else if (m[4] !== undefined || m[5] !== undefined) {
      const i = el('em');
      renderInline(m[4] ?? m[5], i);
      parent.append(i);
    } else if (SAFE_URL.test(m[7])) {
      const a = el('a');
      a.href = m[7];
      a.rel = 'noopener noreferrer nofollow';
      a.target = '_blank';
      a.textContent = m[6];
      parent.append(a);
    } else {
      parent.append(document.createTextNode(m[0]));
    }
  }
  if (last < text.length) parent.append(document.createTextNode(text.slice(last)));
}

function list(lines, i, pattern, tag, root) {
  const l = el(tag);
  while (i < lines.length && pattern.test(lines[i])) {
    const li = el('li');
    renderInline(lines[i].match(pattern)[1], li);
    l.append(li);
    i++;
  }
  root.append(l);
  return i;
}

// Replaces root's children with the rendering of text. An unclosed fence (mid-stream) still
// shows as code.
export function renderMarkdown(text, root) {
  root.replaceChildren();
  const lines = String(text).replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = line.match(FENCE);
    if (fence) {
      const code = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) code.push(lines[i++]);
      i++;
      const pre = el('pre');
      const c = el('code');
      if (fence[2]) c.dataset.lang = fence[2];
      c.textContent = code.join('\n');
      pre.append(c);
      root.append(pre);
    } else if (!line.trim()) {
      i++;
    } else if (HEADING.test(line)) {
      const [, hashes, body] = line.match(HEADING);
      const h = el(`h${Math.min(6, hashes.length + 2)}`);
      renderInline(body, h);
      root.append(h);
      i++;
    } else if (BULLET.test(line)) {
      i = list(lines, i, BULLET, 'ul', root);
    } else if (NUMBERED.test(line)) {
      i = list(lines, i, NUMBERED, 'ol', root);
    } else if (QUOTE.test(line)) {
      const q = el('blockquote');
      const body = [];
      while (i < lines.length && QUOTE.test(lines[i])) body.push(lines[i++].match(QUOTE)[1]);
      renderMarkdown(body.join('\n'), q);
      root.append(q);
    } else {
      const p = el('p');
      let first = true;
      while (i < lines.length && lines[i].trim() && !isBlockStart(lines[i])) {
        if (!first) p.append(el('br'));
        renderInline(lines[i++], p);
        first = false;
      }
      root.append(p);
    }
  }
}
