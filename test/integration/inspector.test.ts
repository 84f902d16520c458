// Inspect Selection end to end inside a real VS Code extension host: real documents, real settings,
// the real worker thread. Nothing here stands in for the vscode API.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import pkg from '../../package.json';
import type { AttentionInspectorApi } from '../../src/extension';
import { EngineClient } from '../../src/host/engineClient';
import { visibleWhitespace } from '../../src/tokenize/display';
import { hubHandler, startServer } from '../unit/hub/fakeHub';

const EXTENSION_ID = `${pkg.publisher}.${pkg.name}`;
const SETTING_KEYS = ['model', 'modelFolder', 'gpt2Folder', 'huggingFaceModel', 'huggingFaceEndpoint', 'random.dModel', 'random.heads', 'random.seed', 'random.causal', 'tokenizer', 'maxTokens', 'liveUpdate'];

let api: AttentionInspectorApi;
let extensionRoot: vscode.Uri;

async function setSetting(key: string, value: unknown): Promise<void> {
  await vscode.workspace.getConfiguration('attentionInspector').update(key, value, vscode.ConfigurationTarget.Global);
}

async function resetSettings(): Promise<void> {
  for (const key of SETTING_KEYS) await setSetting(key, undefined);
}

async function openSample(): Promise<vscode.TextEditor> {
  const [uri] = await vscode.workspace.findFiles('sample.md');
  const doc = await vscode.workspace.openTextDocument(uri);
  return vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preview: false });
}

/** Selects the first occurrence of `text` in the editor. */
function select(editor: vscode.TextEditor, text: string): vscode.Selection {
  const offset = editor.document.getText().indexOf(text);
  assert.ok(offset >= 0, `"${text}" is not in the sample`);
  const selection = new vscode.Selection(editor.document.positionAt(offset), editor.document.positionAt(offset + text.length));
  editor.selection = selection;
  return selection;
}

function inspect() {
  return vscode.commands.executeCommand<Awaited<ReturnType<AttentionInspectorApi['inspector']['inspectSelection']>>>('attentionInspector.inspectSelection');
}

function rowSums(weights: Float32Array, heads: number, n: number): number[] {
  const sums: number[] = [];
  for (let r = 0; r < heads * n; r++) sums.push(weights.subarray(r * n, (r + 1) * n).reduce((a, b) => a + b, 0));
  return sums;
}

