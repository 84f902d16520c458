// End-to-end: Inspect Selection on sample.md with the default model (seeded random layer, d_model 64,
// 4 heads → d_k 16, causal, word tokenizer) and what a person then sees and does in the webviews:
// the heatmap (pixels, labels), hover and keyboard readouts, the step trace and its cell explanation, and
// the side view. Each exported async function is a test ({ page, theme, screenshot }), run in a fresh
// code-server per theme.
//
// Token labels are drawn only on the canvas (its aria-label names no tokens), so they are checked two ways:
// the ink of each drawn label (its length must match its token's) and the accessible texts that do name
// tokens (the aria-live readout while moving over the cells with the keyboard, the trace tables' headers).
import assert from 'node:assert/strict';
import { editorText, extensionsSettled, quickOpen, runCommand, selectWholeLine, waitUntil as until } from './helpers.mjs';

/** Line 3 of sample.md, and its tokens as the word tokenizer shows them. */
const SENTENCE = 'The cat sat on the mat because it was tired.';
const TOKENS = ['The', '·cat', '·sat', '·on', '·the', '·mat', '·because', '·it', '·was', '·tired', '.'];
const N = TOKENS.length;
const D_K = 16;
/** Line 4: The ·animal ·didn ' t ·cross ·the ·street ·because ·it ·was ·too ·wide . */
const LINE4_TOKENS = 14;
/** Step titles of the random model's trace, in order (src/engine/attention.ts). */
const STEP_TITLES = ['X (input)', 'W_query', 'W_key', 'W_value', 'Q (queries)', 'K (keys)', 'V (values)', 'QKᵀ', '÷√d_k', 'Mask', 'Softmax', 'weights·V', 'Concat', 'W_out (out_proj)', 'Output'];

const MINUS = '\u2212';
/** A number as the webview prints it (true minus sign, maybe an exponent). */
const NUM = `${MINUS}?\\d+(?:\\.\\d+)?(?:e${MINUS}?\\d+)?`;
const parseNum = (s) => Number(String(s).trim().replaceAll(MINUS, '-'));
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const q = (token) => `"${escapeRe(token)}"`;

/** `#2 "·sat" → #1 "·cat": 0.412 (score 1.03)` for an unmasked cell of a head; captures weight and score. */
const readoutRe = (query, key) => new RegExp(`^#${query} ${q(TOKENS[query])} → #${key} ${q(TOKENS[key])}: (${NUM}) \\(score (${NUM})\\)$`);
const maskedRe = (query, key) =>
  new RegExp(`^#${query} ${q(TOKENS[query])} → #${key} ${q(TOKENS[key])}: masked \\(causal\\): query ${query} cannot see key ${key} \\(weight 0\\)$`);
const HINT = 'Hover a cell to read it; click (or press Enter) to see its arithmetic.';

