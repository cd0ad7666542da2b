// Shared by every browser test: start headless Chromium (from apt) through playwright-core, and
// say where screenshots go. Tests are plain node scripts run by cargo tests; a failed check throws,
// which exits non-zero with the message.
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

function chromiumPath() {
  const candidates = [process.env.AGORA_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error(`no Chromium found (tried ${candidates.join(', ')}); install it with 'apt-get install chromium' or set AGORA_CHROMIUM`);
  }
  return found;
}

async function launch() {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu'] });
}

// Screenshots are test artifacts: SCREENSHOT_DIR when set, else target/browser-screenshots.
function screenshotPath(name) {
  const dir = process.env.SCREENSHOT_DIR || path.join(__dirname, '..', '..', '..', 'target', 'browser-screenshots');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
}

// Run an async test body; print the error and exit 1 on failure so the cargo test sees it.
function run(body) {
  body().then(
    () => process.exit(0),
    (err) => {
      console.error(err && err.stack ? err.stack : err);
      process.exit(1);
    },
  );
}

module.exports = { launch, screenshotPath, check, run };
