// End-to-end: Hugging Face model folders of other families (issue 7) in the real workbench.
//
// 1. A Mistral folder (test/fixtures/families/mistral_text_bytefallback: BOS <s>, sliding window, grouped KV
//    heads, rotary positions) on text: the special token, the sliding-window mask, explain-a-cell with RoPE
//    and the KV head map, and the next-token list, checked against the fixture's reference (expected.json,
//    from Hugging Face transformers).
// 2. A BERT folder (bert_text_wordpiece): [CLS]/[SEP], no mask, no next-token prediction.
// 3. Choose Model… → Model folder…: code-server's own (simple) file dialog, a folder without tokenizer.json
//    (refused, naming the file), then a usable one (announced, and used by the next inspection).
// 4. Choose Model… lists the Hugging Face cache: a usable model described, an unusable one with its reason.
//
// The expected values come from the fixtures (config.json, expected.json), never from the extension.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  editorText,
  extensionsSettled,
  notificationInCenter,
  panelWebview,
  quickInput,
  quickOpen,
  quickPickRow,
  runCommand,
  selectWholeLine,
  showCommand,
  updateWorkspaceSettings,
  waitForText,
  waitUntil,
} from './helpers.mjs';

const FAMILIES = fileURLToPath(new URL('../fixtures/families/', import.meta.url));
const SPECIAL = 'added by the tokenizer, not in the text';
const MINUS = '\u2212';
const parseNum = (s) => Number(String(s).trim().replaceAll(MINUS, '-'));
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const NUM = `${MINUS}?\\d+(?:\\.\\d+)?(?:e${MINUS}?\\d+)?`;

/** A fixture folder with its config.json and expected.json (the reference from transformers). */
function fixture(name) {
  const dir = join(FAMILIES, name);
  const read = (f) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
  return { dir, name, config: read('config.json'), expected: read('expected.json') };
}

/** "mistral · 2 layers × 4 heads (2 KV heads) · d_model 32": how Choose Model… names a config's shape. */
function shapeWords(config) {
  const heads = config.num_attention_heads;
  const kv = config.num_key_value_heads ?? heads;
  return `${config.model_type} · ${config.num_hidden_layers} layers × ${heads} heads${kv < heads ? ` (${kv} KV heads)` : ''} · d_model ${config.hidden_size}`;
}

/** A displayed number (3 or 4 significant digits) agrees with the reference value. */
function assertClose(shown, want, digits, what) {
  const got = parseNum(shown);
  const tol = Math.abs(want) * 0.51 * 10 ** (1 - digits) + 1e-6;
  assert.ok(Math.abs(got - want) <= tol, `${what}: shown ${shown}, reference ${want}`);
}

/** Writes families.txt (one fixture text a line) into the workspace, opens it and selects line `line`. */
async function openText(page, workspace, texts, line) {
  writeFileSync(join(workspace, 'families.txt'), texts.join('\n') + '\n');
  await quickOpen(page, 'families.txt');
  await editorText(page).getByText(texts[0].slice(0, 11)).waitFor({ timeout: 15_000 });
  await extensionsSettled(page);
  await selectWholeLine(page, line, texts[line - 1].length);
}

/**
 * Runs Inspect Selection until the panel's status shows `label` on `n` tokens (the workbench applies a settings
 * file a moment after it is written; an inspection started before runs the previous model). Returns the
 * panel's frame and its status line.
 */
async function inspectWith(page, label, n, line = 1) {
  const status = new RegExp(`^${escapeRe(label)}(?: \\(.*\\))? · ${n} tokens · families\\.txt:${line} · `);
  let frame, statusText;
  for (let attempt = 1; ; attempt++) {
    await runCommand(page, 'Attention Inspector: Inspect Selection');
    frame = await panelWebview(page);
    try {
      statusText = await waitForText(frame.locator('.toolbar .status'), status, { timeout: 30_000, what: 'the toolbar status' });
      break;
    } catch (err) {
      // Another model's result (the settings arrived late): run it again, a few times at most.
      const shown = await frame.locator('.toolbar .status').innerText().catch(() => '');
      if (attempt >= 3 || shown.startsWith(label) || !/ · \d+ tokens · /.test(shown)) throw err;
    }
  }
  const canvas = frame.locator('canvas.hm-canvas');
  await waitUntil(async () => (await canvas.getAttribute('aria-label'))?.includes(`layer 0, head 0: ${n} query rows by ${n} key columns`), {
    timeout: 20_000,
    message: `the heatmap of ${n} tokens`,
  });
  return { frame, status: statusText };
}

