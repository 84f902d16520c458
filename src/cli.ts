import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { errorKind, UserError } from './errors';
import { multiHeadAttention } from './engine/attention';
import { DEFAULT_RANDOM_MODEL } from './engine/random';
import { parseIndexSpec, writeNpy, writeSafetensors } from './export/binary';
import { inspectionCsv, inspectionJson, inspectionSidecar, jsonHeads, json2d, MAX_TEXT_CELLS, oversizedTextExport, type ExportProvenance } from './export/format';
import { writeChunks, writeChunksToFile } from './export/write';
import { loadGpt2Folder, loadMhaStateDict, modelFolderFamily, parseSafetensors } from './model';
import { loadModel, tokenizerForFamily, type ModelSpec } from './pipeline/model';
import { startNodeKernelThreads } from './worker/kernelThreads';
import { DEFAULT_MAX_TOKENS, runPipeline, type PipelineInput } from './pipeline/run';
import { CLI_LIMIT_NAMES, formatBytes, truncationNote } from './present/limits';
import { isTokenizerName, TOKENIZER_NAMES, type TokenizerName } from './tokenize';

const USAGE = `Usage:
  attention-inspector mha --x X.safetensors --weights W.safetensors --heads H [--causal] [--out FILE]
  attention-inspector inspect (--text T | --file F | --ids 1,2,3) [--model DIR | --random [--d-model D] [--heads H] [--seed S] [--causal]]
                              (DIR: a Hugging Face folder of model type gpt2, llama, mistral, qwen2, qwen3, gpt_neox, bert, roberta or distilbert;
                               text is read with the folder's tokenizer.json, or GPT-2's own for gpt2)
                              [--tokenizer gpt2|word|char] [--max-tokens N (default ${DEFAULT_MAX_TOKENS})] [--memory-limit SIZE] [--top-k K]
                              [--format json|csv] [--out FILE]
                              [--format npy --out FOLDER | --format safetensors --out FILE] [--layers 0,2-4] [--heads 0,5 (with --model)]`;

/** A problem with the user's arguments or files: exit code 2 and one line on stderr. */
class UsageError extends UserError {}

type Chunks = Iterable<string>;

async function emit(chunks: Chunks, outFile: string | undefined): Promise<void> {
  if (!outFile) {
    try {
      await writeChunks(process.stdout, chunks);
    } catch (error) {
      // The reader went away (`| head`): it has what it wanted.
      if ((error as { code?: unknown }).code !== 'EPIPE') throw error;
    }
    return;
  }
  try {
    await writeChunksToFile(outFile, chunks);
  } catch (error) {
    // Chunks are made as they are written: only the file's own errors are the user's to fix.
    if (errorKind(error) === 'user') throw new UsageError(`cannot write ${outFile}: ${(error as Error).message}`);
    throw error;
  }
}

function readFileOrFail(path: string, what: string): Uint8Array {
  if (!existsSync(path)) throw new UsageError(`${what} ${path} does not exist`);
  if (!statSync(path).isFile()) throw new UsageError(`${what} ${path} is not a file`);
  return readFileSync(path);
}

/** node:util parseArgs, whose complaints (an unknown option, a missing value) are the user's to fix. */
function parseOptions<T extends ParseArgsConfig['options']>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function intOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

