import type { Tensor } from './tensor';

/**
 * Weights of one multi-head attention block. Projection matrices use the lecture's layout
 * [d_in, d_out], so queries = X · W_query (+ bQuery). PyTorch's nn.Linear stores the transpose.
 */
export interface MhaWeights {
  readonly dModel: number;
  readonly heads: number;
  readonly wQuery: Tensor; // [d, d]
  readonly wKey: Tensor; // [d, d]
  readonly wValue: Tensor; // [d, d]
  readonly outProj: Tensor; // [d, d]
  readonly bQuery?: Tensor; // [d]
  readonly bKey?: Tensor; // [d]
  readonly bValue?: Tensor; // [d]
  readonly outProjBias?: Tensor; // [d]
}

export interface LayerNormWeights {
  readonly weight: Tensor; // [d]
  readonly bias: Tensor; // [d]
}

/** Hyper-parameters read from a Hugging Face GPT-2 config.json. */
export interface Gpt2Config {
  readonly nLayer: number;
  readonly nHead: number;
  readonly nEmbd: number;
  readonly nPositions: number;
  readonly vocabSize: number;
  readonly layerNormEpsilon: number;
}

/** One GPT-2 block in Hugging Face Conv1D layout ([in, out]: y = x · W + b). */
export interface Gpt2Block {
  readonly ln1: LayerNormWeights;
  readonly cAttnWeight: Tensor; // [d, 3d]: queries | keys | values
  readonly cAttnBias: Tensor; // [3d]
  readonly cProjWeight: Tensor; // [d, d]
  readonly cProjBias: Tensor; // [d]
  readonly ln2: LayerNormWeights;
  readonly fcWeight: Tensor; // [d, 4d]
  readonly fcBias: Tensor; // [4d]
  readonly mlpProjWeight: Tensor; // [4d, d]
  readonly mlpProjBias: Tensor; // [d]
}

export interface Gpt2Weights {
  readonly config: Gpt2Config;
  readonly wte: Tensor; // [vocab, d]; also the (tied) LM head
  readonly wpe: Tensor; // [nPositions, d]
  readonly blocks: readonly Gpt2Block[];
  readonly lnF: LayerNormWeights;
}

/**
 * A learned projection y = x·W (+ b). Checkpoints store W in one of two layouts and the engine reads
 * both as they are (no transposed copy of a multi-gigabyte model): GPT-2's Conv1D keeps [in, out],
 * nn.Linear keeps [out, in].
 */
export interface Linear {
  readonly weight: Tensor; // [in, out] ('inOut') or [out, in] ('outIn')
  readonly layout: 'inOut' | 'outIn';
  readonly bias?: Tensor; // [out]
  /** The checkpoint module it comes from, without the layer prefix ("c_attn", "self_attn.q_proj"): the trace's source. */
  readonly name: string;
}

export type NormWeights =
  | { readonly kind: 'layerNorm'; readonly weight: Tensor; readonly bias: Tensor; readonly eps: number; readonly name: string }
  | { readonly kind: 'rmsNorm'; readonly weight: Tensor; readonly eps: number; readonly name: string };

/**
 * Where queries, keys and values come from. 'fused' is one projection whose output columns hold all
 * three: 'blocks' is GPT-2's [queries | keys | values]; 'perHead' is GPT-NeoX's view as
 * [heads, 3, headDim] (head h's queries, then its keys, then its values).
 */
export type QkvProjection =
  | { readonly kind: 'separate'; readonly query: Linear; readonly key: Linear; readonly value: Linear }
  | { readonly kind: 'fused'; readonly order: 'blocks' | 'perHead'; readonly qkv: Linear };

export type Activation = 'geluTanh' | 'geluErf' | 'silu';

export type MlpWeights =
  /** down(act(up(x))): GPT-2, GPT-NeoX, BERT. */
  | { readonly kind: 'dense'; readonly activation: Activation; readonly up: Linear; readonly down: Linear }
  /** down(act(gate(x)) ⊙ up(x)): SwiGLU (Llama, Mistral, Qwen). */
  | { readonly kind: 'gated'; readonly activation: Activation; readonly gate: Linear; readonly up: Linear; readonly down: Linear };

