/** Model-file loading. Everything here is pure TypeScript except readSafetensorsFile, readJsonFile, loadGpt2Folder and loadModelFolder (Node fs). */
export { ModelFileError, type ModelFileErrorContext } from './errors';
export {
  SUPPORTED_DTYPES,
  type SupportedDtype,
  bfloat16BitsToNumber,
  decodeToFloat32,
  float16BitsToNumber,
} from './dtypes';
export {
  MAX_HEADER_BYTES,
  decodeEntry,
  parseSafetensors,
  parseSafetensorsHeader,
  readHeaderLength,
  readSafetensors,
  serializeSafetensors,
  type ParseSafetensorsOptions,
  type SafetensorsContents,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type SafetensorsInput,
  type SkippedSafetensorsEntry,
} from './safetensors';
export { readJsonFile, readSafetensorsFile, type ReadSafetensorsFileOptions, type SafetensorsFileContents } from './safetensorsFile';
export { loadMhaStateDict, type LoadMhaOptions } from './mhaStateDict';
export {
  gpt2Family,
  gpt2TensorShapes,
  gpt2WeightsFromTensors,
  isGpt2TensorName,
  loadGpt2Folder,
  parseGpt2Config,
  type Gpt2FromTensorsOptions,
} from './gpt2Checkpoint';
export { checkpointFamily, loadModelFolder, modelFolderFamily, SUPPORTED_MODEL_TYPES } from './modelFolder';
export type { CheckpointFamily } from './family';
