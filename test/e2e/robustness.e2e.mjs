// End-to-end robustness on the real workbench: what a webview, a worker or a user can throw at the extension.
//
// 1. A burst of hundreds of malformed and hostile messages sent from inside the panel's real webview, through
//    the very function the webview's own `acquireVsCodeApi().postMessage` calls. The extension must refuse
//    each one (its log says so, one line per message), act on none (no command, no file, no selection, no
//    highlight, no notification, no answer to the webview), and keep working afterwards.
// 2. A long inspection followed by a short one: the short result must be painted within 1 s of the request.
//
// How a webview message travels in this VS Code (1.139, src/vs/workbench/contrib/webview/browser/pre/index.html):
// the webview's document is the inner iframe (#active-frame) of VS Code's host page (iframe.webview). The
// host page defines `window.__vscode_post_message__(channel, data)` and relays ('onmessage', { message })
// to the workbench over a MessageChannel; `acquireVsCodeApi().postMessage(m)` calls exactly
// `parent.__vscode_post_message__('onmessage', { message: m, transfer })`. The API script then sets
// `window.parent = window` and `window.top = window` in the inner frame, so `window.parent.postMessage(…)`
// from the webview posts to itself and never reaches the host page, which has no 'message' listener for
// its inner frame anyway. So these tests take the host page's window from the `source` of a message the host
// page delivers to the webview, and call its `__vscode_post_message__` as the API does.
import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  editorText,
  extensionsSettled,
  panelWebview,
  quickInput,
  quickOpen,
  readExtensionLog,
  runCommand,
  selectWholeLine,
  updateWorkspaceSettings,
  waitUntil,
} from './helpers.mjs';
import { hostileBurst } from './hostileMessages.mjs';

const SENTENCE = 'The cat sat on the mat because it was tired.';
const LINE4 = "The animal didn't cross the street because it was too wide.";
const REFUSED = 'Ignored a message from the panel webview: ';
const count = (text, needle) => text.split(needle).length - 1;

/**
 * The entries of a log written since `since` (ms since the epoch). Entries start with the local time,
 * "2026-11-29 15:46:08.663 [warning] …"; lines without one continue the previous entry. Going by time, not
 * by offset, keeps this right when the log is rotated into several files.
 */
function logSince(text, since) {
  const entries = text.split(/\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} )/);
  return entries
    .filter((e) => {
      const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3}) /.exec(e);
      return m && new Date(+m[1], m[2] - 1, +m[3], +m[4], +m[5], +m[6], +m[7]).getTime() >= since;
    })
    .map((e) => e.replace(/\n$/, ''))
    .join('\n');
}

/** Installs (once) a listener in the webview that records what the host page delivers, and keeps its window. */
async function spyOnWebview(frame) {
  await frame.locator('body').evaluate(() => {
    if (window.__robustness) return;
    const spy = (window.__robustness = { received: [], relay: null });
    window.addEventListener('message', (event) => {
      const d = event.data;
      spy.received.push({
        at: Date.now(),
        type: d && typeof d === 'object' ? String(d.type) : typeof d,
        resultId: d?.summary?.resultId ?? null,
        tokens: d?.summary?.tokens?.length ?? null,
      });
      if (!spy.relay && event.source && event.source !== window) {
        try {
          if (typeof event.source.__vscode_post_message__ === 'function') spy.relay = event.source;
        } catch {
          /* not the host page */
        }
      }
    });
  });
}

/** What the webview has received since the spy was installed. */
const received = (frame) => frame.locator('body').evaluate(() => window.__robustness.received.slice());

/** Waits until the webview has received nothing from the host for `ms` milliseconds. */
async function quiet(frame, ms) {
  await waitUntil(async () => {
    const last = (await received(frame)).at(-1);
    return !last || Date.now() - last.at >= ms;
  }, { timeout: 20_000, message: `${ms} ms without messages from the host` });
}