/** The special tokens the heatmap's description (aria-describedby) names, by index. */
async function describedSpecials(frame) {
  const text = await frame.locator('.hm p.visually-hidden').first().textContent();
  return [...text.matchAll(new RegExp(`(\\d+) (\\S+) \\(special, ${escapeRe(SPECIAL)}\\)`, 'g'))].map((m) => [Number(m[1]), m[2]]);
}

/** Indices and texts of the fixture's special tokens (special_tokens_mask). */
const specialsOf = (expected) => expected.tokens.flatMap((t, i) => (expected.special_tokens_mask[i] ? [[i, t]] : []));

/**
 * Hovers the row label of token `index` (the band left of the grid: its first pixels belong to the labels
 * whatever their width) and returns the canvas's tooltip and whether it offers a click.
 */
async function hoverRowLabel(page, canvas, index) {
  const box = await canvas.boundingBox();
  for (let y = box.y + 2; y < box.y + box.height; y += 4) {
    await page.mouse.move(box.x + 3, y);
    // The canvas updates its tooltip in the next animation frame after the pointer moves.
    const title = await canvas.evaluate((el) => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(el.title)))));
    const m = /^token (\d+): /.exec(title);
    if (m && Number(m[1]) === index) return { title, clickable: await canvas.evaluate((el) => el.classList.contains('hm-clickable')) };
    if (m && Number(m[1]) > index) break;
  }
  throw new Error(`no row label of token ${index} found down the left of the heatmap`);
}

/** Moves the keyboard focus of the heatmap to (query, key) from (0, 0): focus, then arrows. */
async function focusCell(page, canvas, query, key) {
  await canvas.focus();
  await page.keyboard.press('Control+Home');
  for (let i = 0; i < query; i++) await page.keyboard.press('ArrowDown');
  for (let i = 0; i < key; i++) await page.keyboard.press('ArrowRight');
}

/** The readout's text for a cell, once it names that cell. */
const readoutOf = (frame, query, key) => waitForText(frame.locator('.readout'), new RegExp(`^#${query} .* → #${key} .*: `), { what: `readout of (${query}, ${key})` });

// ---------------------------------------------------------------------------------------------------------

