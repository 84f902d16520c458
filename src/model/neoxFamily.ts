/**
 * GPT-NeoX (Pythia): LayerNorm, one fused query_key_value projection viewed as [heads, 3, headDim],
 * partial rotary (the first int(headDim · rotary_pct) dims of each head), GELU MLP, and the parallel
 * residual x + attn(ln1(x)) + mlp(ln2(x)) unless use_parallel_residual is false.
 *
 * Tensors (base model prefix "gpt_neox."): embed_in.weight [V, C]; per layer i under layers.i.:
 * input_layernorm and post_attention_layernorm {weight, bias} [C], attention.query_key_value.weight
 * [3C, C] (+ bias [3C]), attention.dense.weight [C, C] (+ bias), mlp.dense_h_to_4h.{weight [I, C], bias},
 * mlp.dense_4h_to_h.{weight [C, I], bias}; final_layer_norm.{weight, bias}; embed_out.weight [V, C].
 * Old Pythia files also hold attention.bias (BOOL), attention.masked_bias and attention.rotary_emb.inv_freq:
 * buffers, never read.
 */
import type { TransformerLayer } from '../engine/types';
import { familyFromLayout, layerNormOf, linearOf, type CheckpointFamily } from './family';
import { readActivation, readRope, type ConfigReader } from './hfConfig';

export function neoxFamily(config: ConfigReader): CheckpointFamily {
  const d = config.positiveInt('hidden_size');
  const layers = config.positiveInt('num_hidden_layers');
  const heads = config.positiveInt('num_attention_heads');
  const mlpWidth = config.positiveInt('intermediate_size');
  const vocabSize = config.positiveInt('vocab_size');
  if (d % heads !== 0) config.fail(`"hidden_size" ${d} must be divisible by "num_attention_heads" ${heads}`);
  const headDim = d / heads;
  const eps = config.positiveNumber('layer_norm_eps', 1e-5);
  const activation = readActivation(config, 'hidden_act', 'gelu');
  // Older configs say rotary_pct and rotary_emb_base; newer ones partial_rotary_factor and rope_theta.
  const rope = readRope(config, headDim, { theta: ['rope_theta', 'rotary_emb_base'], partial: ['partial_rotary_factor', 'rotary_pct'], defaultTheta: 10000, defaultPartial: 0.25 });
  const parallel = config.bool('use_parallel_residual', true);
  const bias = config.bool('attention_bias', true);
  const tied = config.bool('tie_word_embeddings', false);

  return familyFromLayout({
    config: {
      family: 'gpt_neox',
      layers,
      heads,
      kvHeads: heads,
      headDim,
      dModel: d,
      mlpWidth,
      vocabSize,
      maxPositions: config.positiveInt('max_position_embeddings', 2048),
      maxPositionsKey: 'max_position_embeddings',
      causal: true,
      windows: new Array<null>(layers).fill(null),
      residual: parallel ? 'parallel' : 'serial',
      positions: { kind: 'rotary', rope },
    },
    prefix: 'gpt_neox.',
    layerKey: /^layers\.(\d+)\./,
    layersKey: 'num_hidden_layers',
    build: (take) => {
      const tokenEmbedding = take('embed_in.weight', [vocabSize, d]);
      const blocks = Array.from({ length: layers }, (_, i): TransformerLayer => {
        const at = `layers.${i}.`;
        return {
          attnNorm: layerNormOf(take, at, 'input_layernorm', d, eps),
          qkv: { kind: 'fused', order: 'perHead', qkv: linearOf(take, at, 'attention.query_key_value', 3 * d, d, bias) },
          outProj: linearOf(take, at, 'attention.dense', d, d, bias),
          mlpNorm: layerNormOf(take, at, 'post_attention_layernorm', d, eps),
          mlp: { kind: 'dense', activation, up: linearOf(take, at, 'mlp.dense_h_to_4h', mlpWidth, d, true), down: linearOf(take, at, 'mlp.dense_4h_to_h', d, mlpWidth, true) },
        };
      });
      return {
        tokenEmbedding,
        layers: blocks,
        finalNorm: layerNormOf(take, '', 'final_layer_norm', d, eps),
        lmHead: tied ? tokenEmbedding : take('embed_out.weight', [vocabSize, d], true),
      };
    },
  });
}
