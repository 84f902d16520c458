import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorKind } from '../../../src/errors';
import { modelShape } from '../../../src/engine/inspection';
import { ropeInverseFrequencies } from '../../../src/engine/rotary';
import { transformerForward } from '../../../src/engine/transformer';
import type { TransformerWeights } from '../../../src/engine/types';
import { checkpointFamily, loadModelFolder, ModelFileError, parseSafetensors, readSafetensorsFile } from '../../../src/model';
import { loadModel, type LoadedModel } from '../../../src/pipeline/model';
import { runPipeline } from '../../../src/pipeline/run';
import { runInspection } from '../../../src/worker/session';
import { traceStepText } from '../../../src/present/steps';
import { assertClose, ATOL, FIXTURES, readJson, RTOL } from '../helpers';
import { naiveDecoder, naiveInverseFrequencies, readCheckpoint } from './naiveDecoder';
import { expectedTokens, rawAddedTokens, rustReference, unicodeForms } from '../tokenize/hf/reference';

type Matrix = (number | null)[][];

interface FamilyCase {
  case: string;
  model_type: string;
  input_ids: number[];
  /** Text cases: the folder has a tokenizer.json and input_ids are Hugging Face tokenizers' encode(text). */
  text?: string;
  special_tokens_mask?: number[];
  position_ids: number[];
  mask: { kind: 'causal' | 'sliding_window_causal' | 'bidirectional'; sliding_window?: number; visible_keys: [number, number][] };
  files: string[];
  tensors_used: string[];
  tensors_ignored: string[];
  attentions: number[][][][];
  scores: Matrix[][];
  hidden_states_last: number[][];
  top_next?: { id: number; prob: number }[];
  perplexity?: number;
  f32_max_abs_diff: Record<'attentions' | 'scores' | 'hidden_states_last', number>;
}

const ROOT = join(FIXTURES, 'families');
const CASES = readdirSync(ROOT).sort();
const folderOf = (name: string) => join(ROOT, name);
const expectedOf = (name: string) => readJson<FamilyCase>('families', name, 'expected.json');
const configOf = (name: string) => readJson<Record<string, unknown>>('families', name, 'config.json');

/**
 * 1e-4 relative, with an absolute floor for values near 0 (a score that cancels to −0.0009 keeps the
 * float32 rounding of its ±5 terms): twice what the same computation in float32 lands from the float64
 * reference, as the fixture measured it (f32_max_abs_diff), and never below the suite's 1e-6.
 */
function check(c: FamilyCase, what: keyof FamilyCase['f32_max_abs_diff'], actual: ArrayLike<number>, expected: Parameters<typeof assertClose>[1], label: string): void {
  assertClose(actual, expected, label, RTOL, Math.max(ATOL, 2 * c.f32_max_abs_diff[what]));
}