export async function mistralFolderOnText({ page, screenshot, workspace }) {
  const fx = fixture('mistral_text_bytefallback');
  const bert = fixture('bert_text_wordpiece');
  const { expected, config } = fx;
  const n = expected.tokens.length;
  const window = config.sliding_window;
  const last = n - 1;
  assert.ok(window && window < n, 'the fixture has a sliding window shorter than its text');
  await updateWorkspaceSettings(workspace, { 'attentionInspector.model': 'folder', 'attentionInspector.modelFolder': fx.dir });
  await openText(page, workspace, [expected.text, bert.expected.text], 1);
  const { frame, status } = await inspectWith(page, fx.name, n);
  const canvas = frame.locator('canvas.hm-canvas');
  // The status names the folder, its family and shape, grouped KV heads included.
  const shape = `${config.model_type}, ${config.num_hidden_layers} layers, ${config.num_attention_heads} heads (${config.num_key_value_heads} KV), d_model ${config.hidden_size}`;
  assert.ok(status.startsWith(`${fx.name} (${shape}) · `), `status: ${status}`);
  assert.equal((await frame.locator('.heatmap-title').innerText()).trim(), 'Layer 0 · head 0');

  // Special tokens: <s> (BOS) is named as added by the tokenizer, the text's tokens are not.
  assert.deepEqual(await describedSpecials(frame), specialsOf(expected), 'special tokens in the heatmap description');
  const bos = await hoverRowLabel(page, canvas, 0);
  assert.equal(bos.title, `token 0: <s>, ${SPECIAL}`);
  assert.equal(bos.clickable, false, 'the <s> label offers to reveal text it does not have');
  const word = await hoverRowLabel(page, canvas, 1);
  assert.match(word.title, /^token 1: \S*Hello$/);
  assert.equal(word.clickable, true, 'a text token label is not clickable');

  // The legend and guide name the sliding window.
  assert.match(await frame.locator('canvas.legend-canvas').getAttribute('aria-label'), new RegExp(`hatched cells are masked \\(causal, window ${window}\\)`));
  await waitForText(frame.locator('.guide'), new RegExp(`sliding window of ${window}`), { what: 'the mask guide' });

  // The last query's row, key by key: masked exactly outside the window, the weights as in transformers.
  await focusCell(page, canvas, last, 0);
  const row = expected.attentions[0][0][last];
  for (let k = 0; k < n; k++) {
    if (k > 0) await page.keyboard.press('ArrowRight');
    const text = await readoutOf(frame, last, k);
    if (last - k >= window) {
      assert.ok(
        text.endsWith(`masked (sliding window of ${window}): key ${k} is too far before query ${last} (weight 0)`),
        `(${last}, ${k}) should be masked by the window: ${text}`,
      );
      assert.equal(row[k], 0, 'the reference has weight 0 there');
      if (k === 0) assert.ok(text.includes(`→ #0 <s> (special): `), `the readout does not mark <s> as special: ${text}`);
    } else {
      const m = new RegExp(`: (${NUM}) \\(score ${NUM}\\)$`).exec(text);
      assert.ok(m, `(${last}, ${k}) inside the window should show a weight: ${text}`);
      assertClose(m[1], row[k], 3, `weight (${last}, ${k})`);
    }
  }
  await screenshot('families-mistral');

  // Explain a visible cell: rotary positions first, then the KV head map, then the match.
  const key = last - window + 1;
  await focusCell(page, canvas, last, key);
  await page.keyboard.press('Enter');
  const explain = frame.locator('aside .explain');
  await explain.waitFor({ state: 'visible', timeout: 10_000 });
  const title = await waitForText(explain.locator('.explain-title h3'), new RegExp(`^Why "[^"]+" → "[^"]+" gets (${NUM})$`), { what: 'explanation title' });
  assertClose(new RegExp(`gets (${NUM})$`).exec(title)[1], row[key], 4, 'the explained weight');
  const heads = await explain.locator('li.explain-step h4').allInnerTexts();
  assert.match(heads[0].replace(/\s+/g, ' ').trim(), /^1 Turn q and k by their positions$/, `steps: ${JSON.stringify(heads)}`);
  await waitForText(explain.locator('li.explain-step').first(), new RegExp(`RoPE, θ = ${config.rope_theta}\\).*query #${last} turns by ${last}·f_k.*key #${key} by ${key}·f_k`, 's'), { what: 'the rotary step' });
  const kvHeads = config.num_key_value_heads;
  const groups = explain.locator('ul.group-map[aria-label="Query heads → KV heads"] li');
  await waitUntil(async () => (await groups.count()) === kvHeads, { timeout: 15_000, message: `${kvHeads} KV heads in the map` });
  const drawn = await groups.evaluateAll((lis) => lis.map((li) => `${[...li.querySelectorAll('.qhead')].map((q) => q.textContent).join(' ')} → ${li.querySelector('.kvhead').textContent}`));
  assert.equal(drawn.join(' | '), mapText(config.num_attention_heads, kvHeads));
  assert.equal(await explain.locator('.group-map li.current .qhead.current').innerText(), 'H0', 'head 0 is not marked in its group');
  await waitForText(explain.locator('.groups p'), new RegExp(`^Grouped-query attention: ${config.num_attention_heads} query heads share ${kvHeads} key/value heads`), { what: 'the group sentence' });
  await explain.scrollIntoViewIfNeeded();
  await page.waitForTimeout(300); // (smooth scrolling settles)
  await screenshot('families-mistral-explain');

  // Explain a cell outside the window: the mask says why.
  await focusCell(page, canvas, last, 1);
  await page.keyboard.press('Enter');
  await waitForText(explain, new RegExp(`Key #1 is ${last - 1} tokens before query #${last}, outside the sliding window of ${window}`), { what: 'the masked cell explanation' });

  // Next-token prediction: the reference's most likely next token first, and its perplexity.
  const next = frame.locator('ol.next-list[aria-label="Most likely next tokens"] li');
  await waitUntil(async () => (await next.count()) > 0, { message: 'the next-token list' });
  const first = await next.first().getAttribute('title');
  const m = /^token id (\d+): p = (\S+)$/.exec(first);
  assert.ok(m, `next-token tooltip: ${first}`);
  assert.equal(Number(m[1]), expected.top_next[0].id, 'the most likely next token differs from the reference');
  assertClose(m[2], expected.top_next[0].prob, 4, 'its probability');
  assertClose(await frame.locator('.perplexity strong').innerText(), expected.perplexity, 4, 'perplexity');
  await frame.locator('ol.next-list').scrollIntoViewIfNeeded();
  await screenshot('families-mistral-next');
}

