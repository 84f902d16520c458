import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../../src/pipeline/model';
import { runPipeline } from '../../../src/pipeline/run';
import { ensureQwenCheckpoint, QWEN_CONFIG, qwenParameterCount, qwenTensorSpecs, type QwenConfig } from '../../../scripts/bench/qwenCheckpoint';
import { naiveDecoder, readCheckpoint } from '../engine/naiveDecoder';
import { assertClose } from '../helpers';

/** The bench's generator at a tiny size: the same code writes the 0.5B checkpoint. */
const TINY: QwenConfig = { ...QWEN_CONFIG, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 48, vocab_size: 300 };

describe("the bench's Qwen2.5-0.5B-shaped checkpoint generator (scripts/bench/qwenCheckpoint.ts)", () => {
  let dir: string;
  let folder: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qwen-bench-'));
    folder = join(dir, 'tiny');
    assert.equal(await ensureQwenCheckpoint(folder, () => {}, TINY), true);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has the 0.5B model\'s parameter count at full size', () => {
    assert.equal(qwenParameterCount(), 494_032_768);
  });

  it('writes the Hugging Face layout: config.json, an index and two BF16 shards with every tensor once, no lm_head (tied)', () => {
    const index = JSON.parse(readFileSync(join(folder, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string>; metadata: { total_size: number } };
    const names = qwenTensorSpecs(TINY).map((s) => s.name);
    assert.deepEqual(Object.keys(index.weight_map).sort(), [...names].sort());
    assert.ok(!names.includes('lm_head.weight'));
    const shards = [...new Set(Object.values(index.weight_map))];
    assert.deepEqual(shards, ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    assert.equal(index.metadata.total_size, qwenParameterCount(TINY) * 2);
    for (const shard of shards) {
      const bytes = readFileSync(join(folder, shard));
      const headerLength = Number(bytes.readBigUInt64LE(0));
      assert.equal(headerLength % 8, 0, 'the data section is 8-byte aligned');
      const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { dtype?: string }>;
      for (const [name, entry] of Object.entries(header)) if (name !== '__metadata__') assert.equal(entry.dtype, 'BF16', name);
    }
  });

  it('is reused when already written, and rewritten for another config', async () => {
    assert.equal(await ensureQwenCheckpoint(folder, () => {}, TINY), false);
    const other = join(dir, 'other');
    await ensureQwenCheckpoint(other, () => {}, TINY);
    assert.equal(await ensureQwenCheckpoint(other, () => {}, { ...TINY, vocab_size: 301 }), true);
  });

  it('loads as a tied qwen2 model, and the engine agrees with the naive decoder on it', async () => {
    const loaded = await loadModel({ kind: 'folder', folder, label: 'tiny' }, () => Promise.reject(new Error('unused')));
    assert.equal(loaded.info.family, 'qwen2');
    assert.equal(loaded.info.parameters, qwenParameterCount(TINY), 'the tied LM head is the embedding, not a copy');
    assert.equal(loaded.model.kind, 'transformer');
    if (loaded.model.kind === 'transformer') assert.equal(loaded.model.weights.lmHead, loaded.model.weights.tokenEmbedding);
    const ids = [5, 17, 299, 0, 42, 42, 7];
    const names = qwenTensorSpecs(TINY).map((s) => s.name);
    const naive = naiveDecoder(TINY, readCheckpoint(folder, ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'], names), ids);
    const { inspection } = runPipeline({ ids }, loaded, { maxTokens: 64 });
    for (const layer of naive.attentions.keys()) {
      assertClose(inspection.layer(layer).attnWeights.data, naive.attentions[layer], `layer ${layer} attentions`);
      assertClose(inspection.layer(layer).attnScores.data, naive.scores[layer].flat(2).map((s) => s ?? -Infinity), `layer ${layer} scores`);
    }
    assert.ok(inspection.perplexity !== null && Number.isFinite(inspection.perplexity));
  });
});