/**
 * How a block adds attention and MLP to the residual stream h:
 * 'serial' (pre-norm): h += attn(norm1(h)); h += mlp(norm2(h)).
 * 'parallel' (GPT-NeoX): h += attn(norm1(h)) + mlp(norm2(h)), both from the same h.
 * 'postNorm' (BERT): h = norm1(h + attn(h)); h = norm2(h + mlp(h)).
 */
export type ResidualForm = 'serial' | 'parallel' | 'postNorm';

export interface TransformerLayer {
  /** norm1: before attention (serial, parallel) or after its residual add (postNorm). */
  readonly attnNorm: NormWeights;
  readonly qkv: QkvProjection;
  /** RMSNorm over each head's headDim values of queries and keys, before rotary (Qwen3). */
  readonly qNorm?: NormWeights; // weight [headDim]
  readonly kNorm?: NormWeights; // weight [headDim]
  readonly outProj: Linear;
  /** norm2: before the MLP (serial, parallel) or after its residual add (postNorm). */
  readonly mlpNorm: NormWeights;
  readonly mlp: MlpWeights;
}

/**
 * Rotary position embedding as Hugging Face computes it: inv_freq[k] = theta^(−2k / rotaryDims), then the
 * scaling. 'linear' divides every frequency by factor; 'llama3' keeps short wavelengths, divides long
 * ones by factor and blends in between (modeling_rope_utils._compute_llama3_parameters).
 */
export interface RopeConfig {
  readonly theta: number;
  /** Leading dims of each head that rotate (all of headDim, or a fraction: partial rotary). */
  readonly rotaryDims: number;
  readonly scaling:
    | { readonly type: 'default' }
    | { readonly type: 'linear'; readonly factor: number }
    | {
        readonly type: 'llama3';
        readonly factor: number;
        readonly lowFreqFactor: number;
        readonly highFreqFactor: number;
        readonly originalMaxPositions: number;
      };
}

export type PositionScheme =
  /** A learned [maxPositions, d] table added to the token embeddings; RoBERTa numbers positions from its padding id. */
  | { readonly kind: 'learned'; readonly paddingIdx?: number }
  | { readonly kind: 'rotary'; readonly rope: RopeConfig };

export type ModelFamily = 'gpt2' | 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'gpt_neox' | 'bert' | 'roberta' | 'distilbert';

/** What every family's config reader produces: the shape and the few choices that differ between families. */
export interface TransformerConfig {
  readonly family: ModelFamily;
  readonly layers: number;
  readonly heads: number;
  /** Key/value heads: fewer than heads for grouped-query attention (query head h reads KV head ⌊h / (heads / kvHeads)⌋). */
  readonly kvHeads: number;
  readonly headDim: number;
  readonly dModel: number;
  readonly mlpWidth: number;
  readonly vocabSize: number;
  /** Longest input: learned position rows (RoBERTa: fewer, positions start after padding_idx) or the trained context. */
  readonly maxPositions: number;
  /** The config key maxPositions comes from ("n_positions", "max_position_embeddings"), for the refusal. */
  readonly maxPositionsKey: string;
  readonly causal: boolean;
  /** Each layer's causal sliding window (query i sees keys max(0, i − window + 1) … i), or null for full attention. */
  readonly windows: readonly (number | null)[];
  readonly residual: ResidualForm;
  readonly positions: PositionScheme;
}

export interface TransformerWeights {
  readonly config: TransformerConfig;
  readonly tokenEmbedding: Tensor; // [vocab, d]
  readonly positionEmbedding?: Tensor; // [rows, d], learned positions only
  /** BERT's token-type table: every token is type 0, so row 0 is added everywhere. */
  readonly tokenTypeEmbedding?: Tensor; // [types, d]
  /** LayerNorm of the summed embeddings (BERT family). */
  readonly embeddingNorm?: NormWeights;
  readonly layers: readonly TransformerLayer[];
  /** Norm after the last block (pre-norm decoders). */
  readonly finalNorm?: NormWeights;
  /** The language-model head, logits = h · lmHeadᵀ; the token embedding itself when tied; absent for encoders. */
  readonly lmHead?: Tensor; // [vocab, d]
}