/** "H0 H1 → KV0 | H2 H3 → KV1": the map of query heads to KV heads as the explanation lists it. */
function mapText(heads, kvHeads) {
  const group = heads / kvHeads;
  return Array.from({ length: kvHeads }, (_, kv) => `${Array.from({ length: group }, (_, i) => `H${kv * group + i}`).join(' ')} → KV${kv}`).join(' | ');
}

export async function bertFolderIsAnEncoder({ page, screenshot, workspace }) {
  const fx = fixture('bert_text_wordpiece');
  const mistral = fixture('mistral_text_bytefallback');
  const { expected } = fx;
  const n = expected.tokens.length;
  await updateWorkspaceSettings(workspace, { 'attentionInspector.model': 'folder', 'attentionInspector.modelFolder': fx.dir });
  await openText(page, workspace, [mistral.expected.text, expected.text], 2);
  const { frame, status } = await inspectWith(page, fx.name, n, 2);
  assert.ok(status.startsWith(`${fx.name} (${fx.config.model_type}, `), `status: ${status}`);
  const canvas = frame.locator('canvas.hm-canvas');

  // [CLS] and [SEP] are special, nothing else.
  assert.deepEqual(await describedSpecials(frame), specialsOf(expected), 'special tokens in the heatmap description');
  const cls = await hoverRowLabel(page, canvas, 0);
  assert.equal(cls.title, `token 0: [CLS], ${SPECIAL}`);
  assert.equal(cls.clickable, false);

  // No mask: the legend says so, the guide too, and the top-right cell (first query, last key) has a weight.
  const legend = await frame.locator('canvas.legend-canvas').getAttribute('aria-label');
  assert.match(legend, /; nothing is masked\.$/, `legend: ${legend}`);
  assert.doesNotMatch(legend, /hatched/);
  await waitForText(frame.locator('.guide'), /Nothing is masked \(bidirectional attention/, { what: 'the mask guide' });
  await focusCell(page, canvas, 0, n - 1);
  const text = await readoutOf(frame, 0, n - 1);
  assert.ok(text.startsWith(`#0 [CLS] (special) → #${n - 1} [SEP] (special): `), `readout: ${text}`);
  const m = new RegExp(`: (${NUM}) \\(score ${NUM}\\)$`).exec(text);
  assert.ok(m, `a later key is visible to an encoder: ${text}`);
  assertClose(m[1], expected.attentions[0][0][0][n - 1], 3, `weight (0, ${n - 1})`);
  await page.keyboard.press('Enter');
  await waitForText(frame.locator('aside .explain'), new RegExp(`A bidirectional encoder masks nothing: query #0 sees key #${n - 1} even though it comes later in the text`), { what: 'the explanation of a later key' });

  // The next-token area explains why there is nothing to predict.
  await waitForText(frame.locator('.next-tokens .encoder-note'), /^A bidirectional encoder does not predict next tokens: /, { what: 'the encoder note' });
  assert.equal(await frame.locator('ol.next-list').count(), 0, 'an encoder lists next tokens');
  assert.equal(await frame.locator('.perplexity').count(), 0, 'an encoder shows a perplexity');
  await page.waitForTimeout(300);
  await screenshot('families-bert');
  await frame.locator('.next-tokens .encoder-note').scrollIntoViewIfNeeded();
  await screenshot('families-bert-next');
}

/** Where the workbench keeps the settings Choose Model… writes (User, or the remote's Machine settings). */
function settingsFiles(server) {
  return ['User', 'Machine'].map((d) => join(server.userDataDir, d, 'settings.json'));
}

/** The value of `key` in the first of the server's settings files that has it. */
function writtenSetting(server, key) {
  for (const file of settingsFiles(server)) {
    try {
      const settings = JSON.parse(readFileSync(file, 'utf8'));
      if (key in settings) return settings[key];
    } catch {
      /* missing, or being written */
    }
  }
  return undefined;
}

/** The settings files' texts, for messages. */
const settingsText = (server) => settingsFiles(server).map((f) => `${f}: ${existsSync(f) ? readFileSync(f, 'utf8').replace(/\s+/g, ' ') : '(none)'}`).join('; ');

/** Choose Model… from the palette; waits for its quick pick and returns the quick input. */
async function openChooseModel(page) {
  await showCommand(page, 'Attention Inspector: Choose Model…');
  await page.keyboard.press('Enter');
  await quickInput(page).locator('.quick-input-title', { hasText: 'Attention Inspector: Choose Model' }).waitFor({ timeout: 15_000 });
  await quickPickRow(page, 'Model folder…').waitFor({ timeout: 10_000 });
}

/**
 * In code-server's own file dialog (a quick input that browses the server's disk, folders only here): types
 * `folder` and takes it with the dialog's button. The dialog fills in its start folder a moment after it
 * shows, so the path is typed only once that is there, and again should the dialog overwrite it.
 */
async function chooseFolderInDialog(page, folder) {
  const dialog = quickInput(page);
  await dialog.locator('.quick-input-title', { hasText: 'Hugging Face model folder' }).waitFor({ timeout: 15_000 });
  const input = dialog.locator('input');
  await waitUntil(async () => (await input.inputValue()).endsWith('/'), { message: 'the dialog to show its start folder' });
  await waitUntil(
    async () => {
      if ((await input.inputValue()) !== `${folder}/`) await input.fill(`${folder}/`);
      await page.waitForTimeout(300);
      return (await input.inputValue()) === `${folder}/`;
    },
    { message: `the dialog to stay at ${folder}/` },
  );
  await dialog.getByRole('button', { name: 'Use this model folder' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: 15_000 });
}

export async function chooseModelFolderThroughTheDialog({ page, screenshot, server, workspace }) {
  const bert = fixture('bert_text_wordpiece');
  const mistral = fixture('mistral_text_bytefallback');
  // A Llama folder without tokenizer.json (the CLI can run its ids, selections cannot).
  const noTokenizer = join(server.tempDir, 'models', 'llama_gqa_tied');
  cpSync(join(FAMILIES, 'llama_gqa_tied'), noTokenizer, { recursive: true });
  await openText(page, workspace, [mistral.expected.text, bert.expected.text], 2);

  await openChooseModel(page);
  await page.keyboard.type('Model folder');
  await quickPickRow(page, 'Model folder…').click();
  await chooseFolderInDialog(page, noTokenizer);
  const refused = await notificationInCenter(page, 'Attention Inspector cannot use this folder.');
  assert.match((await refused.innerText()).replace(/\s+/g, ' '), new RegExp(`${escapeRe(noTokenizer)} has no tokenizer\\.json`));
  await screenshot('families-choose-refused');
  assert.equal(writtenSetting(server, 'attentionInspector.modelFolder'), undefined, 'a refused folder was saved');

  // "Choose Another Folder…" opens the dialog again; the BERT folder is taken and announced.
  await refused.getByRole('button', { name: 'Choose Another Folder…' }).click();
  await chooseFolderInDialog(page, bert.dir);
  const announced = await notificationInCenter(page, 'Attention Inspector will use');
  const words = (await announced.innerText()).replace(/\s+/g, ' ');
  assert.ok(words.includes(`Attention Inspector will use ${bert.name}: ${shapeWords(bert.config)} · `), `announcement: ${words}`);
  assert.match(words, /parameters · F32 · bidirectional encoder\./);
  await screenshot('families-choose-announced');
  await waitUntil(() => writtenSetting(server, 'attentionInspector.modelFolder') === bert.dir && writtenSetting(server, 'attentionInspector.model') === 'folder', {
    message: `the settings model = folder, modelFolder = ${bert.dir} (${settingsText(server)})`,
  });

  // The next inspection runs it.
  const { frame } = await inspectWith(page, bert.name, bert.expected.tokens.length, 2);
  await frame.locator('.next-tokens .encoder-note').waitFor({ state: 'attached', timeout: 10_000 });

  // Choose Model… again: the folder is current and recent.
  await openChooseModel(page);
  await waitForText(quickPickRow(page, 'Model folder…'), new RegExp(`current: ${escapeRe(bert.name)}`), { what: 'the Model folder… row' });
  await quickPickRow(page, bert.dir).waitFor({ timeout: 10_000 });
  await screenshot('families-choose-recent');
  await page.keyboard.press('Escape');
}

const CACHE_COMMIT = 'e2e0000000000000000000000000000000000001';

/**
 * A model in the Hugging Face cache layout, as huggingface_hub leaves it: models--org--name/refs/main naming
 * a snapshot folder with the files (copies here, not links into blobs/: the scan resolves either).
 */
function cacheModel(cacheDir, repoId, fromFolder) {
  const repo = join(cacheDir, `models--${repoId.split('/').join('--')}`);
  mkdirSync(join(repo, 'refs'), { recursive: true });
  writeFileSync(join(repo, 'refs', 'main'), CACHE_COMMIT);
  cpSync(fromFolder, join(repo, 'snapshots', CACHE_COMMIT), { recursive: true });
}

export async function chooseModelListsTheHuggingFaceCache({ page, screenshot, server, workspace }) {
  // The server gives code-server (and so the extension host) HOME = <tempDir>/home, XDG_CACHE_HOME = home/.cache:
  // the cache is then <tempDir>/home/.cache/huggingface/hub, unless the environment names another one.
  for (const v of ['HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'HF_HOME']) {
    assert.equal(process.env[v], undefined, `${v} is set: unset it for this test, which prepares its own Hugging Face cache in the server's home`);
  }
  const cacheDir = join(server.tempDir, 'home', '.cache', 'huggingface', 'hub');
  const mistral = fixture('mistral_text_bytefallback');
  cacheModel(cacheDir, 'e2e-org/tiny-mistral', mistral.dir);
  cacheModel(cacheDir, 'e2e-org/llama-without-tokenizer', join(FAMILIES, 'llama_gqa_tied'));
  await openText(page, workspace, [mistral.expected.text], 1);

  await openChooseModel(page);
  await quickInput(page).locator('.quick-input-list', { hasText: 'In your Hugging Face cache' }).waitFor({ timeout: 20_000 });
  const usable = quickPickRow(page, 'e2e-org/tiny-mistral');
  const unusable = quickPickRow(page, 'e2e-org/llama-without-tokenizer');
  await waitForText(usable, new RegExp(`${escapeRe(shapeWords(mistral.config))} · [\\d.]+ [KMB]? ?parameters · F32`), { what: 'the cached Mistral row' });
  await waitForText(unusable, /Cannot be used: no tokenizer\.json/, { what: 'the cached Llama row without a tokenizer' });
  // Usable models first.
  const rows = (await quickInput(page).locator('.monaco-list-row').allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
  assert.ok(rows.findIndex((r) => r.includes('tiny-mistral')) < rows.findIndex((r) => r.includes('llama-without-tokenizer')), `order: ${JSON.stringify(rows)}`);
  await screenshot('families-cache-list');

  // Choosing the unusable one does nothing (it stays listed with its reason); the usable one is taken.
  await unusable.click();
  await page.waitForTimeout(300);
  assert.ok(await unusable.isVisible(), 'the quick pick closed on a model that cannot be used');
  await usable.click();
  await quickInput(page).waitFor({ state: 'hidden', timeout: 10_000 });
  const announced = await notificationInCenter(page, 'Attention Inspector will use e2e-org/tiny-mistral');
  assert.ok((await announced.innerText()).replace(/\s+/g, ' ').includes(`e2e-org/tiny-mistral: ${shapeWords(mistral.config)} · `));
  // That exact snapshot is run as a model folder (named by its repo), with no Hub request.
  const snapshot = join(cacheDir, 'models--e2e-org--tiny-mistral', 'snapshots', CACHE_COMMIT);
  await waitUntil(() => writtenSetting(server, 'attentionInspector.modelFolder') === snapshot && writtenSetting(server, 'attentionInspector.model') === 'folder', {
    message: `the settings model = folder, modelFolder = ${snapshot} (${settingsText(server)})`,
  });
  await page.keyboard.press('Escape'); // (the notification centre)
  const { frame } = await inspectWith(page, 'e2e-org/tiny-mistral', mistral.expected.tokens.length);
  assert.deepEqual(await describedSpecials(frame), specialsOf(mistral.expected));
}
