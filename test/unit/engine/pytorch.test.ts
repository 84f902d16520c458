import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { multiHeadAttention } from '../../../src/engine/attention';
import { gpt2Forward } from '../../../src/engine/gpt2';
import { inspectTokens } from '../../../src/engine/inspect';
import { loadGpt2Folder, loadMhaStateDict, parseSafetensors } from '../../../src/model';
import { createTokenizer } from '../../../src/tokenize';
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

  describe('tiny GPT-2 checkpoint', () => {
    const cases = readJson<Gpt2Case[]>('gpt2-tiny', 'expected.json');
    const tokenizer = createTokenizer('gpt2');
    let model: Awaited<ReturnType<typeof loadGpt2Folder>>;
    before(async () => {
      model = await loadGpt2Folder(join(FIXTURES, 'gpt2-tiny'));
    });

    for (const c of cases) {
      it(`"${c.name}": token ids, every layer's attention, final hidden states, top-5 and perplexity`, () => {
        assert.deepEqual(tokenizer.encode(c.text).map((t) => t.id), c.ids, 'our tokenizer gives the ids the fixture was made with');
        const out = gpt2Forward(model, c.ids, { keepScores: true, topK: 5 });
        assert.equal(out.attentions.length, c.attentions.length);
        out.attentions.forEach((a, layer) => assertClose(a.data, c.attentions[layer], `attention layer ${layer}`));
        out.scores!.forEach((s, layer) => assertClose(s.data, c.scores[layer], `scores layer ${layer}`));
        assertClose(out.lastHidden.data, c.lastHidden, 'lastHidden');
        assert.deepEqual(out.topNext.map((t) => t.id), c.topNext.map((t) => t.id), 'top-5 ids');
        assertClose(out.topNext.map((t) => t.prob), c.topNext.map((t) => t.prob), 'top-5 probabilities');
        if (c.perplexity === null) assert.equal(out.perplexity, null);
        else assertClose([out.perplexity!], [c.perplexity], 'perplexity');
      });
    }

    it('the traced layer reproduces the same attention as the untraced forward', () => {
      const c = cases.find((x) => x.name === 'code')!;
      const inspection = inspectTokens(c.ids, { kind: 'gpt2', weights: model }, { traceLayer: 1 });
      const traced = inspection.traced!;
      assert.equal(traced.layer, 1);
      assertClose(traced.attention.attnWeights.data, c.attentions[1], 'traced weights');
      const ids = traced.attention.trace!.map((s) => s.id);
      assert.ok(ids.includes('wQuery') && ids.includes('outProj') && ids[0] === 'x');
      assert.deepEqual(traced.attention.trace!.find((s) => s.id === 'wKey')!.tensor.shape, [16, 16]);
    });

    it('refuses inputs longer than n_positions and ids outside the vocabulary', () => {
      assert.throws(() => gpt2Forward(model, new Array(65).fill(1)), /the input has 65 tokens but this model supports at most 64 \(n_positions\)/);
      assert.throws(() => gpt2Forward(model, [1, 50257]), /token id 50257 at position 1 is outside the vocabulary/);
      assert.throws(() => gpt2Forward(model, []), /no tokens/);
      assert.throws(() => gpt2Forward(model, [1], { traceLayer: 2 }), /traceLayer 2 is outside 0…1/);
    });
  });
});
