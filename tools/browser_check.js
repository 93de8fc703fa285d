#!/usr/bin/env node
// Opens an HTML page in headless Chromium (Debian's chromium-headless-shell, or $CHROMIUM) over
// the DevTools protocol on a pipe (no extra packages), and prints what a reader would get as one
// JSON document on stdout:
//   errors  — console errors, uncaught exceptions and log errors (a blocked asset is one),
//   figures — every <figure class="chart">: its id, whether it holds an <svg>, its shapes and texts,
//   tables  — every <table class="numbers">: its rows (cells as text), by data-chart or id,
//   tiles   — the summary tiles: id → value;
//   status, contentType — the HTTP status and the media type the page was served with.
// PAGE is a file or an http(s) URL (a page as a bucket serves it: a page served as a download
// fails the check). With a second argument, a full-page PNG screenshot is written there.
//
//   node tools/browser_check.js PAGE.html|URL [SCREENSHOT.png]
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [page, shot] = process.argv.slice(2);
if (!page) {
  console.error('usage: node tools/browser_check.js PAGE.html|URL [SCREENSHOT.png]');
  process.exit(2);
}

function chromium() {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium-headless-shell', '/usr/bin/chromium'];
  const found = candidates.find((c) => c && fs.existsSync(c));
  if (!found) {
    console.error('no Chromium: apt-get install chromium-headless-shell (or set CHROMIUM)');
    process.exit(2);
  }
  return found;
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'browser-check-'));
const browser = spawn(
  chromium(),
  ['--headless', '--no-sandbox', '--disable-gpu', '--remote-debugging-pipe',
   `--user-data-dir=${profile}`, '--no-first-run', 'about:blank'],
  { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] },
);
const toBrowser = browser.stdio[3];
const fromBrowser = browser.stdio[4];

let nextId = 1;
const waiting = new Map();
const listeners = [];
let buffer = '';
fromBrowser.on('data', (chunk) => {
  buffer += chunk.toString('utf8');
  let end;
  while ((end = buffer.indexOf('\0')) >= 0) {
    const message = JSON.parse(buffer.slice(0, end));
    buffer = buffer.slice(end + 1);
    if (message.id && waiting.has(message.id)) {
      const { resolve, reject } = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.error) reject(new Error(JSON.stringify(message.error)));
      else resolve(message.result);
    } else if (message.method) {
      listeners.forEach((l) => l(message));
    }
  }
});

function send(method, params = {}, sessionId) {
  const id = nextId++;
  const message = { id, method, params };
  if (sessionId) message.sessionId = sessionId;
  toBrowser.write(JSON.stringify(message) + '\0');
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
}

function once(method, sessionId) {
  return new Promise((resolve) => {
    const l = (m) => {
      if (m.method === method && m.sessionId === sessionId) {
        listeners.splice(listeners.indexOf(l), 1);
        resolve(m.params);
      }
    };
    listeners.push(l);
  });
}

// Runs in the page.
function collect() {
  const text = (e) => e.textContent.trim();
  const figures = [...document.querySelectorAll('figure.chart')].map((f) => {
    const svg = f.querySelector('svg');
    return {
      id: f.id,
      svg: !!svg,
      width: svg ? svg.getBoundingClientRect().width : 0,
      shapes: svg ? svg.querySelectorAll('rect, polyline, path, circle, line').length : 0,
      texts: svg ? [...svg.querySelectorAll('text')].map(text) : [],
    };
  });
  const tables = {};
  for (const t of document.querySelectorAll('table.numbers')) {
    tables[t.dataset.chart || t.id] = [...t.querySelectorAll('tr')]
      .slice(1)
      .map((r) => [...r.querySelectorAll('td')].map(text));
  }
  const tiles = {};
  for (const t of document.querySelectorAll('.tile')) tiles[t.id] = text(t.querySelector('b'));
  const nav = performance.getEntriesByType('navigation')[0];
  return { status: nav ? nav.responseStatus : null, title: document.title, contentType: document.contentType, figures, tables, tiles, external: performance.getEntriesByType('resource').map((r) => r.name) };
}

async function main() {
  const timer = setTimeout(() => { console.error('browser check: timed out'); browser.kill('SIGKILL'); process.exit(1); }, 60000);
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const errors = [];
  listeners.push((m) => {
    if (m.sessionId !== sessionId) return;
    if (m.method === 'Runtime.consoleAPICalled' && (m.params.type === 'error' || m.params.type === 'assert')) {
      errors.push(`console.${m.params.type}: ${m.params.args.map((a) => a.value ?? a.description).join(' ')}`);
    } else if (m.method === 'Runtime.exceptionThrown') {
      const d = m.params.exceptionDetails;
      errors.push(`exception: ${(d.exception && d.exception.description) || d.text}`);
    } else if (m.method === 'Log.entryAdded' && m.params.entry.level === 'error') {
      errors.push(`log (${m.params.entry.source}): ${m.params.entry.text}`);
    }
  });
  for (const domain of ['Runtime', 'Log', 'Page']) await send(`${domain}.enable`, {}, sessionId);
  await send('Emulation.setDeviceMetricsOverride', { width: 1200, height: 900, deviceScaleFactor: 1, mobile: false }, sessionId);
  const loaded = once('Page.loadEventFired', sessionId);
  const url = /^https?:\/\//.test(page) ? page : 'file://' + path.resolve(page);
  const navigated = await send('Page.navigate', { url }, sessionId);
  if (navigated.errorText) {
    console.error(`browser check: ${url} did not open as a page: ${navigated.errorText}`);
    browser.kill('SIGKILL');
    process.exit(1);
  }
  await loaded;
  // Late console messages (a CSP report, a failed image) arrive just after load.
  await new Promise((r) => setTimeout(r, 300));
  const { result } = await send('Runtime.evaluate', { expression: `(${collect})()`, returnByValue: true }, sessionId);
  if (shot) {
    const { cssContentSize } = await send('Page.getLayoutMetrics', {}, sessionId);
    const { data } = await send('Page.captureScreenshot', {
      format: 'png', captureBeyondViewport: true,
      clip: { x: 0, y: 0, width: 1200, height: Math.ceil(cssContentSize.height), scale: 1 },
    }, sessionId);
    fs.writeFileSync(shot, Buffer.from(data, 'base64'));
  }
  process.stdout.write(JSON.stringify({ errors, ...result.value }) + '\n');
  await send('Browser.close').catch(() => {});
  clearTimeout(timer);
}

main()
  .catch((e) => { console.error(`browser check: ${e.stack || e}`); process.exitCode = 1; browser.kill('SIGKILL'); });
// The profile goes once the browser has let go of it.
browser.on('exit', () => {
  try { fs.rmSync(profile, { recursive: true, force: true }); } catch (_) { /* left in the temp dir */ }
});