/** Waits until the locator's text matches `re` (string: equals); returns the text. */
async function textMatching(locator, re, { timeout = 10_000, what = 'text' } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const text = (await locator.innerText().catch(() => '')).trim();
    if (typeof re === 'string' ? text === re : re.test(text)) return text;
    if (Date.now() > end) throw new Error(`${what}: expected ${typeof re === 'string' ? JSON.stringify(re) : re}, got ${JSON.stringify(text)} (after ${timeout} ms)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Opens sample.md and selects line 3 (Ctrl+G 3, Home, Shift+End), checked in the status bar. */
async function selectSentence(page) {
  await quickOpen(page, 'sample.md');
  await editorText(page).getByText(SENTENCE).waitFor({ timeout: 15_000 });
  await extensionsSettled(page);
  await selectWholeLine(page, 3, SENTENCE.length);
}

/**
 * The inner frame of the webview whose iframe lies inside the workbench part `partSelector` (webview
 * iframes live in an overlay layer, not inside their part, so they are matched by position).
 */
async function webviewIn(page, partSelector, { timeout = 20_000 } = {}) {
  const name = await until(
    () =>
      page.evaluate((sel) => {
        const parts = [...document.querySelectorAll(sel)].filter((p) => p.getBoundingClientRect().width > 0);
        for (const f of document.querySelectorAll('iframe.webview.ready')) {
          const r = f.getBoundingClientRect();
          if (r.width < 50 || r.height < 50) continue;
          const inside = parts.some((p) => {
            const b = p.getBoundingClientRect();
            return r.left >= b.left - 1 && r.right <= b.right + 1 && r.top >= b.top - 1 && r.bottom <= b.bottom + 1;
          });
          if (inside) return f.getAttribute('name');
        }
        return null;
      }, partSelector),
    { timeout, message: `a webview inside ${partSelector}` },
  );
  return page.frameLocator(`iframe.webview.ready[name="${name}"]`).frameLocator('#active-frame');
}

/** Runs Inspect Selection from the palette and returns the panel's webview (in the editor area) once its heatmap shows. */
async function inspectSentence(page) {
  await runCommand(page, 'Attention Inspector: Inspect Selection');
  await page.locator('.tabs-container .tab', { hasText: 'Attention Inspector' }).waitFor({ timeout: 15_000 });
  const frame = await webviewIn(page, '.part.editor');
  await frame.locator('body[data-view="panel"]').waitFor({ state: 'attached', timeout: 15_000 });
  const canvas = frame.locator('canvas.hm-canvas');
  await canvas.waitFor({ state: 'visible', timeout: 20_000 });
  await until(async () => /layer 0, head 0: 11 query rows by 11 key columns/.test((await canvas.getAttribute('aria-label')) ?? ''), {
    message: 'the heatmap of 11 tokens (canvas aria-label)',
  });
  return frame;
}

/**
 * The heatmap's grid as drawn, found from the canvas's own pixels (CSS px, relative to the canvas): the
 * bottom row and the first column are never masked, so each shows exactly n filled runs, one per cell,
 * separated by the 1 px grid lines in the background colour.
 */
async function readGrid(canvas, n) {
  return until(
    () =>
      canvas.evaluate((el, n) => {
        const dpr = window.devicePixelRatio || 1;
        const W = el.width, H = el.height;
        const data = el.getContext('2d').getImageData(0, 0, W, H).data;
        const at = (x, y) => {
          const i = (Math.round(y) * W + Math.round(x)) * 4;
          return [data[i], data[i + 1], data[i + 2]];
        };
        const bg = at(0, 0);
        const isBg = (c) => Math.abs(c[0] - bg[0]) + Math.abs(c[1] - bg[1]) + Math.abs(c[2] - bg[2]) <= 6;
        const runs = (len, get) => {
          const out = [];
          let start = -1;
          for (let i = 0; i <= len; i++) {
            const filled = i < len && !isBg(get(i));
            if (filled && start < 0) start = i;
            if (!filled && start >= 0) {
              if (i - start >= 4) out.push([start, i - 1]);
              start = -1;
            }
          }
          return out;
        };
        // The grid's bottom: the lowest pixel row whose filled runs look like n cells.
        for (let y = H - 1; y > 0; y--) {
          const row = runs(W, (x) => at(x, y));
          if (row.length < n) continue;
          const cells = row.slice(-n);
          const pitch = (cells[n - 1][0] - cells[0][0]) / (n - 1);
          if (!(pitch >= 4)) continue;
          // Up the middle of the first column.
          const x = (cells[0][0] + cells[0][1]) / 2 - 0.25 * pitch;
          const col = runs(H, (yy) => at(x, yy)).filter(([a]) => a <= y);
          if (col.length < n) return null;
          const vcells = col.slice(-n);
          const vpitch = (vcells[n - 1][0] - vcells[0][0]) / (n - 1);
          return {
            bg,
            dpr,
            x0: (cells[0][0] - 1) / dpr,
            y0: (vcells[0][0] - 1) / dpr,
            cell: pitch / dpr,
            vcell: vpitch / dpr,
            cssWidth: W / dpr,
            cssHeight: H / dpr,
          };
        }
        return null;
      }, n),
    { timeout: 15_000, message: 'the heatmap grid to be drawn' },
  );
}

/** Per-cell pixel statistics of the drawn grid, plus the ink extent of every row and column label. */
async function analyse(canvas, grid, n) {
  return canvas.evaluate(
    (el, { grid, n }) => {
      const { dpr, bg } = grid;
      const W = el.width;
      const data = el.getContext('2d').getImageData(0, 0, el.width, el.height).data;
      const at = (x, y) => {
        const i = (Math.round(y) * W + Math.round(x)) * 4;
        return [data[i], data[i + 1], data[i + 2]];
      };
      const key = (c) => c.join(',');
      const isBg = (c) => Math.abs(c[0] - bg[0]) + Math.abs(c[1] - bg[1]) + Math.abs(c[2] - bg[2]) <= 6;
      const cells = [];
      for (let qi = 0; qi < n; qi++) {
        const row = [];
        for (let k = 0; k < n; k++) {
          // The cell's interior (3 px in from the grid lines), in device pixels.
          const left = (grid.x0 + k * grid.cell) * dpr, top = (grid.y0 + qi * grid.cell) * dpr;
          const side = grid.cell * dpr;
          const counts = new Map();
          let bgCount = 0, total = 0;
          for (let y = top + 3 * dpr; y < top + side - 3 * dpr; y++) {
            for (let x = left + 3 * dpr; x < left + side - 3 * dpr; x++) {
              const c = at(x, y);
              counts.set(key(c), (counts.get(key(c)) ?? 0) + 1);
              if (isBg(c)) bgCount++;
              total++;
            }
          }
          const [dominant, dominantCount] = [...counts].sort((a, b) => b[1] - a[1])[0];
          const [r, g, b] = dominant.split(',').map(Number);
          row.push({ dominant, uniform: dominantCount / total, bgShare: bgCount / total, colours: counts.size, lum: 0.2126 * r + 0.7152 * g + 0.0722 * b });
        }
        cells.push(row);
      }
      // Ink of the row labels (left of the grid, right-aligned) and the column labels (above, bottom-aligned).
      const rowInk = [], colInk = [];
      for (let i = 0; i < n; i++) {
        const yc = (grid.y0 + (i + 0.5) * grid.cell) * dpr;
        let left = Infinity;
        for (let y = yc - 6 * dpr; y <= yc + 6 * dpr; y++) for (let x = 0; x < (grid.x0 - 1) * dpr; x++) if (!isBg(at(x, y))) left = Math.min(left, x);
        rowInk.push(left === Infinity ? 0 : (grid.x0 * dpr - left) / dpr);
        const xc = (grid.x0 + (i + 0.5) * grid.cell) * dpr;
        let topInk = Infinity;
        for (let x = xc - 6 * dpr; x <= xc + 6 * dpr; x++) for (let y = 0; y < (grid.y0 - 1) * dpr; y++) if (!isBg(at(x, y))) topInk = Math.min(topInk, y);
        colInk.push(topInk === Infinity ? 0 : (grid.y0 * dpr - topInk) / dpr);
      }
      return { cells, rowInk, colInk };
    },
    { grid, n },
  );
}

/** Viewport (page) coordinates of a cell's centre: the canvas's box in the page plus the grid geometry. */
async function cellCentre(canvas, grid, query, key) {
  const box = await canvas.boundingBox();
  assert.ok(box, 'the heatmap canvas has no bounding box');
  return { x: box.x + grid.x0 + (key + 0.5) * grid.cell, y: box.y + grid.y0 + (query + 0.5) * grid.cell };
}

/** Moves the pointer over a cell, at its centre or at (fx, fy) ∈ (0, 1) across it. */
async function hoverCell(page, canvas, grid, query, key, fx = 0.5, fy = 0.5) {
  const c = await cellCentre(canvas, grid, query, key);
  const p = { x: c.x + (fx - 0.5) * grid.cell, y: c.y + (fy - 0.5) * grid.cell };
  // Two moves, so the canvas gets a mousemove inside it even if the pointer was already there.
  await page.mouse.move(p.x - 2, p.y - 2);
  await page.mouse.move(p.x, p.y, { steps: 2 });
}

/**
 * The attention highlights in the editor (line 3): decorations drawn behind the text, as character ranges
 * [from, to) with whether each is shaded (background) or outlined (the query token).
 */
async function editorHighlights(page) {
  return page.locator('.part.editor').evaluate((part) => {
    const line = [...part.querySelectorAll('.monaco-editor .view-line')].find((l) => l.textContent.replace(/\u00a0/g, ' ').startsWith('The cat sat'));
    if (!line) return null;
    const text = line.querySelector('span');
    const charW = text.getBoundingClientRect().width / text.textContent.length;
    const alpha = (c) => {
      const m = /rgba?\(([^)]+)\)/.exec(c);
      if (!m) return 0;
      const parts = m[1].split(',');
      return parts.length > 3 ? Number(parts[3]) : 1;
    };
    return [...part.querySelectorAll('.monaco-editor .view-overlays .cdr[class*="ced-"]')]
      .map((d) => {
        const st = getComputedStyle(d);
        return {
          from: Math.round(parseFloat(d.style.left) / charW),
          to: Math.round((parseFloat(d.style.left) + parseFloat(d.style.width)) / charW),
          shaded: alpha(st.backgroundColor) > 0,
          outlined: (st.borderTopStyle !== 'none' && parseFloat(st.borderTopWidth) > 0) || (st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) > 0),
        };
      })
      .filter((d) => d.shaded || d.outlined)
      .sort((a, b) => a.from - b.from || a.to - b.to);
  });
}

/** A step card of the trace. */
const stepCard = (frame, id) => frame.locator(`article.trace-card#step-${id}`);
/** The exact value (title) of the cell (r, c) in a step's table. */
async function stepValue(frame, id, r, c) {
  const title = await stepCard(frame, id).locator(`td[data-r="${r}"][data-c="${c}"]`).getAttribute('title');
  return title.startsWith(`${MINUS}∞`) ? -Infinity : Number(title);
}

// ---------------------------------------------------------------------------------------------------------

export async function inspectSelectionDrawsTheHeatmap({ page, screenshot }) {
  await selectSentence(page);
  const frame = await inspectSentence(page);
  const canvas = frame.locator('canvas.hm-canvas');

  // The panel says what it shows.
  await textMatching(frame.locator('.toolbar .status'), /^Random \(d_model 64, 4 heads, seed 42, causal\) · 11 tokens · sample\.md:3 · /, { what: 'toolbar status' });
  assert.equal((await frame.locator('.heatmap-title').innerText()).trim(), 'Head 0');
  assert.equal(await canvas.getAttribute('role'), 'img');
  assert.equal(await canvas.getAttribute('tabindex'), '0', 'the heatmap canvas is not focusable');
  assert.equal(await frame.locator('.readout').getAttribute('aria-live'), 'polite');

  // The grid: 11 × 11 square cells, found from the pixels alone.
  const grid = await readGrid(canvas, N);
  assert.ok(Math.abs(grid.cell - grid.vcell) < 1, `cells are not square: ${grid.cell} × ${grid.vcell}`);
  assert.ok(grid.cell >= 12, `cells of ${grid.cell} px are too small to read for 11 tokens in the panel`);
  assert.ok(grid.x0 + N * grid.cell <= grid.cssWidth + 1 && grid.y0 + N * grid.cell <= grid.cssHeight + 1, 'the grid is cut off');

  const { cells, rowInk, colInk } = await analyse(canvas, grid, N);
  const colours = new Set();
  for (let qi = 0; qi < N; qi++) {
    for (let k = 0; k < N; k++) {
      const c = cells[qi][k];
      const where = `cell (${qi}, ${k})`;
      if (k > qi) {
        // Causal: keys after the query are masked, drawn as a hatch (background with diagonal lines).
        assert.ok(c.bgShare > 0.4 && c.bgShare < 0.97 && c.colours >= 2, `${where} should be hatched (masked): ${JSON.stringify(c)}`);
      } else {
        // Visible: one solid colour from the scale, never the background.
        assert.ok(c.uniform > 0.6 && c.bgShare < 0.05, `${where} should be a solid colour: ${JSON.stringify(c)}`);
        colours.add(c.dominant);
      }
    }
  }
  assert.ok(colours.size >= 8, `only ${colours.size} distinct colours in the 66 visible cells`);
  // Row 0 sees only itself: weight 1.0, the top of the scale (cividis brightens monotonically).
  for (let qi = 1; qi < N; qi++) {
    for (let k = 0; k <= qi; k++) assert.ok(cells[0][0].lum > cells[qi][k].lum, `cell (0, 0) (weight 1) is not the brightest: (${qi}, ${k}) is as bright`);
  }

  // Labels: every row and column has one, and its length follows its token's (monospace font).
  const chars = TOKENS.map((t) => [...t].length);
  for (const [axis, ink] of [['row', rowInk], ['column', colInk]]) {
    for (let i = 0; i < N; i++) assert.ok(ink[i] > 0, `${axis} ${i} (${TOKENS[i]}) has no label`);
    const longest = ink.indexOf(Math.max(...ink));
    assert.equal(TOKENS[longest], '·because', `the longest ${axis} label is at ${longest}, not at "·because": ${ink}`);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        if (chars[i] >= chars[j] + 2) assert.ok(ink[i] > ink[j], `${axis} label ${TOKENS[i]} is not longer than ${TOKENS[j]}: ${ink}`);
      }
    }
  }

  await screenshot('inspect-panel');

  // The labels' words, through the text the webview gives assistive tech: the live readout of the
  // focused cell, walking down the first column.
  const readout = frame.locator('.readout');
  await canvas.focus();
  const first = await textMatching(readout, readoutRe(0, 0), { what: 'readout on focus' });
  assert.equal(readoutRe(0, 0).exec(first)[1], '1.00', 'the first token attends only to itself (weight 1)');
  for (const i of [1, 2]) {
    await page.keyboard.press('ArrowDown');
    await textMatching(readout, readoutRe(i, 0), { what: `readout after ArrowDown to row ${i}` });
  }
  // Focus leaving the heatmap keeps the selected cell in the readout.
  await canvas.blur();
  await page.waitForTimeout(200);
  assert.match((await readout.innerText()).trim(), readoutRe(2, 0), 'the readout lost the selected cell on blur');
}

