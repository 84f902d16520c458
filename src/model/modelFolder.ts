/**
 * Any supported Hugging Face checkpoint folder, its family read from config.json's model_type:
 * gpt2, llama, mistral, qwen2, qwen3, gpt_neox, bert, roberta, distilbert. A model type or config
 * feature the engine does not implement is refused by name, never approximated.
 */
import type { ModelFamily, TransformerConfig, TransformerWeights } from '../engine/types';
import { readCheckpointConfig, readCheckpointTensors } from './checkpointFolder';
import { bertFamily } from './bertFamily';
import { ModelFileError } from './errors';
import type { CheckpointFamily } from './family';
import { gpt2Family } from './gpt2Checkpoint';
import { ConfigReader, refuseUnsupportedFeatures } from './hfConfig';
import { llamaFamily } from './llamaFamily';
import { neoxFamily } from './neoxFamily';

export const SUPPORTED_MODEL_TYPES: readonly ModelFamily[] = ['gpt2', 'llama', 'mistral', 'qwen2', 'qwen3', 'gpt_neox', 'bert', 'roberta', 'distilbert'];

const EXPECTED_LAYOUT =
  'expected a Hugging Face model folder containing config.json and model.safetensors (or model.safetensors.index.json with its shards), ' +
  `of model type ${SUPPORTED_MODEL_TYPES.join(', ')}`;

/** The family config.json names, with its config read and checked; `source` names the file in errors. */
export function checkpointFamily(json: unknown, source = 'config.json'): CheckpointFamily {
  const config = ConfigReader.from(json, source);
  const modelType = config.get('model_type');
  const supported = `supported model types are ${SUPPORTED_MODEL_TYPES.join(', ')}`;
  if (modelType === undefined) config.fail(`"model_type" is missing; ${supported}`);
  if (typeof modelType !== 'string' || !(SUPPORTED_MODEL_TYPES as readonly unknown[]).includes(modelType)) {
    config.fail(`"model_type" ${JSON.stringify(modelType)} is not supported; ${supported}`);
  }
  refuseUnsupportedFeatures(config);
  const type = modelType as ModelFamily;
  switch (type) {
    case 'gpt2':
      return gpt2Family(json, source);
    case 'llama':
    case 'mistral':
    case 'qwen2':
    case 'qwen3':
      return llamaFamily(config, type);
    case 'gpt_neox':
      return neoxFamily(config);
    case 'bert':
    case 'roberta':
    case 'distilbert':
      return bertFamily(config, type);
  }
}

/**
 * Loads a checkpoint folder of any supported family. Only the tensors the family needs are read (buffers,
 * poolers and MLM heads are skipped whatever their dtype), each straight into its own float32 buffer.
 */
export async function loadModelFolder(dir: string): Promise<TransformerWeights> {
  const { json, configPath } = await readCheckpointConfig(dir, EXPECTED_LAYOUT);
  const family = checkpointFamily(json, configPath);
  const { tensors, skipped, source } = await readCheckpointTensors(dir, family.include, EXPECTED_LAYOUT);
  try {
    return family.assemble(tensors, skipped);
  } catch (error) {
    throw error instanceof ModelFileError ? error.inFile(source) : error;
  }
}

/** A checkpoint folder's config, from its config.json alone (checked as loadModelFolder checks it). */
export async function modelFolderConfig(dir: string): Promise<TransformerConfig> {
  const { json, configPath } = await readCheckpointConfig(dir, EXPECTED_LAYOUT);
  return checkpointFamily(json, configPath).config;
}

/** The model_type of a checkpoint folder, from its config.json alone. */
export async function modelFolderFamily(dir: string): Promise<ModelFamily> {
  return (await modelFolderConfig(dir)).family;
}