describe('model families (test/fixtures/families, scripts/gen_family_fixtures.py), through loadModel and runPipeline', () => {
  for (const name of CASES) {
    describe(name, () => {
      const c = expectedOf(name);
      let loaded: LoadedModel;
      before(async () => {
        loaded = await loadModel({ kind: 'folder', folder: folderOf(name), label: name }, () => Promise.reject(new Error('not a gpt2 spec')));
      });

      it('reads the config: family, shape, mask kind', () => {
        const { info } = loaded;
        const config = configOf(name);
        assert.equal(info.family, c.model_type);
        assert.equal(info.kind, 'checkpoint');
        assert.equal(info.layers, c.attentions.length);
        assert.equal(info.heads, c.attentions[0].length);
        assert.equal(info.kvHeads, config.num_key_value_heads ?? info.heads);
        assert.equal(info.causal, c.mask.kind !== 'bidirectional');
        assert.equal(info.tokenizer, c.text === undefined ? null : 'huggingface', 'the folder\'s tokenizer.json, and none is guessed');
        assert.equal(info.parameters, (loaded.model.kind === 'transformer' ? countUsed(c) : NaN), 'parameters: the tensors used, a tied head once');
      });

      for (const keep of ['inputs', 'all'] as const) {
        it(`keep '${keep}': every layer's attentions and scores, ${c.top_next ? 'top-5 and perplexity' : 'no LM head'}`, () => {
          const result = runPipeline({ ids: c.input_ids }, loaded, { maxTokens: 4096, keep, topK: 5 });
          const { inspection } = result;
          assert.equal(result.truncation, null);
          assert.deepEqual(result.tokens.map((t) => t.id), c.input_ids, 'ids as given');
          assert.ok(result.tokens.every((t) => t.start === null && (c.text === undefined) === (t.text === null)), 'no offsets for ids; their text only where the folder has a tokenizer');
          // Ask in an order that defeats the one-layer cache: last, first, then every layer again.
          for (const layer of [c.attentions.length - 1, 0, ...c.attentions.keys()]) {
            const a = inspection.layer(layer);
            check(c, 'attentions', a.attnWeights.data, c.attentions[layer], `layer ${layer} attentions`);
            check(c, 'scores', a.attnScores.data, c.scores[layer], `layer ${layer} scores (masked = −∞)`);
          }
          if (c.top_next) {
            assert.deepEqual(inspection.topNext.map((t) => t.id), c.top_next.map((t) => t.id), 'top-5 ids');
            assertClose(inspection.topNext.map((t) => t.prob), c.top_next.map((t) => t.prob), 'top-5 probabilities');
            assertClose([inspection.perplexity!], [c.perplexity!], 'perplexity');
          } else {
            assert.deepEqual(inspection.topNext, []);
            assert.equal(inspection.perplexity, null);
          }
        });
      }

      if (c.text !== undefined) {
        const text = c.text;
        it('text through the folder\'s tokenizer.json: Hugging Face\'s ids and offsets, specials marked with empty ranges, the same attentions', async () => {
          const result = runPipeline({ text }, loaded, { maxTokens: 4096, keep: 'inputs', topK: 5 });
          assert.deepEqual(result.tokens.map((t) => t.id), c.input_ids, 'ids equal Rust tokenizers\' encode(text)');
          assert.deepEqual(result.tokens.map((t) => (t.special ? 1 : 0)), c.special_tokens_mask, 'special tokens');
          // Offsets: Rust's, converted to UTF-16 by the tokenizer tests' independent reference (whole characters, no gaps).
          const json = JSON.parse(readFileSync(join(folderOf(name), 'tokenizer.json'), 'utf8'));
          const reference = rustReference(json);
          const expected = expectedTokens(text, await reference.encode(text), await reference.specialsBefore(), unicodeForms(json), rawAddedTokens(json));
          assert.deepEqual(
            result.tokens.map((t) => [t.id, t.start, t.end, Boolean(t.special)]),
            expected.map((t) => [t.id, t.start, t.end, t.special]),
            'ids, UTF-16 offsets and special marks equal Hugging Face tokenizers\' (Rust) encode(text)',
          );
          for (const t of result.tokens) assert.equal(t.text, text.slice(t.start!, t.end!), 'each token carries the text it covers');
          for (const layer of c.attentions.keys()) check(c, 'attentions', result.inspection.layer(layer).attnWeights.data, c.attentions[layer], `layer ${layer} attentions`);
          if (c.top_next) assert.deepEqual(result.inspection.topNext.map((t) => t.id), c.top_next.map((t) => t.id), 'top-5 ids');
        });
      }

      it('hidden states after the final norm (decoders) or the last block (encoders)', () => {
        const weights = transformerWeightsOf(loaded);
        check(c, 'hidden_states_last', transformerForward(weights, c.input_ids, { lmHead: false }).lastHidden.data, c.hidden_states_last, 'hidden_states_last');
      });

      it('reads exactly the tensors the reference used, skipping buffers and heads whatever their dtype', () => {
        const family = checkpointFamily(configOf(name), 'config.json');
        for (const t of c.tensors_used) assert.ok(family.include(t), `${t} is read`);
        for (const t of c.tensors_ignored) assert.ok(!family.include(t), `${t} is skipped`);
      });

      it("each layer's trace recomputes the same weights, and Q·Kᵀ of its queries and keys steps gives the raw scores", () => {
        const { inspection } = runPipeline({ ids: c.input_ids }, loaded, { maxTokens: 4096 });
        const n = c.input_ids.length;
        for (const layer of c.attentions.keys()) {
          const steps = inspection.trace(layer).trace!;
          const byId = new Map(steps.map((s) => [s.id, s]));
          check(c, 'attentions', byId.get('attnWeights')!.tensor.data, c.attentions[layer], `trace layer ${layer} attentions`);
          check(c, 'scores', byId.get('maskedScores')!.tensor.data, c.scores[layer], `trace layer ${layer} masked scores`);
          const q = byId.get('queries')!.tensor, k = byId.get('keys')!.tensor, raw = byId.get('rawScores')!.tensor;
          const [heads, , headDim] = q.shape;
          assert.deepEqual(k.shape, q.shape, 'keys expanded to one per query head');
          for (let h = 0; h < heads; h++) {
            for (let i = 0; i < n; i++) {
              for (let j = 0; j < n; j++) {
                let dot = 0;
                for (let x = 0; x < headDim; x++) dot += q.data[(h * n + i) * headDim + x] * k.data[(h * n + j) * headDim + x];
                const got = raw.data[(h * n + i) * n + j];
                assert.ok(Math.abs(dot - got) <= 1e-4 * (1 + Math.abs(dot)), `layer ${layer} head ${h}: q${i}·k${j} ${dot} vs raw ${got}`);
              }
            }
          }
          for (const s of steps) assert.ok(traceStepText(s, 0).title && traceStepText(s, 0).explanation, `words for ${s.id}`);
        }
      });
    });
  }

  it('the family steps appear where the family has them: rotary angles, q/k norm, the KV head map, the window', async () => {
    const ids = (name: string) => expectedOf(name).input_ids;
    const trace = async (name: string) => {
      const loaded = await loadModel({ kind: 'folder', folder: folderOf(name), label: name }, () => Promise.reject(new Error('unused')));
      return runPipeline({ ids: ids(name) }, loaded, { maxTokens: 4096 }).inspection.trace(0).trace!;
    };
    const stepIds = (steps: Awaited<ReturnType<typeof trace>>) => steps.map((s) => s.id);
    const qwen3 = await trace('qwen3_qknorm');
    assert.deepEqual(stepIds(qwen3).slice(0, 13), [
      'x', 'wQuery', 'wKey', 'wValue', 'queries.projected', 'keys.projected', 'values', 'queries.normed', 'keys.normed', 'queries.angles', 'queries', 'keys', 'keys.groups',
    ]);
    const groups = qwen3.find((s) => s.id === 'keys.groups')!;
    assert.deepEqual([...groups.tensor.data], [0, 0, 1, 1], 'query head h reads KV head ⌊h / 2⌋');
    assert.match(traceStepText(groups, 3).formula, /KV head 1 = ⌊3 \/ 2⌋/);
    assert.deepEqual(qwen3.find((s) => s.id === 'wQuery')!.tensor.shape, [32, 64], 'W_query in the lecture layout [d_in, heads·headDim]');
    assert.equal(qwen3.find((s) => s.id === 'wQuery')!.source, 'self_attn.q_proj.weight.T');
    const angles = qwen3.find((s) => s.id === 'queries.angles')!;
    assert.deepEqual(angles.tensor.shape, [ids('qwen3_qknorm').length, 8]);
    assert.match(traceStepText(angles).formula, /1000000\^\(−2k\/16\)/);

    const neox = await trace('gpt_neox_parallel');
    assert.ok(!stepIds(neox).includes('keys.groups'), 'no KV map without grouped heads');
    assert.match(neox.find((s) => s.id === 'wKey')!.source!, /^attention\.query_key_value\.weight\.view\(2, 3, 16, 32\)\[:, 1\]/);
    assert.match(traceStepText(neox.find((s) => s.id === 'queries.angles')!).explanation, /first 4 of each head’s 16 dims rotate/);

    const mistral = await trace('mistral_sliding_window');
    assert.match(traceStepText(mistral.find((s) => s.id === 'maskedScores')!).formula, /j > i or j ≤ i − 4/);
    const llama3 = await trace('llama_llama3rope_untied');
    assert.match(traceStepText(llama3.find((s) => s.id === 'queries.angles')!).formula, /llama3-scaled \(factor 8/);

    const bert = await trace('bert_mlm_prefixed');
    assert.deepEqual(stepIds(bert).slice(0, 7), ['x', 'wQuery', 'wKey', 'wValue', 'queries', 'keys', 'values']);
    assert.equal(traceStepText(bert[0]).title, 'X = h');
    assert.equal(traceStepText(bert.find((s) => s.id === 'maskedScores')!).formula, 'no mask');
  });

  it('GPT-2 runs through the same folder path, with the same numbers as its own loader', async () => {
    const folder = join(FIXTURES, 'gpt2-tiny');
    const cases = readJson<{ ids: number[]; attentions: number[][][][]; topNext: { id: number }[] }[]>('gpt2-tiny', 'expected.json');
    const loaded = await loadModel({ kind: 'folder', folder, label: 'tiny' }, () => Promise.reject(new Error('the folder path reads it')));
    assert.equal(loaded.info.kind, 'gpt2');
    assert.equal(loaded.info.tokenizer, 'gpt2');
    for (const c of cases) {
      const { inspection } = runPipeline({ ids: c.ids }, loaded, { maxTokens: 4096, topK: 5 });
      for (const layer of c.attentions.keys()) assertClose(inspection.layer(layer).attnWeights.data, c.attentions[layer], `gpt2 layer ${layer}`);
      assert.deepEqual(inspection.topNext.map((t) => t.id), c.topNext.map((t) => t.id));
    }
  });

  it('limits: kvHeads, the MLP width, an encoder without an LM head, RoBERTa positions after padding_idx', async () => {
    const llama = transformerWeightsOf(await loadModel({ kind: 'folder', folder: folderOf('llama_gqa_tied'), label: 'l' }, () => Promise.reject(new Error())));
    const shape = modelShape({ kind: 'transformer', weights: llama });
    assert.deepEqual([shape.heads, shape.kvHeads, shape.headDim, shape.mlpWidth, shape.gatedMlp, shape.vocabSize], [4, 2, 16, 96, true, 384]);
    const roberta = await loadModel({ kind: 'folder', folder: folderOf('roberta'), label: 'r' }, () => Promise.reject(new Error()));
    assert.equal(modelShape(roberta.model).vocabSize, 0, 'no LM head');
    // 40 position rows, padding_idx 1: positions 2…39, so 38 tokens.
    const result = runPipeline({ ids: new Array(45).fill(5) }, roberta, { maxTokens: 4096 });
    assert.deepEqual(result.truncation, { totalTokens: 45, keptTokens: 38, reason: 'nPositions' });
    assert.throws(() => transformerForward(transformerWeightsOf(roberta), new Array(39).fill(5)), (e: unknown) => errorKind(e) === 'user' && /supports at most 38 \(max_position_embeddings\)/.test((e as Error).message));
  });

  it('the worker names next tokens that are part of a character by their byte (<0xC4>), never a bare U+FFFD', async () => {
    const c = expectedOf('mistral_text_bytefallback');
    const ctx = { loaders: { loadGpt2: () => Promise.reject(new Error('unused')) }, isCancelled: () => false, progress: () => {}, backend: () => 'test' };
    const { payload } = await runInspection(1, { text: c.text!, tokenizer: 'word', maxTokens: 64, model: { kind: 'folder', folder: folderOf('mistral_text_bytefallback'), label: 'm' } }, ctx);
    assert.deepEqual(payload.topNext.slice(0, 5).map((t) => t.id), c.top_next!.map((t) => t.id));
    const bytes = payload.topNext.filter((t) => /^<0x[0-9A-F]{2}>$/.test(t.text));
    assert.ok(bytes.length > 0, `a byte token is among the predictions: ${payload.topNext.map((t) => t.text).join(' ')}`);
    assert.ok(payload.topNext.every((t) => !t.text.includes('\uFFFD')), payload.topNext.map((t) => t.text).join(' '));
    assert.equal(payload.tokens[0].special, true);
  });

  it('a caller that will read text is refused before the weights are read when the folder has no tokenizer.json', async () => {
    let weightsRead = 0;
    const loaders = { loadGpt2: () => Promise.reject(new Error('unused')), loadFolder: async (f: string) => (weightsRead++, loadModelFolder(f)) };
    await assert.rejects(loadModel({ kind: 'folder', folder: folderOf('qwen3_qknorm'), label: 'q' }, loaders, { forText: { hint: 'Add it.' } }), (e: unknown) => errorKind(e) === 'user' && /tokenizer\.json does not exist.*\. Add it\.$/s.test((e as Error).message));
    assert.equal(weightsRead, 0, 'no weight was read');
    await loadModel({ kind: 'folder', folder: folderOf('mistral_text_bytefallback'), label: 'm' }, loaders, { forText: {} });
    assert.equal(weightsRead, 1);
  });

  it('text for a folder without tokenizer.json is refused with the reason, never guessed; its ids still run', async () => {
    const loaded = await loadModel({ kind: 'folder', folder: folderOf('llama_gqa_tied'), label: 'l' }, () => Promise.reject(new Error()));
    assert.throws(() => runPipeline({ text: 'hello' }, loaded, { maxTokens: 10 }), (e: unknown) => errorKind(e) === 'user' && /tokenizer\.json does not exist.*cannot read text.*--ids/.test((e as Error).message));
    assert.equal(runPipeline({ ids: [5, 6] }, loaded, { maxTokens: 10 }).tokens.length, 2);
  });
});

describe('model families: the fast path agrees with a naive per-head implementation (test/unit/engine/naiveDecoder.ts)', () => {
  const decoders = ['llama_gqa_tied', 'llama_llama3rope_untied', 'llama_linearrope_sharded', 'mistral_sliding_window', 'qwen2_bias_tied', 'qwen3_qknorm', 'gpt_neox_parallel', 'gpt_neox_sequential'];
  for (const name of decoders) {
    it(`${name}: explicit GQA indexing, rotation by angle and mask predicate give the same attentions, scores and hidden states`, async () => {
      const c = expectedOf(name);
      const naive = naiveDecoder(configOf(name), readCheckpoint(folderOf(name), c.files, c.tensors_used), c.input_ids);
      // The naive float64 loops reproduce the PyTorch reference itself, so agreeing with them means something.
      assertClose(naive.attentions.flat(3), c.attentions, 'naive attentions vs PyTorch', 1e-8, 1e-12);
      assertClose(naive.scores.flat(3).map((s) => s ?? -Infinity), c.scores, 'naive scores vs PyTorch', 1e-8, 1e-12);
      const loaded = await loadModel({ kind: 'folder', folder: folderOf(name), label: name }, () => Promise.reject(new Error('unused')));
      const { inspection } = runPipeline({ ids: c.input_ids }, loaded, { maxTokens: 4096, keep: 'all' });
      for (const layer of naive.attentions.keys()) {
        check(c, 'attentions', inspection.layer(layer).attnWeights.data, naive.attentions[layer], `layer ${layer} attentions, fast vs naive`);
        check(c, 'scores', inspection.layer(layer).attnScores.data, naive.scores[layer], `layer ${layer} scores, fast vs naive`);
      }
      check(c, 'hidden_states_last', transformerForward(transformerWeightsOf(loaded), c.input_ids, { lmHead: false }).lastHidden.data, naive.lastHidden, 'hidden states, fast vs naive');
    });
  }

  it('the naive rope frequencies are the ones the fixtures record, and the engine computes the same', () => {
    for (const name of ['llama_llama3rope_untied', 'llama_linearrope_sharded', 'gpt_neox_parallel']) {
      const c = readJson<{ rotary: { dim: number; inv_freq: number[] } }>('families', name, 'expected.json');
      const config = configOf(name);
      const neox = config.model_type === 'gpt_neox';
      const naive = naiveInverseFrequencies((neox ? config.rotary_emb_base : config.rope_theta) as number, c.rotary.dim, config.rope_scaling as Record<string, number> | null);
      assertClose(naive, c.rotary.inv_freq, `${name} naive inv_freq`, 1e-8, 0);
      const { positions } = checkpointFamily(config).config;
      assert.equal(positions.kind, 'rotary');
      if (positions.kind === 'rotary') assertClose(ropeInverseFrequencies(positions.rope), c.rotary.inv_freq, `${name} engine inv_freq`, 1e-8, 0);
    }
  });
});

describe('model families in the CLI: inspect --model DIR --ids (dist/cli.js)', function () {
  this.timeout(60000);
  const cliRoot = join(__dirname, '..', '..', '..');
  before(() => {
    execFileSync(process.execPath, [join(cliRoot, 'scripts', 'build.mjs')], { cwd: cliRoot, stdio: 'ignore' });
  });
  const cli = (args: string[]) => spawnSync(process.execPath, [join(cliRoot, 'dist', 'cli.js'), ...args], { encoding: 'utf8' });

  for (const name of CASES) {
    it(`${name}: the JSON holds the model, the attentions, and nulls where an encoder has no LM head`, () => {
      const c = expectedOf(name);
      const r = cli(['inspect', '--model', folderOf(name), '--ids', c.input_ids.join(','), '--top-k', '5']);
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout);
      assert.equal(got.model.family, c.model_type);
      assert.deepEqual(got.tokens.map((t: { id: number }) => t.id), c.input_ids);
      assert.ok(got.tokens.every((t: { text: unknown }) => (c.text === undefined) === (t.text === null)), 'token text only where the folder has a tokenizer');
      check(c, 'attentions', got.attentions.flat(3), c.attentions, 'attentions');
      check(c, 'scores', got.scores.flat(3).map((v: number | null) => (v === null ? -Infinity : v)), c.scores, 'scores');
      if (c.top_next) {
        assert.deepEqual(got.topNext.map((t: { id: number }) => t.id), c.top_next.map((t) => t.id));
        assertClose([got.perplexity], [c.perplexity!], 'perplexity');
      } else {
        assert.deepEqual(got.topNext, []);
        assert.equal(got.perplexity, null);
      }
    });
  }

  for (const name of CASES.filter((n) => expectedOf(n).text !== undefined)) {
    it(`${name}: --text reads the folder's tokenizer.json and gives the fixture's ids, Rust's offsets and the attentions`, async () => {
      const c = expectedOf(name);
      const r = cli(['inspect', '--model', folderOf(name), '--text', c.text!, '--top-k', '5']);
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout);
      assert.equal(got.model.tokenizer, 'huggingface');
      assert.deepEqual(got.tokens.map((t: { id: number }) => t.id), c.input_ids);
      const specials = got.tokens.filter((t: { special?: boolean }) => t.special);
      assert.equal(specials.length, c.special_tokens_mask!.filter(Boolean).length, 'special tokens are marked in the JSON');
      const json = JSON.parse(readFileSync(join(folderOf(name), 'tokenizer.json'), 'utf8'));
      const reference = rustReference(json);
      const expected = expectedTokens(c.text!, await reference.encode(c.text!), await reference.specialsBefore(), unicodeForms(json), rawAddedTokens(json));
      assert.deepEqual(
        got.tokens.map((t: { start: number; end: number }) => [t.start, t.end]),
        expected.map((t) => [t.start, t.end]),
        'UTF-16 offsets equal Rust\'s',
      );
      check(c, 'attentions', got.attentions.flat(3), c.attentions, 'attentions');
      if (c.top_next) assertClose([got.perplexity], [c.perplexity!], 'perplexity');
    });
  }

  it('text is refused for a folder without tokenizer.json (naming the file and --ids), and --tokenizer for any family folder', () => {
    const text = cli(['inspect', '--model', folderOf('mistral_sliding_window'), '--text', 'hello']);
    assert.equal(text.status, 2, text.stderr);
    assert.match(text.stderr, /^attention-inspector: error: .*tokenizer\.json does not exist.*--ids/);
    const other = cli(['inspect', '--model', folderOf('mistral_sliding_window'), '--ids', '1,2', '--tokenizer', 'word']);
    assert.equal(other.status, 2, other.stderr);
    assert.match(other.stderr, /^attention-inspector: error: a mistral checkpoint .*tokenizer\.json.*--tokenizer word does not apply/);
    const refused = cli(['inspect', '--model', join(ROOT), '--ids', '1']);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /config\.json is missing; expected a Hugging Face model folder/);
  });
});

