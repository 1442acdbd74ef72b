// Debian's firefox-esr driven over WebDriver BiDi by puppeteer-core (from site/node_modules),
// for tools/firefox.py: one JSON object a line on stdin ({id, op, ...}), one answer a line
// on stdout ({id, result} or {id, error}), and the page's console errors and uncaught
// errors as they happen ({event, text}). Python has no maintained BiDi client; puppeteer's
// is Mozilla's own test client.
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

// Resolved from site/, where `npm ci` put it, whatever directory this runs from.
const require = createRequire(new URL('../site/package.json', import.meta.url));
const puppeteer = require('puppeteer-core');

let browser = null;
let page = null;
const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);

const ops = {
  async launch({ executablePath, prefs, viewport, initScript }) {
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath,
      headless: true,
      extraPrefsFirefox: prefs,
    });
    page = await browser.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') send({ event: 'console', text: message.text() });
    });
    page.on('pageerror', (error) => send({ event: 'pageerror', text: String(error) }));
    await page.setViewport(viewport);
    if (initScript) await page.evaluateOnNewDocument(initScript);
    return null;
  },
  async goto({ url }) {
    await page.goto(url, { waitUntil: 'load' });
    return null;
  },
  // The result goes through JSON here, in the page, so Python gets what Playwright would give.
  async evaluate({ source, arg }) {
    const text = await page.evaluate(
      `(async () => JSON.stringify((await (${source})(${JSON.stringify(arg)})) ?? null))()`);
    return JSON.parse(text);
  },
  async click({ selector }) {
    await page.click(selector);
    return null;
  },
  async upload({ selector, path }) {
    const input = await page.$(selector);
    if (!input) throw new Error(`no element matches ${selector}`);
    await input.uploadFile(path);
    return null;
  },
  async close() {
    await browser?.close();
    browser = null;
    return null;
  },
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const { id, op, ...args } = JSON.parse(line);
  try {
    send({ id, result: await ops[op](args) });
  } catch (error) {
    send({ id, error: String(error?.stack || error) });
  }
  if (op === 'close') break;
}
await browser?.close();
