/**
 * Llama, Mistral, Qwen2 and Qwen3: pre-norm decoders with RMSNorm, rotary positions, SwiGLU and grouped
 * KV heads. They differ in data only: biases (Qwen2 on q/k/v), q/k norm and an explicit head_dim
 * (Qwen3), the sliding window (Mistral always when set; Qwen only with use_sliding_window, from layer
 * max_window_layers on).
 *
 * Tensors (base model prefix "model.", absent when a bare *Model was saved): embed_tokens.weight [V, C];
 * per layer i under layers.i.: self_attn.{q,k,v,o}_proj.weight [H·hd, C], [KV·hd, C], [KV·hd, C],
 * [C, H·hd] (+ biases), self_attn.{q,k}_norm.weight [hd] (Qwen3), mlp.{gate,up}_proj.weight [I, C],
 * mlp.down_proj.weight [C, I], input_layernorm.weight and post_attention_layernorm.weight [C];
 * norm.weight [C]; lm_head.weight [V, C] unless tie_word_embeddings.
 */
import type { ModelFamily, TransformerLayer } from '../engine/types';
import { familyFromLayout, linearOf, rmsNormOf, type CheckpointFamily } from './family';
import { readActivation, readRope, type ConfigReader } from './hfConfig';

export type LlamaLikeType = Extract<ModelFamily, 'llama' | 'mistral' | 'qwen2' | 'qwen3'>;

/** HF's defaults for keys a config may leave out (LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config). */
const DEFAULTS: Readonly<Record<LlamaLikeType, { maxPositions: number; eps: number }>> = {
  llama: { maxPositions: 2048, eps: 1e-6 },
  mistral: { maxPositions: 4096 * 32, eps: 1e-6 },
  qwen2: { maxPositions: 32768, eps: 1e-6 },
  qwen3: { maxPositions: 32768, eps: 1e-6 },
};

/** The window of each layer: Mistral's everywhere when sliding_window is set; Qwen's from its layer types. */
function layerWindows(config: ConfigReader, type: LlamaLikeType, layers: number): (number | null)[] {
  if (type === 'llama') return new Array<number | null>(layers).fill(null);
  // Mistral's and Qwen's configs default sliding_window to 4096; null turns it off.
  const window = config.isNull('sliding_window') ? null : config.positiveInt('sliding_window', 4096);
  if (type === 'mistral') return new Array<number | null>(layers).fill(window);
  const layerTypes = config.get('layer_types');
  if (layerTypes !== undefined) {
    if (!Array.isArray(layerTypes) || layerTypes.length !== layers) config.fail(`"layer_types" must list one type for each of the ${layers} layers`);
    return (layerTypes as unknown[]).map((t, i) => {
      if (t === 'full_attention') return null;
      if (t === 'sliding_attention') return window;
      return config.fail(`"layer_types"[${i}] ${JSON.stringify(t)} is not supported; expected "full_attention" or "sliding_attention"`);
    });
  }
  // Qwen2Config: sliding_window is None unless use_sliding_window, and then only layers ≥ max_window_layers use it.
  if (!config.bool('use_sliding_window', false)) return new Array<number | null>(layers).fill(null);
  const from = config.nonNegativeInt('max_window_layers', 28);
  return Array.from({ length: layers }, (_, i) => (i >= from ? window : null));
}

