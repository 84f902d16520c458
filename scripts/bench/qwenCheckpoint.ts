/**
 * A Qwen2.5-0.5B-shaped checkpoint with seeded random weights, written in the exact Hugging Face layout
 * (config.json, model.safetensors.index.json and two BF16 shards named as save_pretrained names them),
 * for the bench's memory case. No PyTorch: the shards are streamed to disk a chunk at a time, so
 * writing ~1 GB of BF16 never holds more than one chunk. Generated once into .cache/bench/ and reused.
 *
 *   npx tsx scripts/bench/qwenCheckpoint.ts [folder]   writes it (or says it is there already)
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Xoshiro128 } from '../../src/engine/random';

/** Qwen/Qwen2.5-0.5B's config.json, as the Hub has it (the fields a loader reads, and the usual rest). */
export const QWEN_CONFIG: QwenConfig = {
  architectures: ['Qwen2ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151643,
  hidden_act: 'silu',
  hidden_size: 896,
  initializer_range: 0.02,
  intermediate_size: 4864,
  max_position_embeddings: 32768,
  max_window_layers: 24,
  model_type: 'qwen2',
  num_attention_heads: 14,
  num_hidden_layers: 24,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000.0,
  sliding_window: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.40.1',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

/** A Qwen2 config.json; the sizes may be changed (the tests write a tiny one). */
export interface QwenConfig {
  readonly hidden_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly num_key_value_heads: number;
  readonly intermediate_size: number;
  readonly vocab_size: number;
  readonly [key: string]: unknown;
}

/** Bump when the weights or layout change, so an old folder is rewritten rather than reused. */
const GENERATOR_VERSION = 1;
const SEED = 20250;

export const DEFAULT_QWEN_FOLDER = join('.cache', 'bench', 'qwen2.5-0.5b-shaped');

type Init = { kind: 'uniform'; std: number } | { kind: 'ones'; jitter: number };

interface TensorSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Init;
}

/** Every tensor Qwen2ForCausalLM saves (no lm_head.weight: it is tied to the embeddings), in HF's names. */
export function qwenTensorSpecs(config: QwenConfig = QWEN_CONFIG): TensorSpec[] {
  const d = config.hidden_size;
  const headDim = d / config.num_attention_heads;
  const kv = config.num_key_value_heads * headDim;
  const mlp = config.intermediate_size;
  // std 0.02 as initializer_range; norms near 1; biases a little larger, as trained Qwen q/k biases are.
  const w: Init = { kind: 'uniform', std: 0.02 };
  const bias: Init = { kind: 'uniform', std: 0.1 };
  const norm: Init = { kind: 'ones', jitter: 0.1 };
  const specs: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [config.vocab_size, d], init: w }];
  for (let i = 0; i < config.num_hidden_layers; i++) {
    const at = `model.layers.${i}.`;
    specs.push(
      { name: `${at}input_layernorm.weight`, shape: [d], init: norm },
      { name: `${at}self_attn.q_proj.weight`, shape: [d, d], init: w },
      { name: `${at}self_attn.q_proj.bias`, shape: [d], init: bias },
      { name: `${at}self_attn.k_proj.weight`, shape: [kv, d], init: w },
      { name: `${at}self_attn.k_proj.bias`, shape: [kv], init: bias },
      { name: `${at}self_attn.v_proj.weight`, shape: [kv, d], init: w },
      { name: `${at}self_attn.v_proj.bias`, shape: [kv], init: bias },
      { name: `${at}self_attn.o_proj.weight`, shape: [d, d], init: w },
      { name: `${at}post_attention_layernorm.weight`, shape: [d], init: norm },
      { name: `${at}mlp.gate_proj.weight`, shape: [mlp, d], init: w },
      { name: `${at}mlp.up_proj.weight`, shape: [mlp, d], init: w },
      { name: `${at}mlp.down_proj.weight`, shape: [d, mlp], init: w },
    );
  }
  specs.push({ name: 'model.norm.weight', shape: [d], init: norm });
  return specs;
}

