/**
 * BERT, RoBERTa and DistilBERT: bidirectional post-norm encoders, learned absolute positions, GELU
 * MLP, no LM head here (the MLM and NSP heads, the pooler and the position_ids buffer are never read).
 *
 * BERT / RoBERTa (base model prefix "bert." / "roberta.", absent for a bare BertModel):
 * embeddings.{word_embeddings [V, C], position_embeddings [P, C], token_type_embeddings [T, C]}.weight,
 * embeddings.LayerNorm; per layer i under encoder.layer.i.: attention.self.{query,key,value},
 * attention.output.dense, attention.output.LayerNorm, intermediate.dense [I, C], output.dense [C, I],
 * output.LayerNorm. RoBERTa numbers positions from padding_idx + 1 (create_position_ids_from_input_ids).
 *
 * DistilBERT (prefix "distilbert."): embeddings.{word_embeddings, position_embeddings}.weight,
 * embeddings.LayerNorm; per layer under transformer.layer.i.: attention.{q,k,v,out}_lin,
 * sa_layer_norm, ffn.lin1, ffn.lin2, output_layer_norm. LayerNorm eps is 1e-12 in its code, not its config.
 */
import type { ModelFamily, TransformerConfig, TransformerLayer } from '../engine/types';
import { familyFromLayout, layerNormOf, linearOf, type CheckpointFamily } from './family';
import { readActivation, type ConfigReader } from './hfConfig';

export type BertLikeType = Extract<ModelFamily, 'bert' | 'roberta' | 'distilbert'>;

/** Each block's modules by their Hugging Face names: BERT's (RoBERTa's too) and DistilBERT's own. */
const MODULES = {
  bert: {
    layer: 'encoder.layer',
    layerKey: /^encoder\.layer\.(\d+)\./,
    query: 'attention.self.query',
    key: 'attention.self.key',
    value: 'attention.self.value',
    outProj: 'attention.output.dense',
    attnNorm: 'attention.output.LayerNorm',
    up: 'intermediate.dense',
    down: 'output.dense',
    mlpNorm: 'output.LayerNorm',
  },
  distilbert: {
    layer: 'transformer.layer',
    layerKey: /^transformer\.layer\.(\d+)\./,
    query: 'attention.q_lin',
    key: 'attention.k_lin',
    value: 'attention.v_lin',
    outProj: 'attention.out_lin',
    attnNorm: 'sa_layer_norm',
    up: 'ffn.lin1',
    down: 'ffn.lin2',
    mlpNorm: 'output_layer_norm',
  },
} as const;

/** The settings that would make BERT something other than a bidirectional encoder with absolute positions. */
function refuseBertVariants(config: ConfigReader): void {
  const positions = config.string('position_embedding_type', 'absolute');
  if (positions !== 'absolute') config.fail(`"position_embedding_type" ${JSON.stringify(positions)} is not supported; only "absolute" positions are`);
  if (config.bool('is_decoder', false)) config.fail('"is_decoder": true is not supported: the engine runs BERT-family models as bidirectional encoders');
  if (config.bool('add_cross_attention', false)) config.fail('"add_cross_attention": true is not supported');
}

export function bertFamily(config: ConfigReader, type: BertLikeType): CheckpointFamily {
  const distil = type === 'distilbert';
  if (!distil) refuseBertVariants(config);
  const key = (bert: string, distilbert: string) => (distil ? distilbert : bert);
  const d = config.positiveInt(key('hidden_size', 'dim'));
  const layers = config.positiveInt(key('num_hidden_layers', 'n_layers'));
  const heads = config.positiveInt(key('num_attention_heads', 'n_heads'));
  const mlpWidth = config.positiveInt(key('intermediate_size', 'hidden_dim'));
  const vocabSize = config.positiveInt('vocab_size');
  if (d % heads !== 0) config.fail(`"${key('hidden_size', 'dim')}" ${d} must be divisible by "${key('num_attention_heads', 'n_heads')}" ${heads}`);
  const eps = distil ? 1e-12 : config.positiveNumber('layer_norm_eps', 1e-12);
  const activation = readActivation(config, key('hidden_act', 'activation'), 'gelu');
  const positionRows = config.positiveInt('max_position_embeddings', 512);
  const typeRows = distil ? 0 : config.nonNegativeInt('type_vocab_size', 2);
  // RoBERTa's positions start after padding_idx, so its table holds padding_idx + 1 fewer tokens.
  const paddingIdx = type === 'roberta' ? config.nonNegativeInt('pad_token_id', 1) : undefined;
  const maxPositions = paddingIdx === undefined ? positionRows : positionRows - paddingIdx - 1;
  if (maxPositions < 1) config.fail(`"max_position_embeddings" ${positionRows} leaves no positions after "pad_token_id" ${paddingIdx}`);

  const modelConfig: TransformerConfig = {
    family: type,
    layers,
    heads,
    kvHeads: heads,
    headDim: d / heads,
    dModel: d,
    mlpWidth,
    vocabSize,
    maxPositions,
    maxPositionsKey: 'max_position_embeddings',
    causal: false,
    windows: new Array<null>(layers).fill(null),
    residual: 'postNorm',
    positions: paddingIdx === undefined ? { kind: 'learned' } : { kind: 'learned', paddingIdx },
  };
  const names = MODULES[distil ? 'distilbert' : 'bert'];
  return familyFromLayout({
    config: modelConfig,
    prefix: `${type}.`,
    layerKey: names.layerKey,
    layersKey: key('num_hidden_layers', 'n_layers'),
    build: (take) => ({
      tokenEmbedding: take('embeddings.word_embeddings.weight', [vocabSize, d]),
      positionEmbedding: take('embeddings.position_embeddings.weight', [positionRows, d]),
      ...(typeRows > 0 ? { tokenTypeEmbedding: take('embeddings.token_type_embeddings.weight', [typeRows, d]) } : {}),
      embeddingNorm: layerNormOf(take, 'embeddings.', 'LayerNorm', d, eps),
      layers: Array.from({ length: layers }, (_, i): TransformerLayer => {
        const at = `${names.layer}.${i}.`;
        const lin = (module: string, out: number, inp: number) => linearOf(take, at, module, out, inp, true);
        return {
          attnNorm: layerNormOf(take, at, names.attnNorm, d, eps),
          qkv: { kind: 'separate', query: lin(names.query, d, d), key: lin(names.key, d, d), value: lin(names.value, d, d) },
          outProj: lin(names.outProj, d, d),
          mlpNorm: layerNormOf(take, at, names.mlpNorm, d, eps),
          mlp: { kind: 'dense', activation, up: lin(names.up, mlpWidth, d), down: lin(names.down, d, mlpWidth) },
        };
      }),
    }),
  });
}
