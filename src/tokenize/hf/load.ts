// Reading a model folder's tokenizer.json (+ tokenizer_config.json) from disk (Node only).

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../errors';
import { HfTokenizer } from './tokenizer';

function errorCode(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

async function readJson(path: string, what: string, optional: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = errorCode(error);
    if (optional && code === 'ENOENT') return undefined;
    if (code === 'ENOENT') throw new UserError(`${path} does not exist: ${what}`, { cause: error });
    if (code === 'EISDIR') throw new UserError(`${path} is a folder, not a file: ${what}`, { cause: error });
    throw new UserError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError(`${path} is not valid JSON (${(error as Error).message}); the file may be truncated or not a tokenizer file: download it again from the model's repository`, {
      cause: error,
    });
  }
}

/**
 * The tokenizer of a Hugging Face model folder: its tokenizer.json, and tokenizer_config.json when
 * present. Throws a UserError naming the file for a missing folder or file, broken JSON, or a
 * tokenizer type this implementation does not reproduce.
 */
export async function loadFolderTokenizer(folder: string): Promise<HfTokenizer> {
  try {
    if (!(await stat(folder)).isDirectory()) throw new UserError(`${folder} is a file, not a model folder: name the folder that holds tokenizer.json`);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`the model folder ${folder} cannot be read (${(error as Error).message}): check the path`, { cause: error });
  }
  const tokenizerPath = join(folder, 'tokenizer.json');
  const configPath = join(folder, 'tokenizer_config.json');
  const tokenizerJson = await readJson(
    tokenizerPath,
    "the folder needs the model's tokenizer.json (the fast-tokenizer file of its Hugging Face repository; vocab.json + merges.txt or tokenizer.model alone are not read)",
    false,
  );
  const configJson = await readJson(configPath, '', true);
  return HfTokenizer.fromJson(tokenizerJson, configJson, { tokenizer: tokenizerPath, config: configPath });
}
