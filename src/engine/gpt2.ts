/**
 * GPT-2 as data for the shared forward pass (transformer.ts): its Hugging Face weights (Conv1D layout,
 * fused c_attn) mapped without copying onto TransformerWeights. gpt2Forward and gpt2LayerAttention keep
 * the GPT-2 entry points the bench and the tests use.
 */
import type { AttentionResult } from './attention';
import type { Tensor } from './tensor';
import { layerAttention, transformerForward, type ForwardOptions, type ForwardOutput } from './transformer';
import type { Gpt2Config, Gpt2Weights, LayerNormWeights, NormWeights, TransformerConfig, TransformerWeights } from './types';

export { topIndices, type NextToken } from './transformer';
export type Gpt2ForwardOptions = ForwardOptions;
export type Gpt2Output = ForwardOutput;

const converted = new WeakMap<Gpt2Weights, TransformerWeights>();

/** GPT-2's hyper-parameters as the shared forward pass reads them: pre-norm, learned positions, causal. */
export function gpt2TransformerConfig(config: Gpt2Config): TransformerConfig {
  return {
    family: 'gpt2',
    layers: config.nLayer,
    heads: config.nHead,
    kvHeads: config.nHead,
    headDim: config.nEmbd / config.nHead,
    dModel: config.nEmbd,
    mlpWidth: 4 * config.nEmbd,
    vocabSize: config.vocabSize,
    maxPositions: config.nPositions,
    maxPositionsKey: 'n_positions',
    causal: true,
    windows: new Array<null>(config.nLayer).fill(null),
    residual: 'serial',
    positions: { kind: 'learned' },
  };
}

/** GPT-2's blocks as the shared forward pass reads them: fused c_attn in Conv1D layout, tanh GELU, tied LM head. */
export function gpt2AsTransformer(model: Gpt2Weights): TransformerWeights {
  const cached = converted.get(model);
  if (cached) return cached;
  const eps = model.config.layerNormEpsilon;
  const norm = (w: LayerNormWeights, name: string): NormWeights => ({ kind: 'layerNorm', weight: w.weight, bias: w.bias, eps, name });
  const conv1d = (weight: Tensor, bias: Tensor, name: string) => ({ weight, bias, layout: 'inOut' as const, name });
  const weights: TransformerWeights = {
    config: { ...gpt2TransformerConfig(model.config), mlpWidth: model.blocks[0]?.fcWeight.shape[1] ?? 4 * model.config.nEmbd },
    tokenEmbedding: model.wte,
    positionEmbedding: model.wpe,
    layers: model.blocks.map((block) => ({
      attnNorm: norm(block.ln1, 'ln_1'),
      qkv: { kind: 'fused', order: 'blocks', qkv: conv1d(block.cAttnWeight, block.cAttnBias, 'c_attn') },
      outProj: conv1d(block.cProjWeight, block.cProjBias, 'c_proj'),
      mlpNorm: norm(block.ln2, 'ln_2'),
      mlp: { kind: 'dense', activation: 'geluTanh', up: conv1d(block.fcWeight, block.fcBias, 'mlp.c_fc'), down: conv1d(block.mlpProjWeight, block.mlpProjBias, 'mlp.c_proj') },
    })),
    finalNorm: norm(model.lnF, 'ln_f'),
    lmHead: model.wte, // tied
  };
  converted.set(model, weights);
  return weights;
}

/** Runs GPT-2 on token ids and captures attention for every layer and head. */
export function gpt2Forward(model: Gpt2Weights, tokenIds: readonly number[], options: Gpt2ForwardOptions = {}): Gpt2Output {
  return transformerForward(gpt2AsTransformer(model), tokenIds, options);
}

/** One layer's attention, recomputed from the residual stream that entered the block (see keepLayerInputs). */
export function gpt2LayerAttention(model: Gpt2Weights, layer: number, layerInput: Tensor, trace: boolean, checkpoint?: () => void): AttentionResult {
  return layerAttention(gpt2AsTransformer(model), layer, layerInput, trace, checkpoint);
}
