import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '../../../src/engine/tensor';
import type { Gpt2Config } from '../../../src/engine/types';
import { gpt2TensorShapes, gpt2WeightsFromTensors, loadGpt2Folder, parseGpt2Config, serializeSafetensors } from '../../../src/model';
import { assertModelError, assertModelErrorAsync } from './helpers';

const HF_KEYS = { n_layer: 2, n_head: 2, n_embd: 4, n_positions: 5, vocab_size: 7 };
const CONFIG: Gpt2Config = parseGpt2Config(HF_KEYS);

/** Every tensor a GPT-2 of `config` needs, each filled with a value unique to its name. */
function syntheticTensors(config: Gpt2Config, prefix = ''): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  let tag = 0;
  for (const [name, shape] of gpt2TensorShapes(config)) {
    tag++;
    const size = shape.reduce((a, b) => a * b, 1);
    tensors.set(prefix + name, { shape, data: Float32Array.from({ length: size }, (_, i) => tag + i / 1000) });
  }
  return tensors;
}

describe('parseGpt2Config', () => {
  it('reads the Hugging Face keys', () => {
    const config = parseGpt2Config({
      ...HF_KEYS,
      layer_norm_epsilon: 1e-6,
      model_type: 'gpt2',
      activation_function: 'gelu_new',
      n_inner: null,
      n_ctx: 999,
      architectures: ['GPT2LMHeadModel'],
    });
    assert.deepEqual(config, { nLayer: 2, nHead: 2, nEmbd: 4, nPositions: 5, vocabSize: 7, layerNormEpsilon: 1e-6 });
  });

  it('falls back to n_ctx and to the default epsilon', () => {
    const { n_positions: _, ...rest } = HF_KEYS;
    const config = parseGpt2Config({ ...rest, n_ctx: 32 });
    assert.equal(config.nPositions, 32);
    assert.equal(config.layerNormEpsilon, 1e-5);
  });

  it('names the bad key', () => {
    assertModelError(() => parseGpt2Config({ ...HF_KEYS, n_layer: undefined }), ['config.json', '"n_layer" is missing']);
    assertModelError(() => parseGpt2Config({ ...HF_KEYS, n_head: '2' }), ['"n_head" must be a positive integer, got "2"']);
    assertModelError(() => parseGpt2Config({ ...HF_KEYS, n_embd: 0 }), ['"n_embd" must be a positive integer, got 0']);
    assertModelError(() => parseGpt2Config({ ...HF_KEYS, vocab_size: 7.5 }), ['"vocab_size"', '7.5']);
    assertModelError(() => parseGpt2Config({ ...HF_KEYS, n_positions: undefined }), ['"n_positions" is missing']);
    assertModelError(() => parseGpt2Config({ ...HF_KEYS, n_positions: undefined, n_ctx: -1 }), ['"n_ctx" must be a positive integer']);
    assertModelError(() => parseGpt2Config({ ...HF_KEYS, layer_norm_epsilon: 'small' }), ['"layer_norm_epsilon" must be a positive number']);
    assertModelError(() => parseGpt2Config({ ...HF_KEYS, n_embd: 10, n_head: 4 }), ['"n_embd" 10 must be divisible by "n_head" 4']);
    assertModelError(() => parseGpt2Config([HF_KEYS]), ['must be a JSON object, got an array']);
    assertModelError(() => parseGpt2Config(null, '/models/x/config.json'), ['/models/x/config.json: must be a JSON object, got null']);
  });

  it('refuses settings the engine would compute differently', () => {
    assertModelError(() => parseGpt2Config({ ...HF_KEYS, model_type: 'llama' }), ['"model_type" is "llama"']);
    assertModelError(() => parseGpt2Config({ ...HF_KEYS, activation_function: 'relu' }), ['"activation_function" "relu"', 'gelu_new']);
    assertModelError(() => parseGpt2Config({ ...HF_KEYS, n_inner: 8 }), ['"n_inner" 8', '4·n_embd = 16']);
    assertModelError(() => parseGpt2Config({ ...HF_KEYS, scale_attn_weights: false }), ['scale_attn_weights']);
    assertModelError(() => parseGpt2Config({ ...HF_KEYS, scale_attn_by_inverse_layer_idx: true }), ['scale_attn_by_inverse_layer_idx']);
    assert.equal(parseGpt2Config({ ...HF_KEYS, n_inner: 16, activation_function: 'gelu_pytorch_tanh' }).nEmbd, 4);
  });

  it('every GPT-2 size comes from its config (GPT-2 small has 124,439,808 parameters)', () => {
    const sizes = [
      { name: 'distilgpt2', n_layer: 6, n_head: 12, n_embd: 768 },
      { name: 'gpt2', n_layer: 12, n_head: 12, n_embd: 768 },
      { name: 'gpt2-medium', n_layer: 24, n_head: 16, n_embd: 1024 },
      { name: 'gpt2-large', n_layer: 36, n_head: 20, n_embd: 1280 },
      { name: 'gpt2-xl', n_layer: 48, n_head: 25, n_embd: 1600 },
    ];
    const params: Record<string, number> = {};
    for (const { name, ...keys } of sizes) {
      const config = parseGpt2Config({ ...keys, n_positions: 1024, vocab_size: 50257 });
      const shapes = gpt2TensorShapes(config);
      assert.equal(shapes.size, 4 + 12 * keys.n_layer);
      params[name] = [...shapes.values()].reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);
    }
    assert.equal(params.gpt2, 124_439_808);
    assert.equal(params['gpt2-xl'], 1_557_611_200);
  });
});