export async function hoverAndKeyboardReadout({ page, screenshot }) {
  await selectSentence(page);
  const frame = await inspectSentence(page);
  const canvas = frame.locator('canvas.hm-canvas');
  const readout = frame.locator('.readout');
  const grid = await readGrid(canvas, N);
  await textMatching(readout, HINT, { what: 'initial readout' });
  const plain = await analyse(canvas, grid, N);

  // Hover: the readout names the query (row) and key (column) under the pointer.
  await hoverCell(page, canvas, grid, 2, 1);
  const text21 = await textMatching(readout, readoutRe(2, 1), { what: 'readout hovering (2, 1)' });
  const w21 = parseNum(readoutRe(2, 1).exec(text21)[1]);
  assert.ok(w21 > 0 && w21 < 1, `weight ${w21} of (2, 1) is not in (0, 1)`);
  // The hovered cell's row and column labels are highlighted (a background and their index): wider ink.
  await until(
    async () => {
      const hot = await analyse(canvas, grid, N);
      return hot.rowInk[2] > plain.rowInk[2] + 4 && hot.colInk[1] > plain.colInk[1] + 4 && hot.rowInk[5] === plain.rowInk[5] && hot.colInk[4] === plain.colInk[4];
    },
    { timeout: 5000, message: 'the labels of row 2 and column 1 (only) to be highlighted' },
  );
  // The editor shades the tokens the query attends to (row 2: keys 0…2) and outlines the query token.
  const ranges = (list, kind) => list.filter((d) => d[kind]).map((d) => `${d.from}-${d.to}`).join(' ');
  await until(
    async () => {
      const hl = (await editorHighlights(page)) ?? [];
      return ranges(hl, 'shaded') === '0-3 3-7 7-11' && ranges(hl, 'outlined') === '7-11';
    },
    { timeout: 5000, message: 'the editor to shade "The cat sat" and outline " sat"' },
  ).catch(async (err) => {
    throw new Error(`${err.message}; highlights: ${JSON.stringify(await editorHighlights(page))}`);
  });
  await screenshot('inspect-hover');

  // A masked cell says why it has weight 0.
  await hoverCell(page, canvas, grid, 1, 3);
  await textMatching(readout, maskedRe(1, 3), { what: 'readout hovering masked (1, 3)' });
  // Corners of the grid and points near cell edges: hit-testing agrees with the drawing.
  for (const [qi, k, fx, fy] of [[10, 0, 0.5, 0.5], [10, 10, 0.5, 0.5], [5, 3, 0.1, 0.1], [5, 3, 0.9, 0.9], [7, 2, 0.9, 0.1], [7, 2, 0.1, 0.9]]) {
    await hoverCell(page, canvas, grid, qi, k, fx, fy);
    await textMatching(readout, readoutRe(qi, k), { what: `readout hovering (${qi}, ${k}) at (${fx}, ${fy}) of the cell` });
  }
  // Leaving the heatmap restores the hint.
  const box = await canvas.boundingBox();
  await page.mouse.move(box.x - 40, box.y + box.height / 2);
  await textMatching(readout, HINT, { what: 'readout after the pointer left' });
  await until(async () => ((await editorHighlights(page)) ?? [1]).length === 0, { timeout: 5000, message: 'the editor highlights to be cleared' });

  // Keyboard: focus starts at (0, 0); arrows move; row 1's weights sum to 1.
  await canvas.focus();
  await textMatching(readout, readoutRe(0, 0), { what: 'readout on focus' });
  await page.keyboard.press('ArrowDown');
  const w10 = parseNum(readoutRe(1, 0).exec(await textMatching(readout, readoutRe(1, 0), { what: 'after ArrowDown' }))[1]);
  await page.keyboard.press('ArrowRight');
  const w11 = parseNum(readoutRe(1, 1).exec(await textMatching(readout, readoutRe(1, 1), { what: 'after ArrowRight' }))[1]);
  assert.ok(Math.abs(w10 + w11 - 1) < 0.002, `row 1's weights ${w10} + ${w11} do not sum to 1`);
  await page.keyboard.press('ArrowRight');
  await textMatching(readout, maskedRe(1, 2), { what: 'after ArrowRight onto a masked cell' });
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowLeft');
  // (2, 1) again: the same weight as by hovering.
  const again = await textMatching(readout, readoutRe(2, 1), { what: 'after ArrowDown, ArrowLeft' });
  assert.equal(parseNum(readoutRe(2, 1).exec(again)[1]), w21, 'keyboard and hover give different weights for (2, 1)');
  await page.keyboard.press('Control+End');
  await textMatching(readout, readoutRe(N - 1, N - 1), { what: 'after Ctrl+End' });
  await page.keyboard.press('Home');
  await textMatching(readout, readoutRe(N - 1, 0), { what: 'after Home' });
  await page.keyboard.press('ArrowLeft'); // clamped at the edge
  await textMatching(readout, readoutRe(N - 1, 0), { what: 'after ArrowLeft at the left edge' });

  // Enter explains the focused cell.
  await page.keyboard.press('Enter');
  const explain = frame.locator('aside .explain');
  await explain.waitFor({ state: 'visible', timeout: 10_000 });
  await textMatching(explain.locator('.explain-title h3'), new RegExp(`^Why "\\." → "The" gets ${NUM}$`), { what: 'explanation title' });
}