async function runMha(args: string[]): Promise<void> {
  const { values } = parseOptions(args, {
    x: { type: 'string' },
    weights: { type: 'string' },
    heads: { type: 'string' },
    causal: { type: 'boolean', default: false },
    out: { type: 'string' },
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
  if (x.shape[1] !== weights.dModel) throw new UsageError(`tensor "x" in ${values.x} has ${x.shape[1]} columns, but the weights expect d_model ${weights.dModel}`);
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

/** "512M", "4G", "1.5GB" or plain bytes → bytes. */
function sizeOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(value);
  if (!m) throw new UsageError(`--${name} must be a size such as 2G or 512M, got "${value}"`);
  const bytes = Number(m[1]) * 1024 ** ' kmgt'.indexOf(m[2].toLowerCase() || ' ');
  if (!(bytes >= 1)) throw new UsageError(`--${name} must be at least 1 byte, got "${value}"`);
  return bytes;
}

function idsOption(value: string): number[] {
  const parts = value.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new UsageError(`--ids must be comma-separated non-negative integers such as 464,3797,3332, got "${value}"`);
  return parts.map(Number);
}

const FORMATS = ['json', 'csv', 'npy', 'safetensors'] as const;
type Format = (typeof FORMATS)[number];

async function runInspect(args: string[]): Promise<void> {
  const { values } = parseOptions(args, {
    text: { type: 'string' },
    file: { type: 'string' },
    ids: { type: 'string' },
    model: { type: 'string' },
    random: { type: 'boolean', default: false },
    'd-model': { type: 'string' },
    heads: { type: 'string' },
    seed: { type: 'string' },
    causal: { type: 'boolean', default: false },
    tokenizer: { type: 'string' },
    'max-tokens': { type: 'string' },
    'memory-limit': { type: 'string' },
    out: { type: 'string' },
    format: { type: 'string', default: 'json' },
    layers: { type: 'string' },
    'top-k': { type: 'string' },
  });
  const inputs = [values.text, values.file, values.ids].filter((v) => v !== undefined).length;
  if (inputs !== 1) throw new UsageError('inspect needs exactly one of --text T, --file F or --ids 1,2,3');
  if (values.model && values.random) throw new UsageError('--model and --random cannot be used together');
  const format = values.format as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be json, csv, npy or safetensors, got "${values.format}"`);
  const binary = format === 'npy' || format === 'safetensors';
  if (binary && !values.out) throw new UsageError(`--format ${format} writes files: give --out ${format === 'npy' ? 'FOLDER' : 'FILE.safetensors'}`);
  if (format === 'npy' && existsSync(values.out!) && !statSync(values.out!).isDirectory()) {
    throw new UsageError(`--out ${values.out} is a file; --format npy writes a folder (use --format safetensors for one file)`);
  }
  if (!binary && values.layers !== undefined) throw new UsageError('--layers selects what --format npy or safetensors writes');
  if (values.model && (values['d-model'] || values.seed || values.causal)) {
    throw new UsageError('--d-model, --seed and --causal apply to --random only; a checkpoint brings its own');
  }
  // --heads is the random model's head count, or with --model and a binary format, the heads to write.
  if (values.model && values.heads !== undefined && !binary) throw new UsageError('--heads with --model selects what --format npy or safetensors writes');
  if (values.tokenizer !== undefined && !isTokenizerName(values.tokenizer)) {
    throw new UsageError(`--tokenizer must be ${TOKENIZER_NAMES.join(', ').replace(/, (\w+)$/, ' or $1')}, got "${values.tokenizer}"`);
  }
  const maxTokens = intOption(values['max-tokens'], 'max-tokens', DEFAULT_MAX_TOKENS);
  if (maxTokens < 1) throw new UsageError('--max-tokens must be at least 1');
  const memoryBudget = sizeOption(values['memory-limit'], 'memory-limit');
  const input: PipelineInput =
    values.ids !== undefined ? { ids: idsOption(values.ids) } : { text: values.text ?? new TextDecoder('utf-8').decode(readFileOrFail(values.file!, '--file')) };

  let spec: ModelSpec;
  if (values.model) {
    // Any supported family; config.json's model_type says which, and so which tokenizer it reads.
    spec = { kind: 'folder', folder: values.model, label: basename(resolve(values.model)) };
    // Refused before the weights are read: only config.json says which tokenizer the folder needs.
    if (values.tokenizer !== undefined) tokenizerForFamily(await modelFolderFamily(values.model), values.tokenizer as TokenizerName);
  } else {
    spec = {
      kind: 'random',
      config: {
        dModel: intOption(values['d-model'], 'd-model', DEFAULT_RANDOM_MODEL.dModel),
        heads: intOption(values.heads, 'heads', DEFAULT_RANDOM_MODEL.heads),
        seed: intOption(values.seed, 'seed', DEFAULT_RANDOM_MODEL.seed),
        causal: values.causal,
      },
      tokenizer: (values.tokenizer as TokenizerName | undefined) ?? 'word',
    };
  }
  startNodeKernelThreads(); // every core, as the extension's worker runs it (helpers are unref'd: exit is not held)
  const loaded = await loadModel(spec, loadGpt2Folder, 'text' in input ? { forText: { hint: 'Without it the model cannot read text; give token ids instead with --ids 1,2,3' } } : {});
  const topK = intOption(values['top-k'], 'top-k', 10);
  const { layers, heads } = loaded.info;
  // Text formats spend ~12 bytes a number: past this they take minutes and gigabytes, where npy takes 4.
  // Selections are checked before anything runs: a typo should not cost a whole inspection.
  const selection = binary
    ? { layers: parseIndexSpec(values.layers ?? 'all', layers, 'layer'), heads: parseIndexSpec(values.model ? (values.heads ?? 'all') : 'all', heads, 'head') }
    : undefined;
  const refuseHugeText = (n: number) => {
    const bytes = binary ? 0 : oversizedTextExport(layers * heads * n * n, format);
    if (!bytes) return;
    const fits = Math.floor(Math.sqrt(MAX_TEXT_CELLS / (layers * heads)));
    throw new UsageError(
      `--format ${format} would write about ${formatBytes(bytes)} (${layers} × ${heads} heads × ${n}² weights and scores); ` +
        `use --format npy or safetensors, or at most --max-tokens ${fits}`,
    );
  };
  const result = runPipeline(input, loaded, { maxTokens, memoryBudget, topK, beforeRun: refuseHugeText });
  if (result.truncation) process.stderr.write(`attention-inspector: warning: ${truncationNote(result.truncation, CLI_LIMIT_NAMES)}\n`);
  const provenance: ExportProvenance = { ...(values.file === undefined ? {} : { file: resolve(values.file) }), tool: 'attention-inspector CLI' };
  if (!binary) {
    await emit(format === 'csv' ? inspectionCsv(result) : inspectionJson(result, provenance), values.out);
    return;
  }
  const { inspection } = result;
  const source = {
    n: inspection.n,
    layers: inspection.layers,
    heads: inspection.heads,
    layer: (index: number) => {
      const a = inspection.layer(index);
      return { weights: a.attnWeights.data, scores: a.attnScores.data };
    },
  };
  const sidecar = inspectionSidecar(result, provenance);
  try {
    if (format === 'npy') await writeNpy(values.out!, source, selection!, sidecar);
    else await writeSafetensors(values.out!, source, selection!, sidecar);
  } catch (error) {
    if (errorKind(error) === 'user') throw new UsageError(`cannot write ${values.out}: ${(error as Error).message}`);
    throw error;
  }
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
    const userError = error instanceof UsageError || errorKind(error) === 'user';
    if (userError) {
      process.stderr.write(`attention-inspector: error: ${message.split('\n')[0]}\n`);
      return 2;
    }
    // Our bug: everything we know, so the report can be acted on.
    process.stderr.write(`attention-inspector: internal error (please report it): ${error instanceof Error ? (error.stack ?? message) : message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