const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Parameters of the checkpoint (the tied head counted once). */
export function qwenParameterCount(config: QwenConfig = QWEN_CONFIG): number {
  return qwenTensorSpecs(config).reduce((n, s) => n + elements(s.shape), 0);
}

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** float32 → bfloat16 bits, rounding to nearest even (as torch's .to(torch.bfloat16); no NaNs arise here). */
function toBf16(value: number): number {
  f32[0] = value;
  const bits = f32Bits[0];
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

const CHUNK = 1 << 20; // elements per write

/** Writes one safetensors file of BF16 tensors, header first, then each tensor chunk by chunk. */
async function writeShard(path: string, specs: readonly TensorSpec[], seedOf: (name: string) => number): Promise<number> {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const s of specs) {
    const bytes = elements(s.shape) * 2;
    header[s.name] = { dtype: 'BF16', shape: s.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // data aligned to 8 bytes, as the reference writer pads
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));
  const file = await open(path, 'w');
  try {
    await file.write(prefix);
    await file.write(headerBytes);
    const chunk = new Uint16Array(CHUNK);
    const chunkBytes = new Uint8Array(chunk.buffer);
    for (const s of specs) {
      const rng = new Xoshiro128(seedOf(s.name));
      const count = elements(s.shape);
      const bound = s.init.kind === 'uniform' ? s.init.std * Math.sqrt(3) : s.init.jitter;
      const base = s.init.kind === 'ones' ? 1 : 0;
      for (let at = 0; at < count; at += CHUNK) {
        const len = Math.min(CHUNK, count - at);
        for (let i = 0; i < len; i++) chunk[i] = toBf16(base + rng.uniform(bound));
        await file.write(chunkBytes, 0, len * 2);
      }
    }
  } finally {
    await file.close();
  }
  return offset;
}

function nameSeed(name: string): number {
  let h = SEED >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Makes sure `folder` holds the checkpoint of `config` (written by this version of the generator), writing
 * it when not. Writes into a temporary folder beside it and renames, so an interrupted run leaves nothing
 * half-done. Returns whether it wrote.
 */
export async function ensureQwenCheckpoint(folder = DEFAULT_QWEN_FOLDER, log: (line: string) => void = () => {}, config: QwenConfig = QWEN_CONFIG): Promise<boolean> {
  const stamp = join(folder, 'generator.json');
  if (existsSync(stamp) && existsSync(join(folder, 'config.json'))) {
    const info = JSON.parse(await readFile(stamp, 'utf8')) as { version?: number };
    const written = await readFile(join(folder, 'config.json'), 'utf8');
    if (info.version === GENERATOR_VERSION && written === JSON.stringify(config, null, 2)) return false;
  }
  const tmp = `${folder}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const specs = qwenTensorSpecs(config);
  // Two shards, split near the middle of the bytes at a tensor boundary: the embeddings and the first
  // layers in one, the rest in the other (what save_pretrained's max_shard_size does).
  const total = specs.reduce((n, s) => n + elements(s.shape) * 2, 0);
  let split = 0;
  for (let acc = 0; split < specs.length && acc + elements(specs[split].shape) * 2 <= total / 2; split++) acc += elements(specs[split].shape) * 2;
  const shards = [specs.slice(0, split), specs.slice(split)];
  const names = shards.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`);
  const started = performance.now();
  const weightMap: Record<string, string> = {};
  let totalSize = 0;
  for (const [i, shard] of shards.entries()) {
    log(`writing ${names[i]} (${shard.length} tensors)`);
    totalSize += await writeShard(join(tmp, names[i]), shard, nameSeed);
    for (const s of shard) weightMap[s.name] = names[i];
  }
  await writeFile(join(tmp, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2));
  await writeFile(join(tmp, 'config.json'), JSON.stringify(config, null, 2));
  await writeFile(join(tmp, 'generator.json'), JSON.stringify({ version: GENERATOR_VERSION, seed: SEED, parameters: qwenParameterCount(config) }));
  await mkdir(dirname(folder), { recursive: true });
  await rm(folder, { recursive: true, force: true });
  await rename(tmp, folder);
  log(`wrote ${folder}: ${(totalSize / 2 ** 20).toFixed(0)} MiB of BF16 in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return true;
}

// Run directly (not when bundled into the bench, where require.main is the bundle itself).
if (/qwenCheckpoint\.[tj]s$/.test(process.argv[1] ?? '')) {
  const folder = process.argv[2] ?? DEFAULT_QWEN_FOLDER;
  ensureQwenCheckpoint(folder, console.log).then(
    (wrote) => wrote || console.log(`${folder} is there already`),
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
