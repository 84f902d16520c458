// Renders the webview (dist/webview.js + dist/webview.css) in headless Chromium with realistic data from the
// real engine and VS Code theme colours, and saves screenshots to test-results/preview/.
//
//   node scripts/build.mjs && node scripts/webview-preview/shoot.mjs [name-filter]
//   node scripts/webview-preview/shoot.mjs --serve     (only serve the preview page, for a browser)
//
// The page is served from 127.0.0.1 with the same CSP the extension uses, so CSP violations show up as
// console errors (reported at the end; the exit code is 1 if there were any).
import * as esbuild from 'esbuild';
import { createServer } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '../..');
const OUT = join(ROOT, 'test-results/preview');
const FAMILY_OUT = join(ROOT, 'test-results/family-views');
const serveOnly = process.argv.includes('--serve');
const filter = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? '';
// --viewport=WxH: the size of the "narrow" shots' extra viewport (default: the workbench panel the tester
// used, 540 × 798, and a 300 px side view), e.g. --viewport=420x700.
const viewportArg = process.argv.find((a) => a.startsWith('--viewport='));
const extraViewport = viewportArg ? (([w, hh]) => ({ width: Number(w), height: Number(hh) }))(viewportArg.slice('--viewport='.length).split('x')) : null;
if (extraViewport && !(extraViewport.width > 0 && extraViewport.height > 0)) {
  console.error('--viewport wants WIDTHxHEIGHT, e.g. --viewport=540x798');
  process.exit(2);
}
mkdirSync(OUT, { recursive: true });
mkdirSync(FAMILY_OUT, { recursive: true });
if (!existsSync(join(ROOT, 'dist/webview.js'))) {
  console.error('dist/webview.js is missing: run node scripts/build.mjs first');
  process.exit(2);
}