/** Files under `dir` with size and modification time, to tell whether anything was written. */
function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out.push(`${relative(dir, p)} ${st.size} ${st.mtimeMs}`);
    }
  };
  walk(dir);
  return out.sort();
}

/** Decorations contributed by extensions (class ced-…) in the visible editors: the attention highlights. */
const extensionDecorations = (page) => page.locator('.part.editor .monaco-editor .view-overlays .cdr[class*="ced-"]').count();

/** Labels of every editor tab, and the visible notification toasts' texts. */
const tabLabels = async (page) => (await page.locator('.tabs-container .tab').allInnerTexts()).map((t) => t.trim()).sort();
const toasts = async (page) => (await page.locator('.notification-toast').allInnerTexts()).map((t) => t.trim());

/** The heatmap canvas's pixels, reduced to a fingerprint and a count of distinct colours. */
const canvasPixels = (canvas) =>
  canvas.evaluate((el) => {
    const data = el.getContext('2d').getImageData(0, 0, el.width, el.height).data;
    const colours = new Set();
    let hash = 0;
    for (let i = 0; i < data.length; i += 4) {
      const c = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
      if (colours.size < 5000) colours.add(c);
      hash = (Math.imul(hash, 31) + c) | 0;
    }
    return { colours: colours.size, hash, width: el.width, height: el.height };
  });