describe('model families: BOOL and I64 buffers in the files are skipped, not refused', () => {
  it('gpt_neox_parallel holds BOOL attention.bias and bert_noprefix an I64 position_ids: both load', async () => {
    await assert.rejects(readSafetensorsFile(join(folderOf('gpt_neox_parallel'), 'model.safetensors')), /unsupported dtype "BOOL"/);
    await assert.rejects(readSafetensorsFile(join(folderOf('bert_noprefix'), 'model.safetensors')), /unsupported dtype "I64"/);
    const neox = await loadModelFolder(folderOf('gpt_neox_parallel'));
    assert.equal(neox.config.residual, 'parallel');
    const bert = await loadModelFolder(folderOf('bert_noprefix'));
    assert.equal(bert.config.residual, 'postNorm');
  });
});

describe('model families: config features the engine does not implement are refused by name', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'attention-inspector-families-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const refusals: [string, string, Record<string, unknown>, RegExp][] = [
    ['unknown model type', 'llama_gqa_tied', { model_type: 't5' }, /"model_type" "t5" is not supported; supported model types are gpt2, llama/],
    ['no model type', 'llama_gqa_tied', { model_type: undefined }, /"model_type" is missing/],
    ['yarn rope', 'llama_gqa_tied', { rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 64 } }, /rope type "yarn" \(in "rope_scaling"\) is not supported; supported rope types are default, linear, llama3/],
    ['dynamic rope (old "type" key)', 'gpt_neox_parallel', { rope_scaling: { type: 'dynamic', factor: 2 } }, /rope type "dynamic"/],
    ['longrope in rope_parameters', 'qwen2_bias_tied', { rope_parameters: { rope_type: 'longrope', rope_theta: 10000 } }, /rope type "longrope" \(in "rope_parameters"\)/],
    ['llama3 rope without its factors', 'llama_llama3rope_untied', { rope_scaling: { rope_type: 'llama3', factor: 8 } }, /in "rope_scaling": "low_freq_factor" is missing/],
    ['unknown activation', 'gpt_neox_sequential', { hidden_act: 'relu' }, /"hidden_act" "relu" is not supported; supported activations are gelu, gelu_new/],
    ['quick_gelu', 'mistral_sliding_window', { hidden_act: 'quick_gelu' }, /"hidden_act" "quick_gelu" is not supported/],
    ['alibi', 'gpt_neox_sequential', { alibi: true }, /"alibi": true is not supported/],
    ['quantized weights', 'llama_gqa_tied', { quantization_config: { quant_method: 'gptq', bits: 4 } }, /"quantization_config" is not supported/],
    ['relative positions', 'bert_noprefix', { position_embedding_type: 'relative_key' }, /"position_embedding_type" "relative_key" is not supported/],
    ['BERT as a decoder', 'bert_noprefix', { is_decoder: true }, /"is_decoder": true is not supported/],
    ['an unknown layer type', 'qwen3_qknorm', { layer_types: ['full_attention', 'chunked_attention'] }, /"layer_types"\[1\] "chunked_attention" is not supported/],
    ['heads that do not group', 'llama_gqa_tied', { num_key_value_heads: 3 }, /"num_attention_heads" 4 must be a multiple of "num_key_value_heads" 3/],
    ['partial rotary where the family rotates every dim', 'llama_gqa_tied', { partial_rotary_factor: 0.5 }, /"partial_rotary_factor" is not supported for llama: its attention rotates all 16 dims/],
    ['an odd rotary width', 'gpt_neox_sequential', { rotary_pct: 0.2 }, /rotary embedding over 3 of each head's 16 dims is not supported; it needs an even number of dims/],
  ];
  for (const [what, base, change, pattern] of refusals) {
    it(`${what}: ${pattern.source.slice(0, 60)}…`, async () => {
      const dir = join(root, what.replace(/\W+/g, '-'));
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'config.json'), JSON.stringify({ ...configOf(base), ...change }));
      await assert.rejects(loadModelFolder(dir), (e: unknown) => {
        assert.ok(e instanceof ModelFileError, `a ModelFileError, got ${String(e)}`);
        assert.match(e.message, pattern);
        assert.ok(e.message.startsWith(join(dir, 'config.json')), `names the file: ${e.message}`);
        return true;
      });
    });
  }

  it('the windows Qwen2 would not use are not applied, and the ones it would are', () => {
    const windows = (config: Record<string, unknown>) => checkpointFamily(config).config.windows;
    const qwen2 = configOf('qwen2_bias_tied');
    assert.deepEqual(windows(qwen2), [null, null], 'use_sliding_window false: no window although sliding_window is 3');
    assert.deepEqual(windows({ ...qwen2, use_sliding_window: true }), [null, 3], 'from max_window_layers (1) on');
    assert.deepEqual(windows({ ...qwen2, layer_types: ['sliding_attention', 'full_attention'] }), [3, null], 'layer_types decides when present');
    assert.deepEqual(windows(configOf('mistral_sliding_window')), [4, 4], 'mistral: every layer');
    assert.deepEqual(windows({ ...configOf('mistral_sliding_window'), sliding_window: null }), [null, null], 'mistral with sliding_window null');
    assert.deepEqual(windows(configOf('qwen3_qknorm')), [null, null]);
  });
});

function transformerWeightsOf(loaded: LoadedModel): TransformerWeights {
  assert.equal(loaded.model.kind, 'transformer');
  return (loaded.model as { weights: TransformerWeights }).weights;
}

/** Parameters of the tensors a case used, read from its files (a tied head is absent from them). */
function countUsed(c: FamilyCase): number {
  let total = 0;
  for (const file of c.files) {
    const tensors = parseSafetensors(readFileSync(join(ROOT, c.case, file)), { include: (n) => c.tensors_used.includes(n) });
    for (const t of tensors.values()) total += t.data.length;
  }
  return total;
}