export async function stepTraceAndCellExplanation({ page, screenshot }) {
  await selectSentence(page);
  const frame = await inspectSentence(page);

  const section = frame.locator('details.section-trace');
  await section.locator('summary').click();
  const cards = frame.locator('article.trace-card');
  await until(async () => (await cards.count()) === STEP_TITLES.length, { timeout: 20_000, message: `${STEP_TITLES.length} trace cards` });
  assert.equal(await section.evaluate((d) => d.open), true);
  await textMatching(frame.locator('.trace-intro'), /^Layer 0, head 0\./, { what: 'trace intro' });

  // The cards in the order of the computation, each with its formula and shape.
  assert.deepEqual((await cards.locator('h3').allInnerTexts()).map((t) => t.trim()), STEP_TITLES);
  assert.deepEqual((await frame.locator('.trace-toc a.chip').allInnerTexts()).map((t) => t.trim()), STEP_TITLES, 'the step chips');
  const formula = async (id) => (await stepCard(frame, id).locator('code.formula').innerText()).trim();
  // (Per-head steps may name their head after the formula.)
  const perHead = (f) => new RegExp(`^${escapeRe(f)}(?: \\(head 0\\))?$`);
  assert.match(await formula('rawScores'), perHead('scores = Q·Kᵀ'));
  assert.match(await formula('scaledScores'), perHead(`scores / √${D_K}`));
  assert.match(await formula('maskedScores'), perHead('scores[i, j] = −∞ for j > i'));
  assert.match(await formula('attnWeights'), perHead('weights = softmax(scores) along each row'));
  assert.equal(await formula('x'), 'X');
  const shape = async (id) => (await stepCard(frame, id).locator('.shape').innerText()).trim();
  assert.equal(await shape('x'), '[11 × 64]');
  assert.equal(await shape('queries'), `[11 × ${D_K}]`);
  assert.equal(await shape('rawScores'), '[11 × 11]');
  assert.equal(await shape('output'), '[11 × 64]');
  // Token labels in the tables' headers (DOM text).
  const qkHeaders = await stepCard(frame, 'rawScores').locator('thead .th-token').allInnerTexts();
  assert.deepEqual(qkHeaders.map((t) => t.trim()), TOKENS);

  // The numbers hang together: scaled = raw / √d_k, the mask puts −∞ above the diagonal, rows sum to 1.
  const raw = await stepValue(frame, 'rawScores', 2, 1);
  const scaled = await stepValue(frame, 'scaledScores', 2, 1);
  assert.ok(Math.abs(raw / Math.sqrt(D_K) - scaled) < 1e-5 * Math.max(1, Math.abs(raw)), `QKᵀ ${raw} ÷ 4 ≠ ${scaled}`);
  assert.equal(await stepValue(frame, 'maskedScores', 1, 3), -Infinity);
  assert.equal((await stepCard(frame, 'maskedScores').locator('td[data-r="1"][data-c="3"]').innerText()).trim(), '−∞');
  let rowSum = 0;
  for (let k = 0; k < N; k++) rowSum += await stepValue(frame, 'attnWeights', 2, k);
  assert.ok(Math.abs(rowSum - 1) < 1e-5, `softmax row 2 sums to ${rowSum}`);
  // The step chips jump to their card, clear of the sticky toolbar.
  await frame.locator('.trace-toc a.chip', { hasText: 'QKᵀ' }).click();
  const title = stepCard(frame, 'rawScores').locator('h3');
  await until(() => title.evaluate((el) => {
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + 5, r.top + r.height / 2);
    return r.top >= 0 && r.bottom <= innerHeight && el.contains(hit);
  }), { timeout: 5000, message: 'the QKᵀ card title to be scrolled into view, uncovered' });
  await page.waitForTimeout(300); // (smooth scrolling, if any, settles)
  await screenshot('inspect-trace');

  const weight = await stepValue(frame, 'attnWeights', 2, 1);
  const weightText = (await stepCard(frame, 'attnWeights').locator('td[data-r="2"][data-c="1"]').innerText()).trim();

  // Click a weight: its arithmetic opens below that table.
  await stepCard(frame, 'attnWeights').locator('td[data-r="2"][data-c="1"]').click();
  const explain = stepCard(frame, 'attnWeights').locator('.explain-slot .explain');
  await explain.waitFor({ state: 'visible', timeout: 10_000 });
  await textMatching(explain.locator('.explain-title h3'), `Why "·sat" → "·cat" gets ${weightText}`, { what: 'explanation title' });
  await textMatching(explain.locator('p.muted.small').first(), 'Layer 0, head 0 · query #2 (row), key #1 (column)', { what: 'explanation location' });
  const steps = explain.locator('li.explain-step');
  assert.equal(await steps.count(), 3);
  assert.deepEqual(
    (await steps.locator('h4').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim()),
    ['1 Match the query with the key', '2 Scale by √d_k', '3 Softmax over row #2'],
  );
  // 1. q₂·k₁ as a sum of d_k terms, each q[c]·k[c], adding up to the QKᵀ entry.
  const dot = steps.nth(0);
  await textMatching(dot.locator('.formula-line'), new RegExp(`^q2 · k1 = Σc q2\\[c\\] · k1\\[c\\]\\s+\\(c = 0 … ${D_K - 1}\\)$`), { what: 'dot-product formula' });
  const terms = await dot.locator('table.terms tbody tr').evaluateAll((rows) => rows.map((tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.title))));
  assert.equal(terms.length, D_K, 'all 16 terms of q·k are listed');
  let sum = 0;
  for (const [qc, kc, product] of terms) {
    assert.ok(Math.abs(qc * kc - product) <= 1e-9 + 1e-6 * Math.abs(product), `term ${qc} × ${kc} ≠ ${product}`);
    sum += product;
  }
  const total = Number(await dot.locator('table.terms tfoot td').getAttribute('title'));
  assert.ok(Math.abs(sum - total) < 1e-9 + 1e-9 * Math.abs(total), `Σ terms ${sum} ≠ ${total}`);
  assert.ok(Math.abs(total - raw) < 1e-4 * Math.max(1, Math.abs(raw)), `Σ q·k ${total} ≠ QKᵀ entry ${raw}`);
  // 2. ÷ √d_k.
  const scaleLine = await textMatching(steps.nth(1).locator('.formula-line'), new RegExp(`^score = (${NUM}) ÷ √${D_K} = (${NUM}) ÷ 4(?:\\.0+)? = (${NUM})$`), { what: 'scaling formula' });
  const [, a, , s] = new RegExp(`^score = (${NUM}) ÷ √${D_K} = (${NUM}) ÷ 4(?:\\.0+)? = (${NUM})$`).exec(scaleLine);
  assert.ok(Math.abs(parseNum(a) - raw) < 1e-3 * Math.max(1, Math.abs(raw)), `scaling starts from ${a}, not QKᵀ ${raw}`);
  assert.ok(Math.abs(parseNum(s) - scaled) < 1e-3 * Math.max(1, Math.abs(scaled)), `scaled score ${s} ≠ ${scaled}`);
  // 3. Softmax: the row's visible keys 0…2 and the masked rest, and the clicked weight.
  const soft = steps.nth(2);
  assert.equal(await soft.locator('table.softmax tbody tr').count(), 4, 'keys #0, #1, #2 and the masked #3–#10');
  await textMatching(soft.locator('table.softmax tbody tr.omitted th'), '#3–#10', { what: 'masked keys row' });
  await textMatching(soft.locator('table.softmax tbody tr.clicked th'), '#1 ·cat', { what: 'clicked key row' });
  await textMatching(soft.locator('.formula-line'), new RegExp(`^weight = exp\\(${NUM} − ${NUM}\\) ÷ ${NUM} = ${NUM} ÷ ${NUM} = ${escapeRe(weightText)}$`), { what: 'softmax formula' });
  assert.ok(Math.abs(parseNum(weightText) - weight) < 1e-3, `shown weight ${weightText} ≠ ${weight}`);
  // The clicked cell is marked in every score/weight table.
  assert.equal(await frame.locator('table.matrix td.marked[data-r="2"][data-c="1"]').count(), 4, 'marked in QKᵀ, ÷√d_k, Mask and Softmax');

  // (The app scrolls the explanation into view; its title then ends up under the sticky toolbar, see the report.)
  await page.waitForTimeout(300);
  await screenshot('inspect-trace-explain');
}

