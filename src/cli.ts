import { existsSync, readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { multiHeadAttention } from './engine/attention';
import { inspectTokens, type InspectModel } from './engine/inspect';
import { DEFAULT_RANDOM_MODEL, validateRandomConfig, type RandomModelConfig } from './engine/random';
import { inspectionCsv, inspectionJson, inspectionSource, jsonHeads, json2d } from './export/format';
import { writeChunks, writeChunksToFile } from './export/write';
import { loadGpt2Folder, loadMhaStateDict, parseSafetensors } from './model';
import { createTokenizer, isTokenizerName, TOKENIZER_NAMES } from './tokenize';
import { isUserError } from './userError';

const USAGE = `Usage:
  attention-inspector mha --x X.safetensors --weights W.safetensors --heads H [--causal] [--out FILE]
  attention-inspector inspect (--text T | --file F) [--model DIR | --random [--d-model D] [--heads H] [--seed S] [--causal]]
                              [--tokenizer gpt2|word|char] [--out FILE] [--format json|csv]`;

/** A problem with the user's arguments or files: exit code 2 and one line on stderr. */
class UsageError extends Error {}

type Chunks = Iterable<string>;

async function emit(chunks: Chunks, outFile: string | undefined): Promise<void> {
  if (!outFile) {
    await writeChunks(process.stdout, chunks);
    return;
  }
  try {
    await writeChunksToFile(outFile, chunks);
  } catch (error) {
    throw new UsageError(`cannot write ${outFile}: ${(error as Error).message}`);
  }
}

function readFileOrFail(path: string, what: string): Uint8Array {
  if (!existsSync(path)) throw new UsageError(`${what} ${path} does not exist`);
  if (!statSync(path).isFile()) throw new UsageError(`${what} ${path} is not a file`);
  return readFileSync(path);
}

function intOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

async function runMha(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      x: { type: 'string' },
      weights: { type: 'string' },
      heads: { type: 'string' },
      causal: { type: 'boolean', default: false },
      out: { type: 'string' },
    },
    strict: true,
  });
  if (!values.x) throw new UsageError('mha needs --x X.safetensors');
  if (!values.weights) throw new UsageError('mha needs --weights W.safetensors');
  if (values.heads === undefined) throw new UsageError('mha needs --heads H');
  const heads = intOption(values.heads, 'heads', 0);
  const xTensors = parseSafetensors(readFileOrFail(values.x, '--x'));
  const x = xTensors.get('x');
  if (!x) throw new UsageError(`${values.x} has no tensor named "x" (found: ${[...xTensors.keys()].join(', ') || 'none'})`);
  if (x.shape.length !== 2) throw new UsageError(`tensor "x" in ${values.x} must be [n, d], got [${x.shape.join(', ')}]`);
  const weights = loadMhaStateDict(parseSafetensors(readFileOrFail(values.weights, '--weights')), heads);
  const result = multiHeadAttention(x, weights, { causal: values.causal });
  await emit(
    (function* () {
      yield `{"heads":${result.heads},"headDim":${result.headDim},"scores":`;
      yield* jsonHeads(result.attnScores);
      yield ',"weights":';
      yield* jsonHeads(result.attnWeights);
      yield ',"output":';
      yield* json2d(result.output);
      yield '}\n';
    })(),
    values.out,
  );
}

async function runInspect(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      text: { type: 'string' },
      file: { type: 'string' },
      model: { type: 'string' },
      random: { type: 'boolean', default: false },
      'd-model': { type: 'string' },
      heads: { type: 'string' },
      seed: { type: 'string' },
      causal: { type: 'boolean', default: false },
      tokenizer: { type: 'string' },
      out: { type: 'string' },
      format: { type: 'string', default: 'json' },
      'top-k': { type: 'string' },
    },
    strict: true,
  });
  if ((values.text === undefined) === (values.file === undefined)) throw new UsageError('inspect needs exactly one of --text T or --file F');
  if (values.model && values.random) throw new UsageError('--model and --random cannot be used together');
  if (values.format !== 'json' && values.format !== 'csv') throw new UsageError(`--format must be json or csv, got "${values.format}"`);
  if (values.model && (values['d-model'] || values.heads || values.seed || values.causal)) {
    throw new UsageError('--d-model, --heads, --seed and --causal apply to --random only; a checkpoint brings its own');
  }
  const text = values.text ?? new TextDecoder('utf-8').decode(readFileOrFail(values.file!, '--file'));
  const tokenizerName = values.tokenizer ?? (values.model ? 'gpt2' : 'word');
  if (!isTokenizerName(tokenizerName)) throw new UsageError(`--tokenizer must be ${TOKENIZER_NAMES.join(', ').replace(/, (\w+)$/, ' or $1')}, got "${tokenizerName}"`);
  if (values.model && tokenizerName !== 'gpt2') throw new UsageError('a GPT-2 checkpoint needs --tokenizer gpt2 (its vocabulary ids)');
  const tokenizer = createTokenizer(tokenizerName);
  const tokens = tokenizer.encode(text);
  if (tokens.length === 0) throw new UsageError('the text is empty: there are no tokens to inspect');

  let model: InspectModel;
  let modelInfo: Record<string, unknown>;
  if (values.model) {
    const weights = await loadGpt2Folder(values.model);
    model = { kind: 'gpt2', weights };
    const c = weights.config;
    modelInfo = { kind: 'gpt2', path: values.model, layers: c.nLayer, heads: c.nHead, dModel: c.nEmbd, nPositions: c.nPositions, vocabSize: c.vocabSize };
  } else {
    const config: RandomModelConfig = {
      dModel: intOption(values['d-model'], 'd-model', DEFAULT_RANDOM_MODEL.dModel),
      heads: intOption(values.heads, 'heads', DEFAULT_RANDOM_MODEL.heads),
      seed: intOption(values.seed, 'seed', DEFAULT_RANDOM_MODEL.seed),
      causal: values.causal,
    };
    validateRandomConfig(config);
    model = { kind: 'random', config };
    modelInfo = { kind: 'random', ...config, tokenizer: tokenizerName };
  }
  const topK = intOption(values['top-k'], 'top-k', 10);
  const inspection = inspectTokens(
    tokens.map((t) => t.id),
    model,
    { topK },
  );
  const source = inspectionSource(inspection);
  const chunks = values.format === 'csv' ? inspectionCsv(source, tokens) : inspectionJson(source, { tokens, decodeId: tokenizer.decodeId?.bind(tokenizer) }, modelInfo);
  await emit(chunks, values.out);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (command === undefined) throw new UsageError('missing command: mha or inspect (see --help)');
    if (command === 'mha') await runMha(rest);
    else if (command === 'inspect') await runInspect(rest);
    else throw new UsageError(`unknown command "${command}" (expected mha or inspect; see --help)`);
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Argument, file and shape problems are the user's to fix (exit 2); anything else is our bug (exit 1).
    const userError = error instanceof UsageError || isUserError(error);
    process.stderr.write(`attention-inspector: error: ${message.split('\n')[0]}\n`);
    return userError ? 2 : 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
