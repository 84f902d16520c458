import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSafetensors } from '../../src/model';
import { readNpy } from './export/npyReader';
import { assertClose, FIXTURES, readJson } from './helpers';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectUsageError(args: string[], pattern: RegExp): void {
  const r = run(args);
  assert.equal(r.code, 2, `exit code for ${args.join(' ')}: ${r.stderr}`);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0], /^attention-inspector: error: /);
  assert.match(lines[0], pattern);
}

describe('CLI (dist/cli.js, end to end)', function () {
  this.timeout(60000);
  const tmp = mkdtempSync(join(tmpdir(), 'ai-cli-'));
  before(() => {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  });

  for (const name of ['basic', 'causal', 'nobias', 'one_token', 'headdim1', 'huge_logits']) {
    it(`mha reproduces PyTorch on "${name}"`, () => {
      const expected = readJson<{ heads: number; headDim: number; causal: boolean; scores: unknown; weights: unknown; output: unknown }>('mha', name, 'expected.json');
      const dir = join(FIXTURES, 'mha', name);
      const args = ['mha', '--x', join(dir, 'x.safetensors'), '--weights', join(dir, 'weights.safetensors'), '--heads', String(expected.heads)];
      if (expected.causal) args.push('--causal');
      const r = run(args);
      assert.equal(r.code, 0, r.stderr);
      const got = JSON.parse(r.stdout);
      assert.deepEqual(Object.keys(got), ['heads', 'headDim', 'scores', 'weights', 'output']);
      assert.equal(got.heads, expected.heads);
      assert.equal(got.headDim, expected.headDim);
      assertClose(got.scores.flat(2).map((v: number | null) => (v === null ? -Infinity : v)), expected.scores as never, 'scores');
      assertClose(got.weights.flat(2), expected.weights as never, 'weights');
      assertClose(got.output.flat(), expected.output as never, 'output');
    });
  }

  it('mha --out writes the same JSON to a file', () => {
    const dir = join(FIXTURES, 'mha', 'basic');
    const out = join(tmp, 'mha.json');
    const r = run(['mha', '--x', join(dir, 'x.safetensors'), '--weights', join(dir, 'weights.safetensors'), '--heads', '2', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(JSON.parse(readFileSync(out, 'utf8')).heads, 2);
  });

  it('inspect --model runs the GPT-2 checkpoint and matches PyTorch', () => {
    const c = readJson<{ text: string; ids: number[]; attentions: number[][][][]; topNext: { id: number; prob: number }[]; perplexity: number }[]>('gpt2-tiny', 'expected.json').find(
      (x) => (x as { name?: string }).name === 'special',
    )!;
    const r = run(['inspect', '--text', c.text, '--model', join(FIXTURES, 'gpt2-tiny'), '--top-k', '5']);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(r.stdout);
    assert.deepEqual(got.tokens.map((t: { id: number }) => t.id), c.ids);
    assert.equal(got.tokens[8].text, '<|endoftext|>');
    assert.equal(got.tokens.at(-1).end, c.text.length);
    assertClose(got.attentions.flat(3), c.attentions as never, 'attentions');
    assert.deepEqual(got.topNext.map((t: { id: number }) => t.id), c.topNext.map((t) => t.id));
    assert.ok(got.topNext.every((t: { text: unknown }) => typeof t.text === 'string'));
    assertClose([got.perplexity], [c.perplexity], 'perplexity');
    assert.equal(got.metrics.length, 2);
    assert.equal(got.metrics[0].length, 4);
    assert.ok(got.metrics[0][0].entropy >= 0);
  });

  it('inspect --random has the same shape with one layer, and is reproducible per seed', () => {
    const args = ['inspect', '--text', 'the cat sat on the mat', '--random', '--d-model', '16', '--heads', '4', '--seed', '7', '--causal'];
    const a = JSON.parse(run(args).stdout);
    const b = JSON.parse(run(args).stdout);
    assert.deepEqual(a, b);
    assert.equal(a.attentions.length, 1);
    assert.equal(a.attentions[0].length, 4);
    assert.equal(a.attentions[0][0].length, a.tokens.length);
    assert.equal(a.attentions[0][0][0][1], 0, 'causal: the first query cannot see the second key');
    assert.deepEqual(a.topNext, []);
    assert.equal(a.perplexity, null);
    const c = JSON.parse(run([...args.slice(0, -2), '99', '--causal']).stdout);
    assert.notDeepEqual(c.attentions, a.attentions);
  });

  it('inspect --format csv gives one row per (layer, head, query, key), quoting token text', () => {
    const file = join(tmp, 'in.txt');
    writeFileSync(file, 'a, "b"\n');
    const r = run(['inspect', '--file', file, '--random', '--heads', '2', '--d-model', '4', '--tokenizer', 'char', '--format', 'csv']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\r\n').filter(Boolean);
    assert.equal(lines[0], 'layer,head,query,key,query_token,key_token,weight,score');
    const n = 7; // a , · " b " ↵
    assert.equal(lines.length - 1, 2 * n * n);
    assert.ok(lines.some((l) => l.includes(',""""')), 'a quote character is escaped');
    assert.ok(lines.some((l) => l.startsWith('0,1,6,6,"\n","\n",')), 'tokens are written as their raw text');
  });

  it('gives one clear line and exit code 2 for bad arguments and files', () => {
    const dir = join(FIXTURES, 'mha', 'basic');
    const broken = join(tmp, 'broken.safetensors');
    writeFileSync(broken, readFileSync(join(dir, 'weights.safetensors')).subarray(0, 100));
    expectUsageError([], /missing command/);
    assert.match(run(['--help']).stdout, /Usage:/);
    expectUsageError(['frobnicate'], /unknown command "frobnicate"/);
    expectUsageError(['mha', '--weights', 'w'], /mha needs --x/);
    expectUsageError(['mha', '--x', join(tmp, 'nope.safetensors'), '--weights', 'w', '--heads', '2'], /nope\.safetensors does not exist/);
    expectUsageError(['mha', '--x', join(dir, 'x.safetensors'), '--weights', broken, '--heads', '2'], /safetensors|header|truncat|range/i);
    expectUsageError(['mha', '--x', join(dir, 'x.safetensors'), '--weights', join(dir, 'weights.safetensors'), '--heads', '3'], /divisible by heads 3/);
    expectUsageError(['mha', '--x', join(dir, 'x.safetensors'), '--weights', join(dir, 'weights.safetensors'), '--heads', 'two'], /--heads must be a non-negative integer/);
    expectUsageError(['mha', '--x', join(dir, 'weights.safetensors'), '--weights', join(dir, 'weights.safetensors'), '--heads', '2'], /no tensor named "x"/);
    expectUsageError(['inspect'], /exactly one of --text T, --file F or --ids/);
    expectUsageError(['inspect', '--text', 'a', '--ids', '1'], /exactly one of --text T, --file F or --ids/);
    expectUsageError(['inspect', '--text', ''], /no tokens/);
    expectUsageError(['inspect', '--text', 'hi', '--bogus'], /Unknown option '--bogus'/);
    expectUsageError(['inspect', '--text', 'hi', '--format', 'xml'], /--format must be json, csv, npy or safetensors/);
    expectUsageError(['inspect', '--text', 'hi', '--tokenizer', 'bpe'], /--tokenizer must be gpt2, word or char/);
    expectUsageError(['inspect', '--text', 'hi', '--model', tmp], /config\.json/);
    expectUsageError(['inspect', '--text', 'hi', '--model', join(FIXTURES, 'gpt2-tiny'), '--tokenizer', 'word'], /needs the gpt2 tokenizer, not word/);
    expectUsageError(['inspect', '--text', 'hi', '--random', '--d-model', '10', '--heads', '3'], /d_model 10 must be divisible by heads 3/);
    expectUsageError(['inspect', '--text', 'hi', '--out', join(tmp, 'no', 'such', 'folder', 'x.json')], /cannot write .*x\.json/);
    expectUsageError(['inspect', '--ids', '1,x', '--model', join(FIXTURES, 'gpt2-tiny')], /--ids must be comma-separated non-negative integers/);
    expectUsageError(['inspect', '--ids', '1,50257', '--model', join(FIXTURES, 'gpt2-tiny')], /token id 50257 at position 1 must be an integer from 0 to 50256/);
    expectUsageError(['inspect', '--text', 'hi', '--max-tokens', '0'], /--max-tokens must be at least 1/);
    expectUsageError(['inspect', '--text', 'hi', '--max-tokens', '2.5'], /--max-tokens must be a non-negative integer/);
    expectUsageError(['inspect', '--text', 'hi', '--memory-limit', 'lots'], /--memory-limit must be a size such as 2G/);
    expectUsageError(['inspect', '--text', 'hi', '--memory-limit', '1K'], /even one token needs about [\d.]+ MB \(the model's weights are [\d.]+ KB\), more than the memory limit of 1 KB: allow more memory or use a smaller model/);
    expectUsageError(['inspect', '--text', 'hi', '--format', 'npy'], /--format npy writes files: give --out FOLDER/);
    expectUsageError(['inspect', '--text', 'hi', '--layers', '0'], /--layers selects what --format npy or safetensors writes/);
    expectUsageError(['inspect', '--text', 'hi', '--model', join(FIXTURES, 'gpt2-tiny'), '--format', 'npy', '--out', join(tmp, 'bad'), '--layers', '2'], /--layers: 2 is out of range/);
    expectUsageError(['inspect', '--text', 'hi', '--model', join(FIXTURES, 'gpt2-tiny'), '--format', 'npy', '--out', join(tmp, 'bad'), '--heads', '1-0'], /--heads/);
    expectUsageError(['inspect', '--text', 'hi', '--format', 'npy', '--out', broken], /--out .*broken\.safetensors is a file; --format npy writes a folder/);
    // A reader that stops early is not an error.
    const piped = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" inspect --text "${'word '.repeat(100)}" --random --tokenizer char | head -c 100 > /dev/null`], { encoding: 'utf8' });
    assert.equal(piped.stderr, '', 'no error when the reader goes away');
  });

  it('cuts to n_positions and --max-tokens (default 512) with a warning and a truncation field', () => {
    const r = run(['inspect', '--text', 'word '.repeat(70), '--model', join(FIXTURES, 'gpt2-tiny')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^attention-inspector: warning: The input has 71 tokens; only the first 64 were inspected \(the model's n_positions\)\.\n$/);
    assert.deepEqual(JSON.parse(r.stdout).truncation, { totalTokens: 71, keptTokens: 64, reason: 'nPositions' });
    // 20,000 characters one token each: cut to the default limit at once, not run for minutes.
    const started = Date.now();
    const long = run(['inspect', '--text', 'ab'.repeat(10_000), '--random', '--tokenizer', 'char', '--format', 'csv']);
    assert.equal(long.code, 0, long.stderr);
    assert.match(long.stderr, /20,000 tokens; only the first 512 were inspected \(--max-tokens\)/);
    assert.equal(long.stdout.split('\r\n').length - 2, 4 * 512 * 512);
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
    const five = JSON.parse(run(['inspect', '--text', 'one two three four five six', '--random', '--max-tokens', '5']).stdout);
    assert.equal(five.tokens.length, 5);
    assert.deepEqual(five.truncation, { totalTokens: 6, keptTokens: 5, reason: 'maxTokens' });
  });

  it('cuts to --memory-limit, and refuses text formats too big to be useful', () => {
    const text = 'x'.repeat(3000);
    const r = run(['inspect', '--text', text, '--random', '--tokenizer', 'char', '--max-tokens', '3000', '--memory-limit', '100M', '--out', join(tmp, 'mem.json')]);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(readFileSync(join(tmp, 'mem.json'), 'utf8'));
    assert.equal(got.truncation.reason, 'memory');
    assert.ok(got.tokens.length > 100 && got.tokens.length < 3000, `kept ${got.tokens.length}`);
    assert.match(r.stderr, /only the first [\d,]+ were inspected \(--memory-limit\)/);
    expectUsageError(['inspect', '--text', text, '--random', '--tokenizer', 'char', '--max-tokens', '3000'], /--format json would write about [\d.]+ (MB|GB) \(1 × 4 heads × 3000² weights and scores\); use --format npy or safetensors, or at most --max-tokens 2048/);
  });

  it('--ids runs the model on the ids as given: the same numbers as the text, tokens with text and no offsets', () => {
    const model = join(FIXTURES, 'gpt2-tiny');
    const fromText = JSON.parse(run(['inspect', '--text', 'The cat sat', '--model', model]).stdout);
    const ids = fromText.tokens.map((t: { id: number }) => t.id);
    assert.deepEqual(ids, [464, 3797, 3332]);
    const fromIds = JSON.parse(run(['inspect', '--ids', ids.join(','), '--model', model]).stdout);
    assert.deepEqual(fromIds.attentions, fromText.attentions);
    assert.deepEqual(fromIds.scores, fromText.scores);
    assert.deepEqual(fromIds.topNext, fromText.topNext);
    assert.deepEqual(fromIds.tokens.map((t: { text: string; start: null }) => [t.text, t.start]), [['The', null], [' cat', null], [' sat', null]]);
    assert.deepEqual(Object.keys(fromText), ['format', 'version', 'model', 'source', 'truncation', 'tokens', 'attentions', 'scores', 'metrics', 'metricLabels', 'topNext', 'perplexity']);
    assert.deepEqual(fromText.tokens[1], { id: 3797, text: ' cat', display: '·cat', start: 3, end: 7 });
  });

  it('--format npy and safetensors write the selected layers and heads as float32, with the tokens beside them', () => {
    const c = readJson<{ name: string; text: string; ids: number[]; attentions: number[][][][]; scores: (number | null)[][][][] }[]>('gpt2-tiny', 'expected.json').find((x) => x.name === 'code')!;
    const model = join(FIXTURES, 'gpt2-tiny');
    const dir = join(tmp, 'npy');
    const r = run(['inspect', '--text', c.text, '--model', model, '--format', 'npy', '--out', dir, '--layers', '1', '--heads', '0,2-3']);
    assert.equal(r.code, 0, r.stderr);
    const n = c.ids.length;
    const attentions = readNpy(readFileSync(join(dir, 'attentions.npy')));
    const scores = readNpy(readFileSync(join(dir, 'scores.npy')));
    assert.deepEqual(attentions.shape, [1, 3, n, n]);
    assertClose(attentions.data, [0, 2, 3].map((h) => c.attentions[1][h]) as never, 'npy attentions');
    assertClose(scores.data, [0, 2, 3].map((h) => c.scores[1][h]) as never, 'npy scores');
    const sidecar = JSON.parse(readFileSync(join(dir, 'inspection.json'), 'utf8'));
    assert.deepEqual(sidecar.tokens.map((t: { id: number }) => t.id), c.ids);
    assert.deepEqual([sidecar.layers, sidecar.heads], [[1], [0, 2, 3]]);

    const file = join(tmp, 'all.safetensors');
    assert.equal(run(['inspect', '--text', c.text, '--model', model, '--format', 'safetensors', '--out', file]).code, 0);
    const tensors = parseSafetensors(readFileSync(file));
    assert.deepEqual(tensors.get('attentions')!.shape, [2, 4, n, n]);
    assertClose(tensors.get('attentions')!.data, c.attentions as never, 'safetensors attentions');
    assertClose(tensors.get('scores')!.data, c.scores as never, 'safetensors scores');
  });
});