export async function sideViewFollowsTheSelection({ page, screenshot }) {
  await selectSentence(page);
  await runCommand(page, 'Attention Inspector: Open Side View');
  // The side view lives in a side bar (primary or secondary, wherever the container sits).
  const frame = await webviewIn(page, '.part.sidebar, .part.auxiliarybar');
  await frame.locator('body[data-view="side"]').waitFor({ state: 'attached', timeout: 15_000 });
  const canvas = frame.locator('canvas.hm-canvas');
  await canvas.waitFor({ state: 'visible', timeout: 20_000 });
  // Opening it inspects the selection by itself (live update), without running Inspect Selection.
  await until(async () => /: 11 query rows by 11 key columns/.test((await canvas.getAttribute('aria-label')) ?? ''), { message: 'the side view heatmap of 11 tokens' });
  await frame.locator('.toolbar .status', { hasText: '11 tokens' }).waitFor({ timeout: 10_000 });
  assert.equal(await frame.locator('details.section-trace').count(), 0, 'the compact side view has no step trace');
  assert.equal(await page.locator('.tabs-container .tab', { hasText: 'Attention Inspector' }).count(), 0, 'a live update opened the panel');

  const grid = await readGrid(canvas, N);
  const { cells } = await analyse(canvas, grid, N);
  const colours = new Set();
  for (let qi = 0; qi < N; qi++) for (let k = 0; k <= qi; k++) colours.add(cells[qi][k].dominant);
  assert.ok(colours.size >= 8, `only ${colours.size} distinct colours in the side view's visible cells`);
  assert.ok(cells[0][N - 1].bgShare > 0.4 && cells[0][N - 1].colours >= 2, 'the masked corner is not hatched');
  assert.ok(grid.x0 + N * grid.cell <= grid.cssWidth + 1, 'the side view grid is cut off on the right');

  // Hovering works there too.
  await hoverCell(page, canvas, grid, 2, 1);
  await textMatching(frame.locator('.readout'), readoutRe(2, 1), { what: 'side view readout hovering (2, 1)' });
  await screenshot('inspect-side-view');

  // Selecting another line updates it.
  await editorText(page).getByText('The animal').click();
  await selectWholeLine(page, 4, 'The animal didn\'t cross the street because it was too wide.'.length);
  await until(async () => new RegExp(`: ${LINE4_TOKENS} query rows by ${LINE4_TOKENS} key columns`).test((await canvas.getAttribute('aria-label')) ?? ''), {
    message: `the side view to follow the selection (${LINE4_TOKENS} tokens)`,
  });
  await frame.locator('.toolbar .status', { hasText: 'sample.md:4' }).waitFor({ timeout: 10_000 });
}
