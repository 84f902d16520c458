import assert from 'node:assert/strict';
import { applyRotary, ropeInverseFrequencies, rotaryTable } from '../../../src/engine/rotary';
import { stepText } from '../../../src/present/steps';
import { Controller } from '../../../webview/controller';
import { keyRuns } from '../../../webview/explain';
import { explainRotary } from '../../../webview/explainFamily';
import { quoted, tokenText, tokenTitle } from '../../../webview/format';
import { maskedLayerBlocks, windowOfMask } from '../../../webview/matrix';
import { currentMatrix, readoutFor } from '../../../webview/selectors';
import { explanationFor, findStep, stepAxes, stepRow, type Explanation } from '../../../webview/traceModel';
import { familyResult, type FamilyResult } from './familyModels';
import { FakeTransport } from './helpers';

/** The explanation of cell (query, key) of a head, as the panel builds it once the layer and the trace have arrived. */
function explain(r: FamilyResult, layer: number, head: number, query: number, key: number): Extract<Explanation, { kind: 'head' }> {
  const transport = new FakeTransport();
  const c = new Controller(transport);
  c.start();
  transport.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
  if (layer !== 0) {
    c.selectLayer(layer);
    transport.send({ type: 'layer', layer: r.layers[layer] });
  }
  c.selectHead(head);
  c.explainCell({ query, key });
  transport.send({ type: 'trace', trace: r.trace(layer, head) });
  const ex = explanationFor(c.state, c.state.view.selected);
  assert.ok(ex && ex.kind === 'head' && ex.traceLoaded, 'the explanation has its trace');
  return ex;
}

/** |a − b| within float32 rounding of a d-term dot product. */
function close(a: number, b: number, what: string, d = 16): void {
  assert.ok(Math.abs(a - b) <= 8 * d * 2 ** -24 * Math.max(1, Math.abs(a), Math.abs(b)), `${what}: ${a} vs ${b}`);
}

/** The explanation's numbers reproduce the engine's attnScores and attnWeights for the cell. */
function reproduces(r: FamilyResult, ex: Extract<Explanation, { kind: 'head' }>, layer: number, head: number): void {
  const a = r.attention(layer);
  const { n, headDim } = a;
  const idx = (head * n + ex.cell.query) * n + ex.cell.key;
  assert.equal(ex.cell.score, a.attnScores.data[idx], 'the score shown is the engine’s');
  assert.equal(ex.cell.weight, a.attnWeights.data[idx], 'the weight shown is the engine’s');
  close(ex.cell.weightRecomputed, a.attnWeights.data[idx], 'softmax recomputed');
  if (ex.cell.masked) return;
  assert.ok(ex.cell.dot);
  close(ex.cell.dot.sum / Math.sqrt(headDim), a.attnScores.data[idx], 'Σ q·k ÷ √d_k');
  if (ex.rotary) {
    const total = ex.rotary.pairsSum + (ex.rotary.passThroughSum ?? 0);
    close(total, ex.cell.dot.sum, 'the pairs’ shares (and the unturned dims) add up to q·k', headDim);
    close(total / Math.sqrt(headDim), a.attnScores.data[idx], 'rotary shares ÷ √d_k = attnScores');
  }
}