export function llamaFamily(config: ConfigReader, type: LlamaLikeType): CheckpointFamily {
  const d = config.positiveInt('hidden_size');
  const layers = config.positiveInt('num_hidden_layers');
  const heads = config.positiveInt('num_attention_heads');
  const kvHeads = config.positiveInt('num_key_value_heads', heads);
  const mlpWidth = config.positiveInt('intermediate_size');
  const vocabSize = config.positiveInt('vocab_size');
  if (heads % kvHeads !== 0) config.fail(`"num_attention_heads" ${heads} must be a multiple of "num_key_value_heads" ${kvHeads}`);
  // Qwen3Config's head_dim defaults to 128; the others fall back to hidden_size / num_attention_heads.
  if (type !== 'qwen3' && !config.has('head_dim') && d % heads !== 0) config.fail(`"hidden_size" ${d} must be divisible by "num_attention_heads" ${heads}`);
  const headDim = config.positiveInt('head_dim', type === 'qwen3' ? 128 : d / heads);
  const eps = config.positiveNumber('rms_norm_eps', DEFAULTS[type].eps);
  const activation = readActivation(config, 'hidden_act', 'silu');
  const rope = readRope(config, headDim, { theta: ['rope_theta'], partial: ['partial_rotary_factor'], defaultTheta: 10000, defaultPartial: 1 });
  // These families' attention rotates every dim of a head (HF's apply_rotary_pos_emb does not slice).
  if (rope.rotaryDims !== headDim) config.fail(`"partial_rotary_factor" is not supported for ${type}: its attention rotates all ${headDim} dims of each head`);
  const tied = config.bool('tie_word_embeddings', false);
  // Biases: Qwen2 on q/k/v; Llama and Qwen3 on q/k/v/o with attention_bias; Llama's MLP with mlp_bias.
  const attentionBias = type === 'llama' || type === 'qwen3' ? config.bool('attention_bias', false) : false;
  const qkvBias = type === 'qwen2' || attentionBias;
  const mlpBias = type === 'llama' ? config.bool('mlp_bias', false) : false;

  const qDim = heads * headDim;
  const kvDim = kvHeads * headDim;
  return familyFromLayout({
    config: {
      family: type,
      layers,
      heads,
      kvHeads,
      headDim,
      dModel: d,
      mlpWidth,
      vocabSize,
      maxPositions: config.positiveInt('max_position_embeddings', DEFAULTS[type].maxPositions),
      maxPositionsKey: 'max_position_embeddings',
      causal: true,
      windows: layerWindows(config, type, layers),
      residual: 'serial',
      positions: { kind: 'rotary', rope },
    },
    prefix: 'model.',
    layerKey: /^layers\.(\d+)\./,
    layersKey: 'num_hidden_layers',
    build: (take) => {
      const tokenEmbedding = take('embed_tokens.weight', [vocabSize, d]);
      const blocks = Array.from({ length: layers }, (_, i): TransformerLayer => {
        const at = `layers.${i}.`;
        return {
          attnNorm: rmsNormOf(take, at, 'input_layernorm', d, eps),
          qkv: {
            kind: 'separate',
            query: linearOf(take, at, 'self_attn.q_proj', qDim, d, qkvBias),
            key: linearOf(take, at, 'self_attn.k_proj', kvDim, d, qkvBias),
            value: linearOf(take, at, 'self_attn.v_proj', kvDim, d, qkvBias),
          },
          ...(type === 'qwen3' ? { qNorm: rmsNormOf(take, at, 'self_attn.q_norm', headDim, eps), kNorm: rmsNormOf(take, at, 'self_attn.k_norm', headDim, eps) } : {}),
          outProj: linearOf(take, at, 'self_attn.o_proj', d, qDim, attentionBias),
          mlpNorm: rmsNormOf(take, at, 'post_attention_layernorm', d, eps),
          mlp: {
            kind: 'gated',
            activation,
            gate: linearOf(take, at, 'mlp.gate_proj', mlpWidth, d, mlpBias),
            up: linearOf(take, at, 'mlp.up_proj', mlpWidth, d, mlpBias),
            down: linearOf(take, at, 'mlp.down_proj', d, mlpWidth, mlpBias),
          },
        };
      });
      return {
        tokenEmbedding,
        layers: blocks,
        finalNorm: rmsNormOf(take, '', 'norm', d, eps),
        lmHead: tied ? tokenEmbedding : take('lm_head.weight', [vocabSize, d], true),
      };
    },
  });
}