describe('gpt2WeightsFromTensors', () => {
  it('assembles the blocks without copying, for plain and "transformer."-prefixed keys, ignoring extras', () => {
    for (const prefix of ['', 'transformer.']) {
      const tensors = syntheticTensors(CONFIG, prefix);
      tensors.set(`${prefix}h.0.attn.bias`, { shape: [1, 1, 5, 5], data: new Float32Array(25) });
      tensors.set(`${prefix}h.1.attn.masked_bias`, { shape: [], data: new Float32Array(1) });
      tensors.set('lm_head.weight', { shape: [7, 4], data: new Float32Array(28) });
      const weights = gpt2WeightsFromTensors(CONFIG, tensors);
      assert.equal(weights.config, CONFIG);
      assert.equal(weights.blocks.length, 2);
      assert.equal(weights.wte, tensors.get(`${prefix}wte.weight`));
      assert.equal(weights.wpe, tensors.get(`${prefix}wpe.weight`));
      assert.equal(weights.lnF.bias, tensors.get(`${prefix}ln_f.bias`));
      const block = weights.blocks[1];
      const expect = (t: Tensor, name: string, shape: number[]): void => {
        assert.equal(t, tensors.get(`${prefix}h.1.${name}`), name);
        assert.deepEqual(t.shape, shape, name);
      };
      expect(block.ln1.weight, 'ln_1.weight', [4]);
      expect(block.ln1.bias, 'ln_1.bias', [4]);
      expect(block.cAttnWeight, 'attn.c_attn.weight', [4, 12]);
      expect(block.cAttnBias, 'attn.c_attn.bias', [12]);
      expect(block.cProjWeight, 'attn.c_proj.weight', [4, 4]);
      expect(block.cProjBias, 'attn.c_proj.bias', [4]);
      expect(block.ln2.weight, 'ln_2.weight', [4]);
      expect(block.ln2.bias, 'ln_2.bias', [4]);
      expect(block.fcWeight, 'mlp.c_fc.weight', [4, 16]);
      expect(block.fcBias, 'mlp.c_fc.bias', [16]);
      expect(block.mlpProjWeight, 'mlp.c_proj.weight', [16, 4]);
      expect(block.mlpProjBias, 'mlp.c_proj.bias', [4]);
    }
  });

  it('names a missing tensor', () => {
    const tensors = syntheticTensors(CONFIG, 'transformer.');
    tensors.delete('transformer.h.1.mlp.c_fc.bias');
    assertModelError(() => gpt2WeightsFromTensors(CONFIG, tensors), ['missing tensor "h.1.mlp.c_fc.bias"', 'transformer.h.1.mlp.c_fc.bias', 'found keys'], 'h.1.mlp.c_fc.bias');
  });

  it('names a tensor whose shape does not fit the config, with both shapes', () => {
    const tensors = syntheticTensors(CONFIG);
    tensors.set('h.0.attn.c_attn.weight', { shape: [12, 4], data: new Float32Array(48) });
    assertModelError(() => gpt2WeightsFromTensors(CONFIG, tensors), ['[12, 4]', 'expected [4, 12]', 'n_embd 4'], 'h.0.attn.c_attn.weight');
    const prefixed = syntheticTensors(CONFIG, 'transformer.');
    prefixed.set('transformer.wpe.weight', { shape: [1024, 4], data: new Float32Array(4096) });
    assertModelError(() => gpt2WeightsFromTensors(CONFIG, prefixed), ['[1024, 4]', 'expected [5, 4]', 'n_positions 5'], 'transformer.wpe.weight');
  });

  it('refuses weights with more layers than the config', () => {
    const tensors = syntheticTensors({ ...CONFIG, nLayer: 3 });
    assertModelError(() => gpt2WeightsFromTensors(CONFIG, tensors), ['layer h.2', 'n_layer is 2']);
  });
});

