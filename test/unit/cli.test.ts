import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    assert.ok(lines.some((l) => l.startsWith('0,1,6,6,↵,↵,')));
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
    expectUsageError(['inspect'], /exactly one of --text T or --file F/);
    expectUsageError(['inspect', '--text', ''], /empty/);
    expectUsageError(['inspect', '--text', 'hi', '--bogus'], /Unknown option '--bogus'/);
    expectUsageError(['inspect', '--text', 'hi', '--format', 'xml'], /--format must be json or csv/);
    expectUsageError(['inspect', '--text', 'hi', '--tokenizer', 'bpe'], /--tokenizer must be gpt2, word or char/);
    expectUsageError(['inspect', '--text', 'hi', '--model', tmp], /config\.json/);
    expectUsageError(['inspect', '--text', 'hi', '--model', join(FIXTURES, 'gpt2-tiny'), '--tokenizer', 'word'], /needs --tokenizer gpt2/);
    expectUsageError(['inspect', '--text', 'hi', '--random', '--d-model', '10', '--heads', '3'], /d_model 10 must be divisible by heads 3/);
    expectUsageError(['inspect', '--text', 'hi', '--out', join(tmp, 'no', 'such', 'folder', 'x.json')], /cannot write .*x\.json/);
    expectUsageError(['inspect', '--text', 'word '.repeat(70), '--model', join(FIXTURES, 'gpt2-tiny')], /at most 64 \(n_positions\)/);
  });
});