// ---- fixtures from the real engine ----
const fixtureBundle = join(OUT, 'fixture.cjs');
await esbuild.build({
  entryPoints: [join(ROOT, 'scripts/webview-preview/fixture.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile: fixtureBundle,
  logLevel: 'warning',
});
process.chdir(ROOT);
const { buildScenario, buildFamilyScenario } = createRequire(import.meta.url)(fixtureBundle);

const LONG_TEXT = [
  'Attention lets every token look back at the tokens before it and decide how much each one matters.',
  'In a causal language model such as GPT-2, a token may only attend to itself and to earlier tokens,',
  'so the upper triangle of every attention matrix is masked. The softmax turns the scaled scores of a row',
  'into weights that sum to one; the output for that token is the weighted average of the value vectors.',
  'Some heads look at the previous token, some at the first token of the text (the attention sink), and',
  'others spread their attention evenly. Long inputs make the matrices large: with a thousand tokens there',
  'are a million weights per head, which is why the heatmap draws only what is visible and labels every',
  'k-th token until you zoom in. Hover a cell to read its weight, click it to see the arithmetic, and use',
  'the thumbnails to compare heads at a glance. When you export, the whole matrix is written as an image.',
  'def attend(query, keys, values):\n    scores = query @ keys.T / sqrt(d_k)\n    return softmax(scores) @ values\n',
  'The same sentence may be inspected again with another model; the layer and head you picked are kept.',
  'Numbers are shown with four significant digits and the exact value appears in a tooltip on hover.',
].join(' ');

const scenarios = {
  gpt2: await buildScenario({
    text: 'The cat sat on the mat because it was tired, so it slept.',
    model: 'gpt2-tiny',
    fileName: 'story.md',
    startLine: 2,
    notes: ['No selection: inspected line 3.'],
  }),
  random: await buildScenario({ text: 'The quick brown fox jumps over the lazy dog', model: 'random', fileName: 'example.txt' }),
  long: await buildScenario({ text: LONG_TEXT, model: 'random', tokenizer: 'gpt2', fileName: 'attention.md', startLine: 10 }),
  // Over a thousand tokens (no traces: the stub answers a trace request with an error).
  huge: await buildScenario({ text: Array(4).fill(LONG_TEXT).join('\n\n'), model: 'random', tokenizer: 'gpt2', fileName: 'book.md', traceLayers: [] }),
};
// A byte-fallback tokenizer (Mistral's): characters outside the vocabulary become <0xC4>-style byte tokens,
// the model's label is long (the status line), and the sliding window makes the mask legend's longest words.
scenarios.bytefallback = await buildScenario({ text: 'Čaj na Žižkově: über-café ✓ costs 3€.', model: { family: 'mistral_text_bytefallback' }, fileName: 'families.txt' });
// Other families, run by the real engine on their tiny test checkpoints (test/fixtures/families).
const words = (list, first = 11) => list.map((text, i) => ({ text, id: first + ((i * 37) % 280) }));
scenarios.llama = await buildFamilyScenario({
  checkpoint: 'llama_gqa_tied',
  tokens: [{ text: '<s>', id: 1, special: true }, ...words(['The', ' cat', ' sat', ' on', ' the', ' mat', ' because', ' it', ' was', ' tired', '.'])],
  fileName: 'story.md',
});
scenarios.bert = await buildFamilyScenario({
  checkpoint: 'bert_noprefix',
  tokens: [{ text: '[CLS]', id: 2, special: true }, ...words(['the', 'cat', 'sat', 'on', 'the', 'mat', '.']), { text: '[SEP]', id: 3, special: true }],
  joiner: ' ',
  fileName: 'story.md',
});
scenarios.mistral = await buildFamilyScenario({
  checkpoint: 'mistral_sliding_window',
  tokens: [{ text: '<s>', id: 1, special: true }, ...words(['A', ' window', ' of', ' four', ':', ' each', ' token', ' sees', ' itself', ' and', ' three', ' before', ' it', '.'])],
  fileName: 'window.md',
});
scenarios.neox = await buildFamilyScenario({
  checkpoint: 'gpt_neox_parallel',
  tokens: words(['Only', ' a', ' quarter', ' of', ' each', ' head', ' turns', ' by', ' position', '.'], 5),
  fileName: 'neox.md',
});
scenarios.qwen3 = await buildFamilyScenario({
  checkpoint: 'qwen3_qknorm',
  tokens: words(['Queries', ' and', ' keys', ' are', ' normed', ' before', ' they', ' turn', '.'], 7),
  fileName: 'qwen.md',
});
scenarios.llama3 = await buildFamilyScenario({
  checkpoint: 'llama_llama3rope_untied',
  tokens: [{ text: '<s>', id: 1, special: true }, ...words(['Scaled', ' rotary', ':', ' slow', ' pairs', ' turn', ' even', ' slower', '.'])],
  fileName: 'llama3.md',
});
console.log(`tokens: ${Object.entries(scenarios).map(([k, v]) => `${k}=${v.summary.tokens.length}`).join(' ')}`);

const encode = (value) =>
  JSON.stringify(value, (_k, v) => (v instanceof Float32Array ? { $f32: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') } : v));
const fixtureJs = Object.fromEntries(Object.entries(scenarios).map(([k, v]) => [k, `window.__fixture = ${encode(v)};`]));

// ---- a tiny server with the extension's CSP ----
const NONCE = 'cHJldmlldy1ub25jZQ';
const TYPES = { '.js': 'text/javascript', '.css': 'text/css', '.ttf': 'font/ttf', '.map': 'application/json' };
function page(url, origin) {
  const view = url.searchParams.get('view') === 'side' ? 'side' : 'panel';
  const theme = url.searchParams.get('theme') ?? 'dark';
  const bodyClass = theme === 'light' ? 'vscode-light' : theme === 'hc' ? 'vscode-high-contrast' : 'vscode-dark';
  const fixture = url.searchParams.get('fixture') ?? 'gpt2';
  const csp = `default-src 'none'; img-src ${origin} blob: data:; style-src ${origin}; font-src ${origin}; script-src 'nonce-${NONCE}'`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="/preview/vscode-defaults.css">
<link rel="stylesheet" href="/dist/codicon.css" id="vscode-codicon-stylesheet">
<link rel="stylesheet" href="/dist/webview.css">
<title>Attention Inspector</title>
</head>
<body class="${bodyClass}" data-view="${view}">
<div id="app" role="main"></div>
<script nonce="${NONCE}" src="/preview/themes.js"></script>
<script nonce="${NONCE}" src="/fixture/${fixture}.js"></script>
<script nonce="${NONCE}" src="/preview/stub.js"></script>
<script nonce="${NONCE}" src="/dist/webview.js"></script>
</body>
</html>`;
}
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const origin = `http://127.0.0.1:${server.address().port}`;
  const send = (status, type, body) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  if (url.pathname === '/') return send(200, 'text/html', page(url, origin));
  if (url.pathname === '/favicon.ico') return send(204, 'image/x-icon', '');
  if (url.pathname.startsWith('/fixture/')) {
    const name = url.pathname.slice('/fixture/'.length).replace(/\.js$/, '');
    return fixtureJs[name] ? send(200, 'text/javascript', fixtureJs[name]) : send(404, 'text/plain', 'no such fixture');
  }
  const map = [
    ['/dist/', join(ROOT, 'dist')],
    ['/preview/', join(ROOT, 'scripts/webview-preview')],
  ];
  for (const [prefix, dir] of map) {
    if (!url.pathname.startsWith(prefix)) continue;
    const file = resolve(dir, url.pathname.slice(prefix.length));
    if (!file.startsWith(dir) || !existsSync(file)) break;
    return send(200, TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(file));
  }
  send(404, 'text/plain', 'not found');
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}/`;
if (serveOnly) {
  // For poking at the page by hand: node scripts/webview-preview/shoot.mjs --serve
  console.log(`serving ${base}?theme=dark|light|hc&fixture=gpt2|random|long&view=panel|side&mode=empty (Ctrl+C to stop)`);
  await new Promise(() => {});
}

// ---- shots ----
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const problems = [];

async function open(name, query, viewport = { width: 1440, height: 1000 }, deviceScaleFactor = 1) {
  const context = await browser.newContext({ viewport, deviceScaleFactor });
  const p = await context.newPage();
  p.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${name}: console.${m.type()}: ${m.text()}`);
  });
  p.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  await p.goto(`${base}?${new URLSearchParams(query)}`);
  await p.waitForSelector(query.mode === 'empty' ? '.empty-state:not([hidden])' : '.hm-canvas');
  await p.evaluate(() => document.fonts.ready);
  await settle(p);
  return p;
}
const settle = (p, ms = 250) => p.waitForTimeout(ms);

/** Hovers the heatmap cell (query, key) using the canvas geometry the page reports. */
async function hoverCell(p, fx, fy) {
  await p.locator('.hm-canvas').scrollIntoViewIfNeeded();
  const box = await p.locator('.hm-canvas').boundingBox();
  await p.mouse.move(box.x + box.width * fx, box.y + box.height * fy);
  await settle(p, 150);
}

const shots = [
  {
    name: 'panel-dark',
    run: async () => {
      const p = await open('panel-dark', { theme: 'dark', fixture: 'gpt2' });
      await hoverCell(p, 0.55, 0.7);
      // Viewport shots only: a full-page capture resizes the window, which re-fits the heatmap.
      await p.screenshot({ path: join(OUT, 'panel-dark.png') });
      await p.evaluate(() => document.querySelector('.section-heads').scrollIntoView({ block: 'start' }));
      await settle(p, 200);
      await p.screenshot({ path: join(OUT, 'panel-dark-sections.png') });
      return p;
    },
  },
  {
    name: 'hidpi-dark',
    run: async () => {
      // devicePixelRatio 2: canvas text and the hatch must stay crisp.
      const p = await open('hidpi-dark', { theme: 'dark', fixture: 'gpt2' }, { width: 900, height: 700 }, 2);
      await hoverCell(p, 0.5, 0.6);
      const box = await p.locator('.heatmap-col').boundingBox();
      await p.screenshot({ path: join(OUT, 'hidpi-dark.png'), clip: { x: box.x, y: box.y, width: Math.min(520, box.width), height: 420 } });
      return p;
    },
  },
  {
    name: 'theme-switch',
    run: async () => {
      // VS Code switches theme by rewriting the variables and the body class; the canvas must follow.
      const p = await open('theme-switch', { theme: 'dark', fixture: 'random', view: 'side' }, { width: 380, height: 760 });
      await p.evaluate(() => {
        for (const [k, v] of Object.entries(window.__themes.light)) document.documentElement.style.setProperty(`--vscode-${k}`, v);
        document.body.classList.replace('vscode-dark', 'vscode-light');
      });
      await settle(p, 300);
      await p.screenshot({ path: join(OUT, 'theme-switch-to-light.png') });
      return p;
    },
  },
  {
    name: 'panel-light',
    run: async () => {
      const p = await open('panel-light', { theme: 'light', fixture: 'gpt2' });
      await hoverCell(p, 0.45, 0.8);
      // Viewport shots only: a full-page capture resizes the window, which re-fits the heatmap.
      await p.screenshot({ path: join(OUT, 'panel-light.png') });
      await p.evaluate(() => document.querySelector('.section-heads').scrollIntoView({ block: 'start' }));
      await settle(p, 200);
      await p.screenshot({ path: join(OUT, 'panel-light-sections.png') });
      return p;
    },
  },
  {
    name: 'thumbs-light',
    run: async () => {
      const p = await open('thumbs-light', { theme: 'light', fixture: 'gpt2' });
      // Layer 1, mean column of the overview grid: the layer is requested from the host.
      const box = await p.locator('.thumbs-canvas').boundingBox();
      await p.locator('.thumbs-canvas').click({ position: { x: box.width - 20, y: box.height - 20 } });
      await settle(p, 400);
      await p.evaluate(() => window.scrollTo(0, 0));
      await settle(p, 100);
      await hoverCell(p, 0.5, 0.75);
      await p.screenshot({ path: join(OUT, 'thumbs-mean-light.png') });
      return p;
    },
  },
  {
    name: 'panel-hc',
    run: async () => {
      const p = await open('panel-hc', { theme: 'hc', fixture: 'random' });
      await p.screenshot({ path: join(OUT, 'panel-hc.png'), fullPage: false });
      return p;
    },
  },
  {
    name: 'side-dark',
    run: async () => {
      const p = await open('side-dark', { theme: 'dark', fixture: 'gpt2', view: 'side' }, { width: 360, height: 820 });
      await hoverCell(p, 0.6, 0.75);
      await p.screenshot({ path: join(OUT, 'side-dark.png') });
      return p;
    },
  },
  {
    name: 'side-light-long',
    run: async () => {
      const p = await open('side-light-long', { theme: 'light', fixture: 'long', view: 'side' }, { width: 360, height: 820 });
      await hoverCell(p, 0.5, 0.6);
      await p.screenshot({ path: join(OUT, 'side-light-long.png') });
      return p;
    },
  },
  {
    name: 'explain-dark',
    run: async () => {
      const p = await open('explain-dark', { theme: 'dark', fixture: 'random' });
      await p.locator('.hm-canvas').focus();
      for (const k of ['ArrowDown', 'ArrowDown', 'ArrowDown', 'ArrowDown', 'ArrowDown', 'ArrowRight', 'ArrowRight', 'Enter']) await p.keyboard.press(k);
      await settle(p, 400);
      await p.screenshot({ path: join(OUT, 'explain-dark.png'), fullPage: false });
      return p;
    },
  },
  {
    name: 'explain-masked-light',
    run: async () => {
      const p = await open('explain-masked-light', { theme: 'light', fixture: 'gpt2' });
      await p.locator('.hm-canvas').focus();
      for (const k of ['ArrowDown', 'ArrowDown', 'ArrowRight', 'ArrowRight', 'ArrowRight', 'ArrowRight', 'Enter']) await p.keyboard.press(k);
      await settle(p, 400);
      await p.screenshot({ path: join(OUT, 'explain-masked-light.png'), fullPage: false });
      return p;
    },
  },
  {
    name: 'trace-dark',
    run: async () => {
      const p = await open('trace-dark', { theme: 'dark', fixture: 'random' });
      await p.locator('.section-trace > summary').click();
      await p.waitForSelector('.trace-card');
      await settle(p, 300);
      await p.evaluate(() => document.querySelector('.section-trace').scrollIntoView({ block: 'start' }));
      await settle(p, 200);
      await p.screenshot({ path: join(OUT, 'trace-dark.png') });
      await p.evaluate(() => document.getElementById('step-rawScores').scrollIntoView({ block: 'start' }));
      await settle(p, 200);
      await p.screenshot({ path: join(OUT, 'trace-scores-dark.png') });
      // A score cell in the trace explains itself.
      await p.locator('#step-attnWeights td[data-r="4"][data-c="1"]').click();
      await settle(p, 600);
      await p.screenshot({ path: join(OUT, 'trace-explain-dark.png') });
      return p;
    },
  },
  {
    name: 'long-dark',
    run: async () => {
      const p = await open('long-dark', { theme: 'dark', fixture: 'long' });
      await hoverCell(p, 0.5, 0.65);
      await p.screenshot({ path: join(OUT, 'long-dark.png'), fullPage: false });
      // Zoom in around a point with ctrl+wheel, then screenshot again.
      const box = await p.locator('.hm-canvas').boundingBox();
      await p.mouse.move(box.x + box.width * 0.35, box.y + box.height * 0.8);
      await p.keyboard.down('Control');
      for (let i = 0; i < 6; i++) {
        await p.mouse.wheel(0, -240);
        await settle(p, 60);
      }
      await p.keyboard.up('Control');
      await settle(p, 300);
      await hoverCell(p, 0.55, 0.6);
      await p.screenshot({ path: join(OUT, 'long-zoomed-dark.png'), fullPage: false });
      return p;
    },
  },
  {
    name: 'huge-dark',
    run: async () => {
      const p = await open('huge-dark', { theme: 'dark', fixture: 'huge' });
      await hoverCell(p, 0.4, 0.8);
      await p.screenshot({ path: join(OUT, 'huge-dark.png') });
      // Smoothness: time 20 ctrl+wheel zoom steps and 40 scroll steps (each waits for a frame).
      const box = await p.locator('.hm-canvas').boundingBox();
      await p.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.85);
      let t = Date.now();
      await p.keyboard.down('Control');
      for (let i = 0; i < 20; i++) {
        await p.mouse.wheel(0, -100);
        await p.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
      }
      await p.keyboard.up('Control');
      const zoomMs = (Date.now() - t) / 20;
      // Scrolling measured inside the page: 60 frames, one scroll step each.
      const scrollMs = await p.locator('.hm-scroll').evaluate(
        (el) =>
          new Promise((resolve) => {
            let k = 0;
            const t0 = performance.now();
            const step = () => {
              el.scrollTo(k * 37, k * 53);
              if (++k < 60) requestAnimationFrame(step);
              else requestAnimationFrame(() => resolve((performance.now() - t0) / 60));
            };
            requestAnimationFrame(step);
          }),
      );
      console.log(`  n=${await p.evaluate(() => window.__host.fixture.summary.tokens.length)}: ${zoomMs.toFixed(1)} ms per zoom step (incl. round trips), ${scrollMs.toFixed(1)} ms per scrolled frame`);
      await hoverCell(p, 0.5, 0.5);
      await p.screenshot({ path: join(OUT, 'huge-zoomed-dark.png') });
      await p.locator('.head-select').click();
      await settle(p, 200);
      await p.getByRole('option', { name: 'Mean over 4 heads' }).click();
      await settle(p, 500);
      await p.locator('.zoom vscode-button').nth(1).click(); // fit
      await settle(p, 300);
      await hoverCell(p, 0.3, 0.7);
      await p.screenshot({ path: join(OUT, 'huge-mean-dark.png') });
      return p;
    },
  },
  {
    name: 'export',
    run: async () => {
      const p = await open('export', { theme: 'light', fixture: 'gpt2' });
      await p.evaluate(() => window.__host.send({ type: 'request', id: 7, method: 'png', params: {} }));
      await p.waitForFunction(() => window.__host.png);
      const answer = await p.evaluate(() => window.__host.png);
      if (!answer.dataUrl) throw new Error(`png export failed: ${answer.error}`);
      writeFileSync(join(OUT, 'export-light.png'), Buffer.from(answer.dataUrl.split(',')[1], 'base64'));
      const p2 = await open('export-long', { theme: 'dark', fixture: 'long' });
      await p2.evaluate(() => window.__host.send({ type: 'request', id: 8, method: 'png', params: {} }));
      await p2.waitForFunction(() => window.__host.png);
      const a2 = await p2.evaluate(() => window.__host.png);
      if (!a2.dataUrl) throw new Error(`png export failed: ${a2.error}`);
      writeFileSync(join(OUT, 'export-long-dark.png'), Buffer.from(a2.dataUrl.split(',')[1], 'base64'));
      await p2.context().close();
      return p;
    },
  },
  {
    name: 'states',
    run: async () => {
      const p = await open('empty', { theme: 'light', mode: 'empty' }, { width: 1000, height: 700 });
      await p.screenshot({ path: join(OUT, 'empty-light.png') });
      const q = await open('busy-error', { theme: 'dark', fixture: 'gpt2' }, { width: 1200, height: 700 });
      await q.evaluate(() => {
        window.__host.send({ type: 'busy', message: 'Running gpt2 on 14 tokens…' });
        window.__host.send({ type: 'error', message: 'The model file gpt2/model.safetensors could not be read: unexpected end of file.' });
        window.__host.send({ type: 'busy', message: 'Running gpt2 on 14 tokens…' });
      });
      await settle(q, 300);
      await q.screenshot({ path: join(OUT, 'busy-error-dark.png') });
      // Reduced motion: the animated progress bar gives way to the static busy line.
      await q.emulateMedia({ reducedMotion: 'reduce' });
      const shown = await q.evaluate(() => [getComputedStyle(document.querySelector('.progress')).display, getComputedStyle(document.querySelector('.busy-text')).display]);
      if (shown[0] !== 'none' || shown[1] === 'none') problems.push(`busy-error: with reduced motion the progress bar is ${shown[0]} and the busy text ${shown[1]}`);
      await q.context().close();
      return p;
    },
  },
];