describe('Inspect Selection in a real extension host', function () {
  this.timeout(60_000);

  before(async () => {
    const ext = vscode.extensions.getExtension<AttentionInspectorApi>(EXTENSION_ID)!;
    api = await ext.activate();
    extensionRoot = ext.extensionUri;
  });
  beforeEach(async () => {
    await resetSettings();
    // A settings change re-runs the last inspection after 500 ms; let that pass so it cannot cancel this test's work.
    await new Promise((resolve) => setTimeout(resolve, 700));
  });
  after(resetSettings);

  it('opens the panel and produces weights that sum to 1 per row, with tokens that map back to the selection', async () => {
    const editor = await openSample();
    const sentence = 'The cat sat on the mat because it was tired.';
    const selection = select(editor, sentence);
    const summary = await inspect();
    assert.ok(summary, 'the command returned a result');
    const doc = editor.document;
    assert.equal(summary.source.startOffset, doc.offsetAt(selection.start));
    assert.equal(summary.model.kind, 'random');
    assert.equal(summary.model.heads, 4);
    assert.ok(summary.tokens.length >= 10);
    for (const token of summary.tokens) {
      const raw = doc.getText(new vscode.Range(doc.positionAt(summary.source.startOffset + token.start), doc.positionAt(summary.source.startOffset + token.end)));
      assert.equal(visibleWhitespace(raw), token.text, `token ${token.text} maps back to its source`);
    }
    assert.equal(summary.tokens.at(-1)!.end, sentence.length);
    const layer = await api.engine.layer(summary.resultId, 0);
    const n = summary.tokens.length;
    assert.equal(layer.weights.length, 4 * n * n);
    for (const s of rowSums(layer.weights, 4, n)) assert.ok(Math.abs(s - 1) < 1e-5, `row sum ${s}`);
    // Causal by default: the first query sees only itself.
    assert.equal(layer.weights[0], 1);
    assert.equal(layer.scores[1], -Infinity);
    // The workbench reports tabs asynchronously: wait for the panel's tab to show up.
    const findPanelTab = () =>
      vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('attentionInspector.panel'));
    for (let waited = 0; !findPanelTab() && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs);
    assert.ok(findPanelTab(), `the Attention Inspector panel is open; tabs: ${tabs.map((t) => `${t.label} ${JSON.stringify(t.input)}`).join('; ')}`);
    assert.ok(api.engine.workersStarted >= 1, 'the engine ran in a worker thread');
  });

  it('inspects the current line, with a note, when nothing is selected', async () => {
    const editor = await openSample();
    const line = editor.document.lineAt(2);
    editor.selection = new vscode.Selection(line.range.start.translate(0, 4), line.range.start.translate(0, 4));
    const summary = await inspect();
    assert.ok(summary);
    assert.equal(summary.source.startOffset, editor.document.offsetAt(line.range.start));
    assert.equal(summary.source.endOffset - summary.source.startOffset, line.text.length);
    assert.ok(summary.notes.some((note) => /line 3/.test(note)), summary.notes.join(' | '));
  });

  it('applies settings: heads, tokenizer, causal, maxTokens, and reports an invalid combination', async () => {
    const editor = await openSample();
    select(editor, 'Attention lets every token look at every other token and decide what matters.');
    await setSetting('random.heads', 2);
    await setSetting('tokenizer', 'char');
    await setSetting('random.causal', false);
    let summary = (await inspect())!;
    assert.equal(summary.model.heads, 2);
    assert.equal(summary.model.tokenizer, 'char');
    assert.equal(summary.tokens.length, 'Attention lets every token look at every other token and decide what matters.'.length);
    const layer = await api.engine.layer(summary.resultId, 0);
    assert.ok(layer.weights[1] > 0, 'not causal: the first query sees later keys');

    await setSetting('maxTokens', 5);
    summary = (await inspect())!;
    assert.equal(summary.tokens.length, 5);
    assert.deepEqual(summary.truncation, { totalTokens: 'Attention lets every token look at every other token and decide what matters.'.length, keptTokens: 5, reason: 'maxTokens' });
    assert.ok(summary.notes.some((n) => /only the first 5/.test(n)), summary.notes.join(' | '));

    await setSetting('maxTokens', undefined);
    await setSetting('random.heads', 3); // 64 is not divisible by 3
    summary = (await inspect())!;
    assert.notEqual(summary.model.heads, 3);
    assert.equal(64 % summary.model.heads, 0);
    assert.ok(summary.notes.some((n) => /divisible/.test(n)), summary.notes.join(' | '));
  });

  it('runs a GPT-2 checkpoint folder and shows every layer, next tokens and perplexity', async () => {
    const editor = await openSample();
    select(editor, 'The animal didn\'t cross the street because it was too wide.');
    await setSetting('model', 'folder');
    await setSetting('modelFolder', vscode.Uri.joinPath(extensionRoot, 'test', 'fixtures', 'gpt2-tiny').fsPath);
    const summary = (await inspect())!;
    assert.equal(summary.model.kind, 'gpt2');
    assert.equal(summary.model.layers, 2);
    assert.equal(summary.metrics.length, 2);
    assert.equal(summary.topNext.length, 10);
    assert.ok(summary.perplexity !== null && summary.perplexity > 1);
    const n = summary.tokens.length;
    assert.equal(summary.thumbnails.data.length, 2 * 4 * Math.min(48, n) ** 2);
    const layer1 = await api.engine.layer(summary.resultId, 1);
    for (const s of rowSums(layer1.weights, 4, n)) assert.ok(Math.abs(s - 1) < 1e-5);
    const trace = await api.engine.trace(summary.resultId, 1, 3);
    assert.deepEqual(trace.map((s) => s.id), ['x', 'wQuery', 'wKey', 'wValue', 'queries', 'keys', 'values', 'rawScores', 'scaledScores', 'maskedScores', 'attnWeights', 'contextVectors', 'concat', 'outProj', 'output']);
    const softmax = trace.find((s) => s.id === 'attnWeights')!;
    assert.deepEqual(softmax.shape, [n, n]);
    assert.deepEqual(Array.from(softmax.data), Array.from(layer1.weights.subarray(3 * n * n, 4 * n * n)), 'the trace shows the same numbers as the heatmap');
  });

  it('matches the PyTorch fixtures through the extension: every layer recomputed on request, top-5 and perplexity', async () => {
    type Case = { name: string; text: string; ids: number[]; attentions: number[][][][]; scores: (number | null)[][][][]; topNext: { id: number; prob: number }[]; perplexity: number | null };
    const fixtures = vscode.Uri.joinPath(extensionRoot, 'test', 'fixtures', 'gpt2-tiny').fsPath;
    const cases = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8')) as Case[];
    await setSetting('model', 'folder');
    await setSetting('modelFolder', fixtures);
    const close = (got: ArrayLike<number>, want: (number | null)[], what: string) => {
      assert.equal(got.length, want.length, `${what}: length`);
      for (let i = 0; i < want.length; i++) {
        const w = want[i] ?? -Infinity;
        const ok = Number.isFinite(w) ? Math.abs(got[i] - w) <= 1e-4 * Math.abs(w) + 1e-6 : Object.is(got[i], w);
        assert.ok(ok, `${what}[${i}]: got ${got[i]}, PyTorch ${w}`);
      }
    };
    for (const c of cases.filter((x) => ['code', 'emoji', 'cjk', 'special'].includes(x.name))) {
      const doc = await vscode.workspace.openTextDocument({ content: c.text, language: 'plaintext' });
      const editor = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preview: false });
      editor.selection = new vscode.Selection(doc.positionAt(0), doc.positionAt(c.text.length));
      const summary = (await inspect())!;
      assert.deepEqual(summary.tokens.map((t) => t.id), c.ids, `${c.name}: token ids`);
      // Layer 1 first, then 0: the worker keeps one layer, so each answer is recomputed from the layer's input.
      for (const layer of [1, 0, 1]) {
        const data = await api.engine.layer(summary.resultId, layer);
        close(data.weights, c.attentions[layer].flat(2), `${c.name} layer ${layer} weights`);
        close(data.scores, c.scores[layer].flat(2), `${c.name} layer ${layer} scores`);
      }
      assert.deepEqual(summary.topNext.slice(0, 5).map((t) => t.id), c.topNext.map((t) => t.id), `${c.name}: top-5`);
      close(summary.topNext.slice(0, 5).map((t) => t.prob), c.topNext.map((t) => t.prob), `${c.name} top-5 probabilities`);
      close([summary.perplexity ?? NaN], [c.perplexity], `${c.name} perplexity`);
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  });

  it('runs Llama, Mistral and BERT folders on selected text with their tokenizer.json, matching the PyTorch fixtures', async () => {
    type Case = { text: string; input_ids: number[]; special_tokens_mask: number[]; attentions: number[][][][]; top_next?: { id: number; prob: number }[]; perplexity?: number };
    // llama_text_bytelevel's text mixes \n and \r\n, which a VS Code document normalizes; the unit and CLI tests run it.
    for (const name of ['mistral_text_bytefallback', 'bert_text_wordpiece']) {
      const folder = vscode.Uri.joinPath(extensionRoot, 'test', 'fixtures', 'families', name).fsPath;
      const c = JSON.parse(readFileSync(join(folder, 'expected.json'), 'utf8')) as Case;
      await setSetting('model', 'folder');
      await setSetting('modelFolder', folder);
      const doc = await vscode.workspace.openTextDocument({ content: `prefix\n${c.text}`, language: 'plaintext' });
      const editor = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preview: false });
      editor.selection = new vscode.Selection(doc.positionAt(7), doc.positionAt(7 + c.text.length));
      assert.equal(doc.getText(editor.selection), c.text);
      const summary = (await inspect())!;
      assert.ok(summary, `${name}: inspected`);
      assert.deepEqual(summary.tokens.map((t) => t.id), c.input_ids, `${name}: Hugging Face's ids`);
      assert.deepEqual(summary.tokens.map((t) => (t.special ? 1 : 0)), c.special_tokens_mask, `${name}: special tokens`);
      for (const t of summary.tokens.filter((x) => x.special)) assert.equal(t.start, t.end, `${name}: a special token covers no text`);
      for (const layer of c.attentions.keys()) {
        const data = await api.engine.layer(summary.resultId, layer);
        const want = c.attentions[layer].flat(2);
        for (let i = 0; i < want.length; i++) assert.ok(Math.abs(data.weights[i] - want[i]) <= 1e-4 * Math.abs(want[i]) + 1e-6, `${name} layer ${layer} [${i}]: ${data.weights[i]} vs ${want[i]}`);
      }
      if (c.top_next) {
        assert.equal(summary.model.causal, true);
        assert.deepEqual(summary.topNext.slice(0, 5).map((t) => t.id), c.top_next.map((t) => t.id), `${name}: top-5`);
        assert.ok(Math.abs(summary.perplexity! - c.perplexity!) <= 1e-4 * c.perplexity!, `${name}: perplexity`);
      } else {
        assert.equal(summary.model.causal, false, `${name}: an encoder`);
        assert.deepEqual(summary.topNext, []);
        assert.equal(summary.perplexity, null);
      }
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    }
  });

  it('reports a broken model folder clearly and keeps working (set in the settings of versions before model families)', async () => {
    const editor = await openSample();
    select(editor, 'The cat sat');
    const broken = mkdtempSync(join(tmpdir(), 'broken-gpt2-'));
    await setSetting('model', 'gpt2Folder');
    await setSetting('gpt2Folder', broken);
    assert.equal(await inspect(), undefined);
    await setSetting('model', 'random');
    assert.ok(await inspect(), 'the next inspection works');
  });

  it('downloads a Hub model (a Mistral with its tokenizer) once from a fake Hub into the Hugging Face cache, then reads the cache', async () => {
    const folder = vscode.Uri.joinPath(extensionRoot, 'test', 'fixtures', 'families', 'mistral_text_bytefallback').fsPath;
    const files = new Map(['config.json', 'tokenizer.json', 'model.safetensors'].map((f) => [f, new Uint8Array(readFileSync(join(folder, f)))]));
    const hub = await startServer(hubHandler({ repos: new Map([['test-org/mistral-text', { files }]]) }));
    const cache = mkdtempSync(join(tmpdir(), 'hf-cache-'));
    const before = process.env.HF_HUB_CACHE;
    process.env.HF_HUB_CACHE = cache; // the extension host reads the cache location from its environment
    try {
      await setSetting('huggingFaceEndpoint', hub.url);
      await setSetting('huggingFaceModel', 'test-org/mistral-text');
      await setSetting('model', 'huggingFace');
      const editor = await openSample();
      select(editor, 'The cat sat on the mat');
      const first = (await inspect())!;
      assert.equal(first.model.family, 'mistral');
      assert.equal(first.model.hubId, 'test-org/mistral-text');
      assert.equal(first.tokens[0].special, true, 'the tokenizer.json from the Hub added <s>');
      assert.ok(first.model.path?.startsWith(join(cache, 'models--test-org--mistral-text', 'snapshots')), `in the Hugging Face cache layout: ${first.model.path}`);
      const downloads = hub.requests.length;
      assert.ok(hub.requests.some((r) => r.path.endsWith('/tokenizer.json')), 'the tokenizer was fetched');
      const second = (await inspect())!;
      assert.equal(second.model.layers, first.model.layers);
      assert.equal(hub.requests.length, downloads, 'the second use reads the cache without a request');
    } finally {
      if (before === undefined) delete process.env.HF_HUB_CACHE;
      else process.env.HF_HUB_CACHE = before;
      await hub.close();
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('shades the source by a query token’s weights, and refuses stale offsets after an edit', async () => {
    const editor = await openSample();
    select(editor, 'The cat sat on the mat');
    const summary = (await inspect())!;
    const n = summary.tokens.length;
    const row = new Float32Array(n).fill(1 / n);
    const target = { kind: 'panel' as const, visible: true, post: async () => true };
    api.inspector.handleMessage({ type: 'highlight', resultId: summary.resultId, query: n - 1, weights: row }, target);
    assert.equal(api.inspector.highlights.active, true);
    await vscode.commands.executeCommand('attentionInspector.clearHighlights');
    assert.equal(api.inspector.highlights.active, false);
    api.inspector.handleMessage({ type: 'highlight', resultId: summary.resultId, query: 0, weights: row }, target);
    assert.equal(api.inspector.highlights.active, true);
    await editor.edit((b) => b.insert(new vscode.Position(0, 0), 'x'));
    try {
      assert.equal(api.inspector.highlights.active, false, 'an edit clears highlights');
      api.inspector.handleMessage({ type: 'highlight', resultId: summary.resultId, query: 0, weights: row }, target);
      assert.equal(api.inspector.highlights.active, false, 'old offsets are not used on the changed document');
    } finally {
      await vscode.commands.executeCommand('undo');
    }
  });

  it('exports CSV, JSON and PNG files', async () => {
    const editor = await openSample();
    select(editor, 'The cat sat on the mat.'.slice(0, 15));
    const summary = (await inspect())!;
    const dir = mkdtempSync(join(tmpdir(), 'attention-export-'));
    const n = summary.tokens.length;
    const csv = await vscode.commands.executeCommand<vscode.Uri>('attentionInspector.export', 'csv', vscode.Uri.file(join(dir, 'a.csv')));
    assert.ok(csv);
    const lines = readFileSync(csv.fsPath, 'utf8').trim().split('\r\n');
    assert.equal(lines.length, 1 + 4 * n * n);
    const json = await vscode.commands.executeCommand<vscode.Uri>('attentionInspector.export', 'json', vscode.Uri.file(join(dir, 'a.json')));
    const parsed = JSON.parse(readFileSync(json.fsPath, 'utf8'));
    const doc = editor.document;
    const selected = doc.getText(editor.selection);
    assert.deepEqual(parsed.tokens.map((t: { display: string }) => t.display), summary.tokens.map((t) => t.text));
    assert.deepEqual(parsed.tokens.map((t: { text: string; start: number; end: number }) => t.text), parsed.tokens.map((t: { start: number; end: number }) => selected.slice(t.start, t.end)), 'raw text');
    assert.equal(parsed.attentions[0].length, 4);
    assert.equal(parsed.format, 'attention-inspector/inspection');
    assert.deepEqual(parsed.source.file, doc.uri.fsPath);
    assert.deepEqual([parsed.source.startOffset, parsed.source.startLine], [summary.source.startOffset, summary.source.startLine]);
    assert.match(parsed.source.tool, /^attention-inspector \d+\.\d+\.\d+ \(VS Code /);
    // The CLI writes the same format with the same code: the same text and model give the same numbers.
    const cli = spawnSync(process.execPath, [join(extensionRoot.fsPath, 'dist', 'cli.js'), 'inspect', '--text', selected, '--random', '--causal'], { encoding: 'utf8', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    assert.equal(cli.status, 0, cli.stderr);
    const fromCli = JSON.parse(cli.stdout);
    for (const key of ['model', 'truncation', 'tokens', 'attentions', 'scores', 'metrics', 'metricLabels', 'topNext', 'perplexity']) {
      assert.deepEqual(fromCli[key], parsed[key], `the CLI's "${key}" equals Export's`);
    }
    const png = await vscode.commands.executeCommand<vscode.Uri>('attentionInspector.export', 'png', vscode.Uri.file(join(dir, 'a.png')));
    assert.ok(png && existsSync(png.fsPath), 'the PNG was written');
    const bytes = readFileSync(png.fsPath);
    assert.deepEqual([...bytes.subarray(1, 4)].map((b) => String.fromCharCode(b)).join(''), 'PNG');
    assert.ok(bytes.length > 1000);
  });

  it('cancels a running inspection when a new one starts, and the extension host stays responsive', async () => {
    const editor = await openSample();
    await setSetting('random.dModel', 1024);
    await setSetting('random.heads', 16);
    await setSetting('maxTokens', 4096);
    await setSetting('tokenizer', 'char');
    const long = 'attention '.repeat(400); // 4000 characters → 4000 char tokens
    await editor.edit((b) => b.insert(new vscode.Position(editor.document.lineCount, 0), `\n${long}\n`));
    try {
      select(editor, long);
      const heavy = api.inspector.inspectSelection({ live: true });
      // While the worker computes, this thread keeps serving timers.
      const t0 = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(Date.now() - t0 < 1000, 'the extension host thread was not blocked');
      await setSetting('maxTokens', 8);
      select(editor, 'The cat sat on the mat');
      const quick = await api.inspector.inspectSelection({ live: true });
      assert.equal(await heavy, undefined, 'the heavy inspection was cancelled');
      assert.ok(quick, 'the newer inspection finished');
      assert.equal(quick.tokens.length, 8);
    } finally {
      await vscode.commands.executeCommand('undo');
    }
  });

  it('replaces a worker that is stuck in one huge layer, and hands the queued request to the new one', async () => {
    // Its own client with a 50 ms patience, so "stuck" does not depend on how fast this machine is.
    const engine = new EngineClient(vscode.Uri.joinPath(extensionRoot, 'dist', 'worker.js').fsPath, 50);
    try {
      // Tokenizing two million characters has no cancellation point: the worker cannot stop by itself.
      const heavyJob = { text: 'x '.repeat(1_000_000), tokenizer: 'word' as const, maxTokens: 4096, model: { kind: 'random' as const, config: { dModel: 64, heads: 4, seed: 1, causal: true } } };
      let computing!: () => void;
      const inCompute = new Promise<void>((resolve) => (computing = resolve));
      const heavy = engine.inspect(1, heavyJob, (message) => message.startsWith('Tokenizing') && computing());
      const heavyOutcome = heavy.then(
        () => 'finished',
        (e: Error) => e.name,
      );
      await inCompute; // now tokenizing, where no cancellation point is reached for a while
      const quick = await engine.inspect(2, { ...heavyJob, text: 'a b c', model: { kind: 'random', config: { dModel: 8, heads: 2, seed: 1, causal: true } } });
      assert.equal(await heavyOutcome, 'CancelledError');
      assert.equal(quick.tokens.length, 3);
      assert.equal(engine.workersStarted, 2, 'a fresh worker took over');
      const layer = await engine.layer(2, 0);
      assert.equal(layer.weights.length, 2 * 3 * 3, 'the fresh worker answers requests about its result');
    } finally {
      engine.dispose();
    }
  });
});