describe('explain a cell, for every family (tiny checkpoints through the engine)', function () {
  this.timeout(20_000);

  describe('Llama with grouped KV heads and rotary (llama_gqa_tied)', () => {
    let r: FamilyResult;
    before(async () => (r = await familyResult('llama_gqa_tied', [0])));

    for (const [layer, head, query, key] of [
      [0, 0, 5, 2],
      [0, 3, 10, 10],
      [1, 1, 7, 0],
      [1, 2, 4, 3],
    ] as const) {
      it(`layer ${layer}, head ${head}, cell (${query}, ${key}): θ, frequencies, angles i·f and j·f, shares and the KV head`, () => {
        const ex = explain(r, layer, head, query, key);
        reproduces(r, ex, layer, head);
        const rot = ex.rotary;
        assert.ok(rot, 'rotary explained');
        assert.equal(rot.rope.theta, 10000);
        assert.equal(rot.pairs.length, 8, 'headDim 16: 8 pairs');
        assert.equal(rot.passThroughSum, null, 'every dim rotates');
        const freqs = ropeInverseFrequencies(rot.rope);
        rot.pairs.forEach((p, k) => {
          assert.equal(p.freq, freqs[k], 'the engine’s own frequencies');
          assert.equal(p.unscaledFreq, null);
          close(p.angleQuery, query * freqs[k], `angle ${query}·f_${k}`);
          close(p.angleKey, key * freqs[k], `angle ${key}·f_${k}`);
        });
        // The rows before the turn, turned by the engine's rotary at their positions, give the rows after it.
        const trace = r.trace(layer, head);
        const q0 = stepRow(findStep(trace, 'queries.projected'), query)!;
        const q1 = stepRow(findStep(trace, 'queries'), query)!;
        const turned = applyRotary({ shape: [1, 1, 16], data: Float32Array.from(q0) }, rotaryTable(rot.rope, [query]));
        for (let c = 0; c < 16; c++) close(turned.data[c], q1[c], `q${query}[${c}] turned`);
        // GQA: 4 query heads, 2 KV heads.
        const g = ex.groups;
        assert.ok(g);
        assert.deepEqual([g.heads, g.kvHeads], [4, 2]);
        assert.equal(g.kvHead, r.attention(layer).kvHeadOf[head], 'the KV head the engine used');
        assert.deepEqual(g.map, r.attention(layer).kvHeadOf);
        assert.deepEqual(ex.mask, { kind: 'causal' });
        assert.equal(ex.norm, 'rmsNorm');
      });
    }

    it('a masked cell: −∞, weight 0, the causal words', () => {
      const ex = explain(r, 0, 1, 2, 6);
      assert.equal(ex.cell.masked, true);
      reproduces(r, ex, 0, 1);
      assert.match(readoutFor(new ControllerAt(r).state, { query: 2, key: 6 }) ?? '', /masked \(causal\): query 2 cannot see key 6/);
    });

    it('the special BOS token: its label, tooltip and readout say so', () => {
      const t = r.summary.tokens;
      assert.equal(tokenText(t[0]), `<t${t[0].id}>`);
      assert.equal(quoted(t[0]), `<t${t[0].id}> (special)`);
      assert.match(tokenTitle(t, 0), /added by the tokenizer/);
      assert.doesNotMatch(tokenTitle(t, 1), /tokenizer/);
      assert.match(readoutFor(new ControllerAt(r).state, { query: 3, key: 0 }) ?? '', /→ #0 <t\d+> \(special\):/);
    });

    it('a special token without a name is still labelled, and never as whitespace', () => {
      const bare = { id: 1, text: '', start: 4, end: 4, special: true };
      assert.equal(tokenText(bare), '⟨special⟩');
      assert.equal(quoted(bare), '⟨special⟩ (special)');
      assert.equal(tokenText({ id: 2, text: '', start: 4, end: 4 }), '∅', 'an empty typed token stays ∅');
    });

    it('a special token is never revealed (its range is empty)', () => {
      const c = new ControllerAt(r);
      c.revealToken(0);
      c.revealToken(1);
      assert.deepEqual(c.host.ofType('revealToken').map((m) => m.index), [1]);
    });

    it('trace words: RMSNorm before X, the rotated queries, the KV map', () => {
      const trace = r.trace(0, 3);
      const x = findStep(trace, 'x')!;
      assert.equal(x.params?.norm, 'rmsNorm');
      assert.match(stepAxes('x', x.params).describe, /RMSNorm/);
      assert.match(stepAxes('queries', findStep(trace, 'queries')!.params).describe, /turned by position/);
      assert.equal(stepAxes('queries.angles').cols, 'pair');
      assert.deepEqual([...findStep(trace, 'keys.groups')!.data], [1]);
    });
  });

  it('llama3 rope scaling: the scaled frequencies beside the unscaled ones, both from the engine', async () => {
    const r = await familyResult('llama_llama3rope_untied');
    const ex = explain(r, 1, 2, 11, 3);
    reproduces(r, ex, 1, 2);
    const rot = ex.rotary!;
    assert.equal(rot.rope.scaling.type, 'llama3');
    const used = ropeInverseFrequencies(rot.rope);
    const unscaled = ropeInverseFrequencies({ ...rot.rope, scaling: { type: 'default' } });
    rot.pairs.forEach((p, k) => {
      assert.equal(p.freq, used[k]);
      assert.equal(p.unscaledFreq, unscaled[k]);
      close(p.angleQuery, 11 * used[k], `angle 11·f_${k}`);
    });
    assert.ok(rot.pairs.some((p) => p.freq < p.unscaledFreq! * 0.5), 'slow pairs are slowed by the factor');
    assert.equal(rot.pairs[0].freq, rot.pairs[0].unscaledFreq, 'the fastest pair keeps its frequency');
  });

  it('GPT-NeoX partial rotary: only the first rotaryDims dims turn, the rest pass through', async () => {
    const r = await familyResult('gpt_neox_parallel');
    const ex = explain(r, 1, 1, 8, 5);
    reproduces(r, ex, 1, 1);
    const rot = ex.rotary!;
    assert.equal(rot.rope.rotaryDims, 4);
    assert.equal(rot.headDim, 16);
    assert.equal(rot.pairs.length, 2);
    assert.notEqual(rot.passThroughSum, null);
    assert.equal(ex.groups, null, 'no grouped heads');
    assert.equal(ex.norm, 'layerNorm');
    assert.equal(findStep(r.trace(0, 0), 'x')!.params?.norm, 'layerNorm');
  });

  it('Qwen3 q/k norm: the turn starts from the normed q and k', async () => {
    const r = await familyResult('qwen3_qknorm');
    const ex = explain(r, 0, 2, 9, 4);
    reproduces(r, ex, 0, 2);
    assert.ok(ex.rotary && ex.rotary.qNorm && ex.rotary.kNorm);
    const trace = r.trace(0, 2);
    const again = explainRotary(trace, 9, 4)!;
    const qn = stepRow(findStep(trace, 'queries.normed'), 9)!;
    const kn = stepRow(findStep(trace, 'keys.normed'), 4)!;
    const half = again.rope.rotaryDims / 2;
    close(again.pairs[1].before, qn[1] * kn[1] + qn[1 + half] * kn[1 + half], 'before = the normed q·k of the pair');
  });

  describe('Mistral sliding window', () => {
    let r: FamilyResult;
    before(async () => (r = await familyResult('mistral_sliding_window')));

    it('a key outside the window is masked, and said to be', () => {
      const ex = explain(r, 0, 0, 9, 2);
      assert.deepEqual(ex.mask, { kind: 'window', window: 4 });
      assert.equal(ex.cell.masked, true);
      reproduces(r, ex, 0, 0);
      assert.equal(keyRuns(ex.cell.maskedKeys), '#0–#5, #10–#11', 'the far past and the future');
      const inside = explain(r, 0, 0, 9, 6);
      assert.equal(inside.cell.masked, false);
      reproduces(r, inside, 0, 0);
    });

    it('the heatmap, readout, legend and thumbnails know the window', () => {
      const c = new ControllerAt(r);
      const m = currentMatrix(c.state)!;
      assert.equal(m.window, 4);
      assert.equal(windowOfMask(m.mask, m.n), 4);
      assert.equal(m.mask[9 * m.n + 2], 1, 'hatched like a causal cell');
      assert.match(readoutFor(c.state, { query: 9, key: 2 }) ?? '', /masked \(sliding window of 4\)/);
      const { side, data } = r.summary.thumbnails;
      const { heads } = r.summary.model;
      const blocks = maskedLayerBlocks(r.summary.tokens.length, side, data.subarray(0, heads * side * side), heads);
      assert.equal(blocks[9 * side + 2], 1, 'the thumbnail hatches the far past too');
      assert.equal(blocks[9 * side + 6], 0);
      assert.equal(blocks[2 * side + 9], 1);
    });
  });

  describe('BERT (bidirectional encoder)', () => {
    let r: FamilyResult;
    before(async () => (r = await familyResult('bert_noprefix', [0, 6])));

    it('no mask: a later key is visible and the numbers reproduce', () => {
      const ex = explain(r, 1, 3, 1, 5);
      assert.deepEqual(ex.mask, { kind: 'none' });
      assert.equal(ex.cell.masked, false);
      assert.equal(ex.rotary, null, 'learned positions: nothing turns');
      assert.equal(ex.groups, null);
      assert.equal(ex.norm, 'none', 'post-norm: X is h');
      reproduces(r, ex, 1, 3);
      const m = currentMatrix(new ControllerAt(r).state)!;
      assert.equal(m.mask.reduce((s, v) => s + v, 0), 0, 'no masked triangle');
      assert.equal(m.window, null);
      assert.equal(r.summary.model.causal, false);
      assert.equal(r.summary.perplexity, null);
    });

    it('post-norm: X is h itself, worded so', () => {
      const x = findStep(r.trace(0, 0), 'x')!;
      assert.equal(x.params?.norm, 'none');
      assert.match(stepAxes('x', x.params).describe, /not normalised/);
      assert.match(stepText('maskedScores', { causal: false }).explanation, /bidirectional/);
    });
  });
});

/** A controller showing the first layer of a result. */
class ControllerAt extends Controller {
  readonly host: FakeTransport;
  constructor(r: FamilyResult, host = new FakeTransport()) {
    super(host);
    this.host = host;
    this.start();
    host.send({ type: 'result', summary: r.summary, layer: r.layers[0] });
  }
}