/** Picks a head in the head picker. */
async function pickHead(p, name) {
  await p.locator('.head-select').click();
  await settle(p, 200);
  await p.getByRole('option', { name, exact: true }).click();
  await settle(p, 400);
}

/**
 * Every view of one family in one theme: the heatmap with the explanation of a cell (a rotary cell for
 * the decoders), the layer × head grid with the next-token area, and the step trace (its family steps).
 */
function familyShot(fixture, theme, cell, head) {
  const at = (what) => join(FAMILY_OUT, `${fixture}-${what}-${theme}.png`);
  return {
    name: `family-${fixture}-${theme}`,
    run: async () => {
      const p = await open(`family-${fixture}-${theme}`, { theme, fixture });
      await pickHead(p, `Head ${head}`);
      await p.locator('.hm-canvas').focus();
      for (let i = 0; i < cell.query; i++) await p.keyboard.press('ArrowDown');
      for (let i = 0; i < cell.key; i++) await p.keyboard.press('ArrowRight');
      await p.keyboard.press('Enter');
      await settle(p, 500);
      await p.evaluate(() => window.scrollTo(0, 0));
      await settle(p, 100);
      await p.screenshot({ path: at('explain') });
      // The explanation scrolls inside its column: bring its mask (or scale) and softmax steps into view.
      await p.evaluate(() => document.querySelector('.explain-steps > li:nth-last-child(2)').scrollIntoView({ block: 'start' }));
      await settle(p, 200);
      await p.screenshot({ path: at('explain-more') });
      await p.evaluate(() => document.querySelector('.section-heads').scrollIntoView({ block: 'start' }));
      await settle(p, 300);
      await p.screenshot({ path: at('grid') });
      await p.locator('.section-trace > summary').click();
      await p.waitForSelector('.trace-card');
      await settle(p, 300);
      await p.evaluate(() => document.querySelector('.section-trace').scrollIntoView({ block: 'start' }));
      await settle(p, 200);
      await p.screenshot({ path: at('trace') });
      for (const id of ['queries.angles', 'keys.groups', 'maskedScores']) {
        const found = await p.evaluate((id) => {
          const el = document.getElementById(`step-${id}`);
          el?.scrollIntoView({ block: 'start' });
          return el !== null;
        }, id);
        if (!found) continue;
        await settle(p, 200);
        await p.screenshot({ path: at(`trace-${id.replace('.', '-')}`) });
      }
      return p;
    },
  };
}
for (const theme of ['dark', 'light', 'hc']) {
  shots.push(familyShot('llama', theme, { query: 9, key: 4 }, 3));
  shots.push(familyShot('bert', theme, { query: 2, key: 6 }, 1));
}
shots.push(familyShot('mistral', 'dark', { query: 12, key: 4 }, 0));
shots.push(familyShot('neox', 'dark', { query: 8, key: 3 }, 1));
shots.push({
  name: 'family-side',
  run: async () => {
    // The side view: special token labels and an encoder's legend in a narrow column.
    let p;
    for (const [fixture, theme] of [['llama', 'dark'], ['bert', 'light']]) {
      p = await open(`family-side-${fixture}`, { theme, fixture, view: 'side' }, { width: 360, height: 760 });
      await hoverCell(p, 0.5, 0.5);
      await p.screenshot({ path: join(FAMILY_OUT, `${fixture}-side-${theme}.png`) });
      if (fixture === 'llama') await p.context().close();
    }
    return p;
  },
});
shots.push(familyShot('qwen3', 'light', { query: 7, key: 2 }, 2));