export async function hostileWebviewMessagesChangeNothing({ page, server, workspace, paths, screenshot }) {
  // A two-layer GPT-2 (the tiny test checkpoint), so the webview has a layer to ask for later.
  await updateWorkspaceSettings(workspace, { 'attentionInspector.model': 'gpt2Folder', 'attentionInspector.gpt2Folder': join(paths.root, 'test', 'fixtures', 'gpt2-tiny') });
  await quickOpen(page, 'sample.md');
  await editorText(page).getByText(SENTENCE).waitFor({ timeout: 15_000 });
  await extensionsSettled(page);
  await selectWholeLine(page, 3, SENTENCE.length);
  await runCommand(page, 'Attention Inspector: Inspect Selection');
  const frame = await panelWebview(page);
  const canvas = frame.locator('canvas.hm-canvas');
  await canvas.waitFor({ state: 'visible', timeout: 20_000 });
  await spyOnWebview(frame);
  // Settings that arrive after an inspection make the extension re-run it 500 ms later: wait for the
  // GPT-2 result and for the host to fall quiet, so no late re-run lands in the measurements below.
  const status = frame.locator('.toolbar .status');
  await waitUntil(async () => /2 layers/.test(await status.innerText()), { message: 'the panel to show the two-layer GPT-2 (settings applied)' });
  await quiet(frame, 1500);

  // Inspect again: the spy sees the result (its id) and the host page that delivers it.
  await selectWholeLine(page, 3, SENTENCE.length);
  await runCommand(page, 'Attention Inspector: Inspect Selection');
  const result = await waitUntil(async () => (await received(frame)).findLast((m) => m.type === 'result'), { message: 'a result delivered to the webview' });
  const { resultId, tokens: n } = result;
  await waitUntil(async () => (await status.innerText()).includes(`${n} tokens`), { message: `the panel status to show ${n} tokens` });
  assert.match(await status.innerText(), /2 layers/);
  await quiet(frame, 1000);
  assert.equal(await frame.locator('body').evaluate(() => window.__robustness.relay !== null), true, 'the webview host page was not found');
  const label = `layer 0, head 0: ${n} query rows by ${n} key columns`;
  await waitUntil(async () => (await canvas.getAttribute('aria-label'))?.includes(label), { message: `the heatmap of ${n} tokens` });
  await page.waitForTimeout(500); // (let the editor settle: no decorations, no toasts pending)

  /** What a person (or the file system) could notice of a message being acted on. */
  const observable = async () => ({
    selection: (await page.locator('.part.statusbar .statusbar-item', { hasText: /Ln \d+, Col \d+/ }).allInnerTexts()).map((t) => t.trim()),
    decorations: await extensionDecorations(page),
    tabs: await tabLabels(page),
    quickInput: await quickInput(page).isVisible(),
    toasts: await toasts(page),
    files: listFiles(workspace),
    heatmap: await canvas.getAttribute('aria-label'),
    pixels: await canvasPixels(canvas),
    errorBanners: await frame.locator('.banner-error').count(),
  });

  // Everything the burst must leave alone.
  const before = await observable();
  assert.deepEqual(before.selection, [`Ln 3, Col ${SENTENCE.length + 1} (${SENTENCE.length} selected)`]);
  assert.equal(before.decorations, 0, 'the editor already shows attention highlights');
  assert.ok(before.pixels.colours >= 8, `the heatmap is not drawn (${before.pixels.colours} colours)`);
  const burstStart = Date.now() - 1; // (log timestamps have millisecond precision)
  const receivedBefore = (await received(frame)).length;

  const burst = await frame.locator('body').evaluate(hostileBurst, { resultId, n, post: true });
  assert.ok(burst.refused >= 300, `only ${burst.refused} hostile messages`);

  // The host received every one and refused each with a reason; nothing else was logged. (Waits until all
  // are logged, or until the count has not moved for 15 s.)
  let log = '';
  let seen = -1;
  let movedAt = Date.now();
  await waitUntil(
    async () => {
      log = logSince(await readExtensionLog(server), burstStart);
      const now = count(log, REFUSED);
      if (now !== seen) [seen, movedAt] = [now, Date.now()];
      return now >= burst.refused || (now > 0 && Date.now() - movedAt > 15_000);
    },
    { timeout: 90_000, interval: 250, message: `${burst.refused} refusals in the extension's log` },
  ).catch((err) => {
    throw new Error(`${err.message}; ${count(log, REFUSED)} logged`);
  });
  const refusedMs = Date.now() - burst.postedAt;
  await page.waitForTimeout(1000); // (the harmless ones, posted last, have arrived too)
  log = logSince(await readExtensionLog(server), burstStart);
  const lines = log.split('\n').filter(Boolean);
  const longest = Math.max(...lines.map((l) => l.length));

  // Nothing changed: no command ran (no settings or other editor opened, no quick pick such as Choose
  // Model… or Export…, no file written), no selection moved, no highlight was set, no notification, no
  // redraw, and the host sent the webview nothing.
  assert.deepEqual(await observable(), before, 'the hostile messages changed something');
  const answers = (await received(frame)).slice(receivedBefore);
  assert.deepEqual(answers, [], 'the host answered the hostile messages');
  // Each malformed message was received and refused (a message posted into the void would prove nothing),
  // and the burst made the extension log nothing else (an error, an inspection).
  assert.equal(count(log, REFUSED), burst.refused, `${count(log, REFUSED)} refusals logged for ${burst.refused} malformed messages`);
  const other = lines.filter((l) => !l.includes(REFUSED));
  assert.deepEqual(other.map((l) => l.slice(0, 300)), [], 'the burst made the extension log something other than refusals');
  await screenshot('robustness-after-burst');
  console.log(`    [robustness] ${burst.refused} malformed + ${burst.harmless} out-of-range messages posted in ${burst.postMs} ms; all ${burst.refused} refusals logged ${refusedMs} ms after the first was posted; log grew by ${log.length.toLocaleString()} characters, longest line ${longest.toLocaleString()}`);

  // The extension still works: a normal inspection paints the heatmap of the new selection…
  await selectWholeLine(page, 4, LINE4.length);
  const seenBefore = (await received(frame)).length;
  await runCommand(page, 'Attention Inspector: Inspect Selection');
  const next = await waitUntil(async () => (await received(frame)).slice(seenBefore).find((m) => m.type === 'result'), { message: 'a new result' });
  assert.ok(next.resultId > resultId);
  assert.notEqual(next.tokens, n);
  await waitUntil(async () => (await canvas.getAttribute('aria-label'))?.includes(`layer 0, head 0: ${next.tokens} query rows`), { message: `the heatmap of line 4 (${next.tokens} tokens)` });
  const layer0 = await waitUntil(async () => {
    const p = await canvasPixels(canvas);
    return p.hash !== before.pixels.hash && p.colours >= 8 && p;
  }, { message: 'the new heatmap to be painted' });

  // …and the webview's requests are still answered: show layer 1 from the head overview (ArrowDown, Enter).
  await frame.locator('canvas.thumbs-canvas').focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await waitUntil(async () => (await canvas.getAttribute('aria-label'))?.includes(`layer 1, head 0: ${next.tokens} query rows`), { message: 'the heatmap to switch to layer 1' });
  await waitUntil(async () => (await frame.locator('.layer-status').innerText()).trim() === '', { message: 'layer 1 to arrive' });
  const layer1 = await waitUntil(async () => {
    const p = await canvasPixels(canvas);
    return p.hash !== layer0.hash && p.colours >= 8 && p;
  }, { message: 'layer 1 to be painted' });
  assert.ok(layer1.colours >= 8);
  assert.equal(await frame.locator('.banner-error').count(), 0, 'the panel shows an error after asking for layer 1');
  await canvas.scrollIntoViewIfNeeded();
  await screenshot('robustness-still-works');

  // Last (so a failure here hides none of the above): refusals are logged briefly, never with the untrusted
  // value itself (a few of these messages carry 5 MB strings).
  assert.ok(longest <= 1000, `a refusal logs the untrusted value itself: a ${longest.toLocaleString()}-character log line`);
  assert.ok(log.length < 500_000, `the burst wrote ${log.length.toLocaleString()} characters to the log`);
}

