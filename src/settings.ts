/** The extension's settings, checked. Pure: the host reads VS Code's configuration through `SettingsReader`. */
import { assertHeads } from './engine/attention';
import { COLOR_SCALES, type ColorScaleName } from './protocol';
import { isTokenizerName, type TokenizerName } from './tokenize/types';

export const SECTION = 'attentionInspector';

export type ModelSource = 'random' | 'folder' | 'huggingFace';

export interface Settings {
  readonly model: ModelSource;
  /** A Hugging Face model folder of any supported family (the older `gpt2Folder` setting is read when this is empty). */
  readonly modelFolder: string;
  readonly huggingFaceModel: string;
  /** Hub address or mirror; empty means HF_ENDPOINT, else https://huggingface.co. */
  readonly huggingFaceEndpoint: string;
  readonly random: { readonly dModel: number; readonly heads: number; readonly seed: number; readonly causal: boolean };
  readonly tokenizer: TokenizerName;
  readonly maxTokens: number;
  readonly liveUpdate: boolean;
  readonly liveUpdateDelay: number;
  readonly colorScale: ColorScaleName;
}

export const DEFAULTS: Settings = {
  model: 'random',
  modelFolder: '',
  huggingFaceModel: 'openai-community/gpt2',
  huggingFaceEndpoint: '',
  random: { dModel: 64, heads: 4, seed: 42, causal: true },
  tokenizer: 'word',
  maxTokens: 512,
  liveUpdate: true,
  liveUpdateDelay: 400,
  colorScale: 'cividis',
};

/** A raw settings reader; VS Code's WorkspaceConfiguration in the extension, a plain object in tests. */
export type SettingsReader = (key: string) => unknown;

/**
 * Reads and checks every setting. An invalid value (hand-edited settings.json can hold anything) falls
 * back to its default and yields a problem message naming the setting, so nothing fails silently.
 */
export function readSettings(get: SettingsReader): { settings: Settings; problems: string[] } {
  const problems: string[] = [];
  const pick = <T>(key: string, fallback: T, valid: (v: unknown) => boolean, expected: string): T => {
    const value = get(key);
    if (value === undefined || value === null) return fallback;
    if (valid(value)) return value as T;
    problems.push(`${SECTION}.${key} is ${JSON.stringify(value)}, but must be ${expected}; using ${JSON.stringify(fallback)}.`);
    return fallback;
  };
  const int = (min: number, max: number) => (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  const oneOf = (values: readonly string[]) => (v: unknown) => typeof v === 'string' && values.includes(v);
  const isString = (v: unknown) => typeof v === 'string';
  const isBool = (v: unknown) => typeof v === 'boolean';

  const dModel = pick('random.dModel', DEFAULTS.random.dModel, int(1, 1024), 'an integer from 1 to 1024');
  let heads = pick('random.heads', DEFAULTS.random.heads, int(1, 64), 'an integer from 1 to 64');
  try {
    assertHeads('settings', dModel, heads);
  } catch {
    const fallback = [DEFAULTS.random.heads, 4, 2, 1].find((h) => dModel % h === 0) ?? 1;
    problems.push(`${SECTION}.random.dModel (${dModel}) must be divisible by ${SECTION}.random.heads (${heads}); using ${fallback} heads.`);
    heads = fallback;
  }
  // "gpt2Folder" and its setting are what versions before model families wrote; they mean a folder.
  const model = pick<ModelSource | 'gpt2Folder'>('model', DEFAULTS.model, oneOf(['random', 'folder', 'huggingFace', 'gpt2Folder']), '"random", "folder" or "huggingFace"');
  const settings: Settings = {
    model: model === 'gpt2Folder' ? 'folder' : model,
    modelFolder: pick('modelFolder', '', isString, 'a folder path') || pick('gpt2Folder', DEFAULTS.modelFolder, isString, 'a folder path'),
    huggingFaceModel: pick('huggingFaceModel', DEFAULTS.huggingFaceModel, (v) => typeof v === 'string' && v.trim().length > 0, 'a Hub model id'),
    huggingFaceEndpoint: pick('huggingFaceEndpoint', DEFAULTS.huggingFaceEndpoint, (v) => typeof v === 'string' && (v.trim() === '' || /^https?:\/\/[^\s/]+/.test(v.trim())), 'an http(s) address or empty'),
    random: {
      dModel,
      heads,
      seed: pick('random.seed', DEFAULTS.random.seed, int(0, 0xffffffff), 'an integer from 0 to 4294967295'),
      causal: pick('random.causal', DEFAULTS.random.causal, isBool, 'true or false'),
    },
    tokenizer: pick('tokenizer', DEFAULTS.tokenizer, isTokenizerName, '"word", "gpt2" or "char"'),
    maxTokens: pick('maxTokens', DEFAULTS.maxTokens, int(1, 4096), 'an integer from 1 to 4096'),
    liveUpdate: pick('liveUpdate', DEFAULTS.liveUpdate, isBool, 'true or false'),
    liveUpdateDelay: pick('liveUpdateDelay', DEFAULTS.liveUpdateDelay, int(50, 10000), 'an integer from 50 to 10000'),
    colorScale: pick('colorScale', DEFAULTS.colorScale, oneOf(COLOR_SCALES), COLOR_SCALES.map((s) => `"${s}"`).join(', ')),
  };
  return { settings, problems };
}
