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
