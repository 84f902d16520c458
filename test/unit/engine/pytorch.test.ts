import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { multiHeadAttention } from '../../../src/engine/attention';
import { errorKind } from '../../../src/errors';
import { gpt2Forward } from '../../../src/engine/gpt2';
import { inspect } from '../../../src/engine/inspection';
import { headMetrics } from '../../../src/engine/metrics';
import { tensor } from '../../../src/engine/tensor';
import { loadGpt2Folder, loadMhaStateDict, parseSafetensors } from '../../../src/model';
import { loadModel } from '../../../src/pipeline/model';
import { runPipeline } from '../../../src/pipeline/run';
import { runInspection } from '../../../src/worker/session';
import { assertClose, FIXTURES, readJson } from '../helpers';

type Matrix = (number | null)[][];

interface MhaCase {
  heads: number;
  headDim: number;
  causal: boolean;
  scores: Matrix[];
  weights: Matrix[];
  context: number[][][];
  output: number[][];
}

interface Gpt2Case {
  name: string;
  text: string;
  ids: number[];
  attentions: number[][][][];
  scores: Matrix[][];
  lastHidden: number[][];
  topNext: { id: number; prob: number }[];
  perplexity: number | null;
}

describe('engine against PyTorch fixtures (scripts/gen_fixtures.py)', () => {
  const mhaDir = join(FIXTURES, 'mha');
  for (const name of readdirSync(mhaDir)) {
    it(`nn.MultiheadAttention case "${name}"`, () => {
      const expected = readJson<MhaCase>('mha', name, 'expected.json');
      const x = parseSafetensors(readFileSync(join(mhaDir, name, 'x.safetensors'))).get('x')!;
      const weights = loadMhaStateDict(parseSafetensors(readFileSync(join(mhaDir, name, 'weights.safetensors'))), expected.heads);
      const result = multiHeadAttention(x, weights, { causal: expected.causal });
      assert.equal(result.headDim, expected.headDim);
      assertClose(result.attnScores.data, expected.scores, 'scores');
      assertClose(result.attnWeights.data, expected.weights, 'weights');
      assertClose(result.contextVectors.data, expected.context, 'context');
      assertClose(result.output.data, expected.output, 'output');
    });
  }

  describe('tiny GPT-2 checkpoint, through the path the extension runs (worker session) and the CLI runs (pipeline)', () => {
    const cases = readJson<Gpt2Case[]>('gpt2-tiny', 'expected.json');
    const folder = join(FIXTURES, 'gpt2-tiny');
    let model: Awaited<ReturnType<typeof loadGpt2Folder>>;
    before(async () => {
      model = await loadGpt2Folder(folder);
    });
    const loadGpt2 = (f: string) => (f === folder ? Promise.resolve(model) : loadGpt2Folder(f));
    const ctx = { loaders: { loadGpt2 }, isCancelled: () => false, progress: () => {}, backend: () => 'test' };
    const heads = (t: Matrix[] | number[][][]) => t.length;

    for (const c of cases) {
      it(`"${c.name}": the worker's inspection, layers recomputed on request, traces, top-5 and perplexity`, async () => {
        const { session, payload } = await runInspection(7, { text: c.text, tokenizer: 'gpt2', maxTokens: 4096, model: { kind: 'gpt2', folder, label: 'tiny' } }, ctx);
        assert.deepEqual(payload.tokens.map((t) => t.id), c.ids, 'our tokenizer gives the ids the fixture was made with');
        assert.equal(payload.truncation, null);
        assertClose(payload.firstLayer.weights, c.attentions[0], 'first layer weights (sent with the summary)');
        assertClose(payload.firstLayer.scores, c.scores[0], 'first layer scores');
        // Ask in an order that defeats the one-layer cache: last, first, then every layer again.
        const order = [c.attentions.length - 1, 0, ...c.attentions.keys()];
        for (const layer of order) {
          const data = session.layer(layer);
          assertClose(data.weights, c.attentions[layer], `layer ${layer} weights, recomputed from its input`);
          assertClose(data.scores, c.scores[layer], `layer ${layer} scores`);
        }
        for (const layer of c.attentions.keys()) {
          const n = c.ids.length;
          for (let head = 0; head < heads(c.attentions[layer]); head++) {
            const steps = session.trace(layer, head);
            const weights = steps.find((s) => s.id === 'attnWeights')!;
            assert.deepEqual(weights.shape, [n, n]);
            assertClose(weights.data, c.attentions[layer][head], `trace of layer ${layer} head ${head}`);
            assertClose(steps.find((s) => s.id === 'maskedScores')!.data, c.scores[layer][head], `trace scores of layer ${layer} head ${head}`);
          }
        }
        assert.deepEqual(payload.topNext.slice(0, 5).map((t) => t.id), c.topNext.map((t) => t.id), 'top-5 ids');
        assertClose(payload.topNext.slice(0, 5).map((t) => t.prob), c.topNext.map((t) => t.prob), 'top-5 probabilities');
        if (c.perplexity === null) assert.equal(payload.perplexity, null);
        else assertClose([payload.perplexity!], [c.perplexity], 'perplexity');
        // Metrics are the fixture's attentions summarised by the same definition.
        payload.metrics.forEach((perHead, layer) => {
          const expected = headMetrics(tensor([heads(c.attentions[layer]), c.ids.length, c.ids.length], c.attentions[layer].flat(2)));
          perHead.forEach((m, head) => assertClose(Object.values(m), Object.values(expected[head]), `metrics layer ${layer} head ${head}`));
        });
      });

      it(`"${c.name}": the pipeline on --ids, keeping every layer, and final hidden states`, async () => {
        const loaded = await loadModel({ kind: 'gpt2', folder, label: 'tiny' }, loadGpt2);
        const result = runPipeline({ ids: c.ids }, loaded, { maxTokens: 4096, keep: 'all', topK: 5 });
        assert.deepEqual(result.tokens.map((t) => t.id), c.ids);
        assert.ok(result.tokens.every((t) => t.start === null && t.end === null && typeof t.text === 'string'), 'ids carry text, no offsets');
        for (const layer of c.attentions.keys()) {
          assertClose(result.inspection.layer(layer).attnWeights.data, c.attentions[layer], `layer ${layer} weights (kept)`);
          assertClose(result.inspection.layer(layer).attnScores.data, c.scores[layer], `layer ${layer} scores (kept)`);
        }
        assert.deepEqual(result.inspection.topNext.map((t) => t.id), c.topNext.map((t) => t.id));
        assertClose(gpt2Forward(model, c.ids, { lmHead: false }).lastHidden.data, c.lastHidden, 'lastHidden');
      });
    }

    it('refuses inputs longer than n_positions and ids outside the vocabulary, as the user\'s errors', () => {
      const userError = (pattern: RegExp) => (e: unknown) => errorKind(e) === 'user' && pattern.test((e as Error).message);
      assert.throws(() => gpt2Forward(model, new Array(65).fill(1)), userError(/the input has 65 tokens but this model supports at most 64 \(n_positions\)/));
      assert.throws(() => gpt2Forward(model, [1, 50257]), userError(/token id 50257 at position 1 is outside the vocabulary/));
      assert.throws(() => inspect([], { kind: 'gpt2', weights: model }), userError(/no tokens/));
      assert.throws(() => inspect([1], { kind: 'gpt2', weights: model }).trace(2), /layer 2 is outside 0…1/);
    });
  });
});