/**
 * Narrow workbench panels (the editor's side, ~540 px; a 300 px column): the status line, the legend's
 * wrapped words, Enter on a cell scrolling its explanation into view, and byte-fallback token names.
 */
const NARROW_OUT = join(ROOT, 'test-results/narrow');
mkdirSync(NARROW_OUT, { recursive: true });
function narrowShot(theme, viewport, view) {
  const tag = `${view}-${viewport.width}x${viewport.height}-${theme}`;
  const at = (what) => join(NARROW_OUT, `${tag}-${what}.png`);
  return {
    name: `narrow-${tag}`,
    run: async () => {
      const p = await open(`narrow-${tag}`, { theme, fixture: 'bytefallback', view }, viewport);
      await p.screenshot({ path: at('top') });
      // Whatever is cut shows as an element wider than its box.
      const cut = await p.evaluate(() => {
        const out = [];
        for (const el of document.querySelectorAll('.status, .status-part, .status-model, .legend, .legend-canvas, .readout, .next-token')) {
          const box = el.getBoundingClientRect();
          if (box.right > document.documentElement.clientWidth + 0.5) out.push(`${el.className} ends at ${Math.round(box.right)} px`);
        }
        const model = document.querySelector('.status-name');
        if (model && model.scrollWidth > model.clientWidth + 1) out.push(`the model name is cut: ${model.textContent}`);
        return out;
      });
      for (const c of cut) problems.push(`narrow-${tag}: ${c}`);
      const status = await p.evaluate(() => ({ text: document.querySelector('.status').innerText, title: document.querySelector('.status').title }));
      console.log(`  status: ${status.text}\n  title:  ${status.title.replace('\n', ' ⏎ ')}`);
      await p.evaluate(() => document.querySelector('.legend').scrollIntoView({ block: 'center' }));
      await settle(p, 200);
      await p.screenshot({ path: at('legend') });
      await p.evaluate(() => window.scrollTo(0, 0));
      await settle(p, 100);
      // Enter on a cell (the last query, a few keys back): the explanation must come into view.
      await p.locator('.hm-canvas').focus();
      const n = await p.evaluate(() => window.__host.fixture.summary.tokens.length);
      for (let i = 0; i < n - 1; i++) await p.keyboard.press('ArrowDown');
      for (let i = 0; i < n - 3; i++) await p.keyboard.press('ArrowRight');
      await p.keyboard.press('Enter');
      await settle(p, 900);
      const seen = await p.evaluate(() => {
        const ex = document.querySelector('.explain');
        const r = ex && !ex.hidden ? ex.getBoundingClientRect() : null;
        return { top: r ? Math.round(r.top) : null, height: window.innerHeight, focus: document.activeElement?.className ?? '' };
      });
      console.log(`  explanation top at ${seen.top} px of ${seen.height}; focus on ${seen.focus}`);
      if (view === 'panel' && (seen.top === null || seen.top < 0 || seen.top > seen.height * 0.5)) problems.push(`narrow-${tag}: the explanation is not in view after Enter (top ${seen.top} of ${seen.height})`);
      await p.screenshot({ path: at('explain') });
      if (view === 'panel') {
        await p.evaluate(() => document.querySelector('.section-next').scrollIntoView({ block: 'start' }));
        await settle(p, 200);
        await p.screenshot({ path: at('next') });
      }
      return p;
    },
  };
}
for (const theme of ['dark', 'light', 'hc']) {
  for (const viewport of extraViewport ? [extraViewport] : [{ width: 540, height: 798 }, { width: 300, height: 798 }]) {
    shots.push(narrowShot(theme, viewport, 'panel'));
    if (viewport.width <= 400) shots.push(narrowShot(theme, viewport, 'side'));
  }
}
shots.push(familyShot('llama3', 'dark', { query: 9, key: 2 }, 1));

for (const shot of shots) {
  if (filter && !shot.name.includes(filter)) continue;
  const started = Date.now();
  try {
    const p = await shot.run();
    await p.context().close();
    console.log(`✓ ${shot.name} (${Date.now() - started} ms)`);
  } catch (e) {
    problems.push(`${shot.name}: ${e.stack ?? e}`);
    console.log(`✗ ${shot.name}`);
  }
}
await browser.close();
server.close();
if (problems.length) {
  console.log(`\n${problems.length} problem(s):\n${problems.join('\n')}`);
  process.exitCode = 1;
} else console.log(`\nScreenshots in ${OUT}`);