export async function newSelectionCancelsLongInspection({ page, server, workspace, screenshot }) {
  // Seconds of work: 4000 characters, d_model 1024, 16 heads (the worker cuts it to 2048 tokens). Not
  // painted alone here: its first layer alone is 16 × 2048² × 2 floats = 512 MB for the webview (about 20 s
  // from key press to heatmap on the 2-core machine); the integration test times its computation.
  await updateWorkspaceSettings(workspace, {
    'attentionInspector.random.dModel': 1024,
    'attentionInspector.random.heads': 16,
    'attentionInspector.tokenizer': 'char',
    'attentionInspector.maxTokens': 4096,
  });
  const long = Array.from({ length: 400 }, (_, i) => `${`token${i % 10}`.padEnd(9)} `).join('');
  const reference = 'A quick brown fox jumps over the lazy dog.';
  const short = 'The cat sat on the mat.';
  writeFileSync(join(workspace, 'long.txt'), `${long}\n${reference}\n${short}\n`);
  await quickOpen(page, 'long.txt');
  await editorText(page).getByText(short).waitFor({ timeout: 15_000 });
  await extensionsSettled(page);

  // A short line alone, for reference (another line than the measured one, so the canvas does not show it yet).
  await selectWholeLine(page, 2, reference.length);
  await page.keyboard.press('Control+Alt+A');
  const frame = await panelWebview(page);
  const canvas = frame.locator('canvas.hm-canvas');
  const status = frame.locator('.toolbar .status');
  const busy = frame.locator('.busy-text');
  await spyOnWebview(frame);
  await waitUntil(async () => new RegExp(`: ${reference.length} query rows`).test((await canvas.getAttribute('aria-label')) ?? ''), { message: 'the reference heatmap' });
  // (Settings that arrive after an inspection make the extension re-run it 500 ms later.)
  await waitUntil(async () => /1024/.test(await status.innerText()) && /16 heads/.test(await status.innerText()), { message: 'the panel to show d_model 1024 with 16 heads (settings applied)' });
  await busy.waitFor({ state: 'hidden', timeout: 10_000 });
  await quiet(frame, 1000);
  const seenBefore = (await received(frame)).length;

  // The long line; while it computes, select the short line and inspect it.
  await selectWholeLine(page, 1, long.length);
  const longStart = Date.now();
  await page.keyboard.press('Control+Alt+A');
  await busy.waitFor({ state: 'visible', timeout: 5_000 });
  await page.waitForTimeout(1000);
  await selectWholeLine(page, 3, short.length);
  // Otherwise this would time an ordinary inspection, not one that has to get past a running one.
  assert.equal(await busy.isVisible(), true, 'the long inspection ended before the short one was requested');
  // A watcher in the webview notes when the short heatmap is on screen: its label, and a grid of
  // `short.length` equal cells drawn along the bottom row of the canvas.
  await canvas.evaluate((el, n) => {
    window.__painted = null;
    const drawn = () => {
      const W = el.width, H = el.height;
      if (!W || !H) return false;
      const data = el.getContext('2d').getImageData(0, 0, W, H).data;
      const at = (x, y) => (y * W + x) * 4;
      const bg = [data[0], data[1], data[2]];
      const isBg = (i) => Math.abs(data[i] - bg[0]) + Math.abs(data[i + 1] - bg[1]) + Math.abs(data[i + 2] - bg[2]) <= 6;
      for (let y = H - 1; y > 0; y--) {
        const runs = [];
        let start = -1;
        for (let x = 0; x <= W; x++) {
          const filled = x < W && !isBg(at(x, y));
          if (filled && start < 0) start = x;
          if (!filled && start >= 0) {
            if (x - start >= 4) runs.push(x - start);
            start = -1;
          }
        }
        // The grid's bottom row: n equal cells at the right (row labels, if any, lie to their left).
        if (runs.length >= n) {
          const cells = runs.slice(-n);
          return Math.max(...cells) - Math.min(...cells) <= 2;
        }
      }
      return false;
    };
    const tick = () => {
      if ((el.getAttribute('aria-label') ?? '').includes(`: ${n} query rows`) && drawn()) window.__painted = Date.now();
      else requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }, short.length);
  const requested = Date.now();
  await page.keyboard.press('Control+Alt+A');
  const painted = await waitUntil(() => canvas.evaluate(() => window.__painted), { timeout: 15_000, interval: 20, message: 'the short heatmap to be painted' });
  const paintMs = painted - requested;
  await busy.waitFor({ state: 'hidden', timeout: 10_000 });
  await page.waitForTimeout(500);
  // The long run never replaces the short result afterwards, and never reached the views.
  assert.match((await canvas.getAttribute('aria-label')) ?? '', new RegExp(`: ${short.length} query rows`), 'the long result replaced the short one');
  assert.match(await status.innerText(), new RegExp(`${short.length} tokens · long\\.txt:3`));
  const results = (await received(frame)).slice(seenBefore).filter((m) => m.type === 'result').map((m) => m.tokens);
  assert.deepEqual(results, [short.length], 'the webview got other results than the short one (the long one?)');
  const log = await readExtensionLog(server);
  const hostMs = (re) => [...log.matchAll(re)].map((m) => Number(m[1])).at(-1);
  await screenshot('robustness-cancelled');
  const figures =
    `reference short inspection ${hostMs(new RegExp(`Inspected ${reference.length} tokens of long\\.txt .* in (\\d+) ms`, 'g'))} ms in the host;` +
    ` short requested ${requested - longStart} ms into the long run, painted ${paintMs} ms later` +
    ` (the host's own timing of it: ${hostMs(new RegExp(`Inspected ${short.length} tokens of long\\.txt .* in (\\d+) ms`, 'g'))} ms)`;
  console.log(`    [robustness] ${figures}`);
  assert.ok(paintMs <= 1000, `the short result was painted ${paintMs} ms after it was requested (limit 1000 ms): ${figures}`);
}