describe('loadGpt2Folder', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'attention-inspector-gpt2-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function folder(name: string, files: Record<string, string | Uint8Array>): Promise<string> {
    const dir = join(root, name);
    await mkdir(dir, { recursive: true });
    for (const [file, content] of Object.entries(files)) await writeFile(join(dir, file), content);
    return dir;
  }

  it('loads config.json + model.safetensors, skipping the tensors GPT-2 does not use', async () => {
    const tensors = syntheticTensors(CONFIG, 'transformer.');
    tensors.set('transformer.h.0.attn.bias', { shape: [1, 1, 5, 5], data: new Float32Array(25) });
    tensors.set('lm_head.weight', { shape: [7, 4], data: new Float32Array(28) });
    const dir = await folder('ok', { 'config.json': JSON.stringify(HF_KEYS), 'model.safetensors': serializeSafetensors(tensors) });
    const weights = await loadGpt2Folder(dir);
    assert.deepEqual(weights.config, CONFIG);
    assert.deepEqual([...weights.blocks[1].fcBias.data], [...(tensors.get('transformer.h.1.mlp.c_fc.bias')?.data ?? [])]);
    assert.deepEqual([...weights.wte.data], [...(tensors.get('transformer.wte.weight')?.data ?? [])]);
  });

  it('loads a sharded checkpoint through model.safetensors.index.json', async () => {
    const tensors = syntheticTensors(CONFIG);
    const names = [...tensors.keys()];
    const half = Math.floor(names.length / 2);
    const shard1 = new Map(names.slice(0, half).map((n) => [n, tensors.get(n) as Tensor]));
    const shard2 = new Map(names.slice(half).map((n) => [n, tensors.get(n) as Tensor]));
    const weightMap = Object.fromEntries(names.map((n, i) => [n, i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors']));
    const dir = await folder('sharded', {
      'config.json': JSON.stringify(HF_KEYS),
      'model.safetensors.index.json': JSON.stringify({ metadata: {}, weight_map: weightMap }),
      'model-00001-of-00002.safetensors': serializeSafetensors(shard1),
      'model-00002-of-00002.safetensors': serializeSafetensors(shard2),
    });
    const weights = await loadGpt2Folder(dir);
    assert.equal(weights.lnF.weight.data[0], tensors.get('ln_f.weight')?.data[0]);

    const evil = await folder('evil-index', {
      'config.json': JSON.stringify(HF_KEYS),
      'model.safetensors.index.json': JSON.stringify({ weight_map: { 'wte.weight': '../ok/model.safetensors' } }),
    });
    await assertModelErrorAsync(() => loadGpt2Folder(evil), ['model.safetensors.index.json', 'must be a file name in the same folder']);
  });

  it('explains a missing or wrong folder', async () => {
    await assertModelErrorAsync(() => loadGpt2Folder(join(root, 'nope')), ['nope', 'folder not found', 'config.json and model.safetensors']);
    const dir = await folder('file-not-folder', { 'x.txt': 'hi' });
    await assertModelErrorAsync(() => loadGpt2Folder(join(dir, 'x.txt')), ['not a folder']);
  });

  it('says which file is missing', async () => {
    const noConfig = await folder('no-config', { 'model.safetensors': serializeSafetensors(syntheticTensors(CONFIG)) });
    await assertModelErrorAsync(() => loadGpt2Folder(noConfig), ['config.json is missing', 'expected a Hugging Face GPT-2 folder']);
    const noWeights = await folder('no-weights', { 'config.json': JSON.stringify(HF_KEYS) });
    await assertModelErrorAsync(() => loadGpt2Folder(noWeights), ['model.safetensors is missing', 'expected a Hugging Face GPT-2 folder']);
    const pickle = await folder('pickle', { 'config.json': JSON.stringify(HF_KEYS), 'pytorch_model.bin': 'x' });
    await assertModelErrorAsync(() => loadGpt2Folder(pickle), ['found pytorch_model.bin', 'safe_serialization']);
  });

  it('names config.json on a JSON syntax error or a bad value', async () => {
    const dir = await folder('bad-json', { 'config.json': '{"n_layer": 2,', 'model.safetensors': new Uint8Array(0) });
    const error = await assertModelErrorAsync(() => loadGpt2Folder(dir), ['config.json', 'invalid JSON']);
    assert.equal(error.filePath, join(dir, 'config.json'));
    const badValue = await folder('bad-value', { 'config.json': JSON.stringify({ ...HF_KEYS, n_head: 3 }) });
    await assertModelErrorAsync(() => loadGpt2Folder(badValue), [join(badValue, 'config.json'), '"n_embd" 4 must be divisible by "n_head" 3']);
  });

  it('names model.safetensors and the tensor when the weights are wrong', async () => {
    const tensors = syntheticTensors(CONFIG);
    tensors.delete('h.0.ln_2.bias');
    const dir = await folder('missing-tensor', { 'config.json': JSON.stringify(HF_KEYS), 'model.safetensors': serializeSafetensors(tensors) });
    await assertModelErrorAsync(() => loadGpt2Folder(dir), [join(dir, 'model.safetensors'), 'missing tensor "h.0.ln_2.bias"'], 'h.0.ln_2.bias');
    // A checkpoint of another architecture: the error lists its real keys even though none were loaded.
    const llama = await folder('llama-weights', {
      'config.json': JSON.stringify(HF_KEYS),
      'model.safetensors': serializeSafetensors({ 'model.embed_tokens.weight': { shape: [7, 4], data: new Float32Array(28) } }),
    });
    await assertModelErrorAsync(() => loadGpt2Folder(llama), ['missing tensor "h.0.ln_1.weight"', 'found keys: model.embed_tokens.weight']);
    const tooDeep = await folder('too-deep', {
      'config.json': JSON.stringify(HF_KEYS),
      'model.safetensors': serializeSafetensors(syntheticTensors({ ...CONFIG, nLayer: 3 })),
    });
    await assertModelErrorAsync(() => loadGpt2Folder(tooDeep), ['layer h.2', 'n_layer is 2', 'does not match']);
    const corrupt = await folder('corrupt', { 'config.json': JSON.stringify(HF_KEYS), 'model.safetensors': new Uint8Array([1, 2, 3]) });
    await assertModelErrorAsync(() => loadGpt2Folder(corrupt), [join(corrupt, 'model.safetensors'), 'too short']);
  });
});
