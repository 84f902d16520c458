/** The model settings: what the worker runs for them, and “Choose Model…”, which writes them. */
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as vscode from 'vscode';
import { errorKind } from '../errors';
import { listCachedModels, repoOfSnapshot, type CachedModel } from '../hub/cache';
import { validateRepoId } from '../hub/errors';
import { ModelFileError } from '../model/errors';
import { describeModelFolder, type ModelFolderSummary } from '../model/folderSummary';
import { formatBytes } from '../present/limits';
import { modelShapeText } from '../present/modelSummary';
import type { ModelSpec } from '../worker/protocol';
import { ensureHubModel } from './hubDownload';
import { ModelSetupError, UserCancelled } from './modelErrors';
import { readWorkspaceSettings, SECTION, type Settings } from './settings';

const CHOOSE = 'Choose a model with “Attention Inspector: Choose Model…”.';

/** The cheap checks, on every inspection (async: a network drive must not stall the host); the loader finds the rest. */
async function checkFolderSetting(folder: string): Promise<string | undefined> {
  if (!folder) return 'No model folder is set.';
  if (!(await stat(folder).catch(() => undefined))?.isDirectory()) return `The model folder ${folder} does not exist.`;
  if (!(await stat(join(folder, 'config.json')).catch(() => undefined))?.isFile()) return `${folder} has no config.json, so it is not a Hugging Face model folder.`;
  return undefined;
}

/** Turns the model settings into what the worker runs; may download a Hub model first. */
export async function resolveModel(settings: Settings, log: vscode.LogOutputChannel): Promise<ModelSpec> {
  switch (settings.model) {
    case 'random':
      return { kind: 'random', config: { ...settings.random } };
    case 'folder': {
      const problem = await checkFolderSetting(settings.modelFolder);
      if (problem) throw new ModelSetupError(`${problem} ${CHOOSE}`);
      // A snapshot in the Hugging Face cache is named by its repo, not by its commit hash.
      const hubId = repoOfSnapshot(settings.modelFolder);
      return { kind: 'folder', folder: settings.modelFolder, label: hubId ?? (basename(settings.modelFolder) || settings.modelFolder), ...(hubId ? { hubId } : {}) };
    }
    case 'huggingFace': {
      const folder = await ensureHubModel(settings.huggingFaceModel, settings.huggingFaceEndpoint, log);
      return { kind: 'folder', folder, label: settings.huggingFaceModel, hubId: settings.huggingFaceModel };
    }
  }
}

/**
 * What the extension can run from a folder, or why not in words that say what to change. The extension
 * reads selections, so a folder needs a tokenizer (the CLI can still run its ids).
 */
export async function checkModelFolder(folder: string): Promise<{ summary: ModelFolderSummary } | { problem: string; reason: string }> {
  try {
    const summary = await describeModelFolder(folder);
    if (summary.tokenizer === null) {
      const reason = "no tokenizer.json, so selected text cannot become this model's token ids";
      return { reason, problem: `${folder} has ${reason}. Copy tokenizer.json (and tokenizer_config.json) from the model's Hugging Face repository into the folder.` };
    }
    return { summary };
  } catch (error) {
    if (errorKind(error) !== 'user') throw error;
    // `reason` leaves out the folder's path, for lists where the path is known and long (the cache's snapshots).
    const reason = error instanceof ModelFileError ? (error.filePath && error.filePath !== folder ? `${basename(error.filePath)}: ${error.detail}` : error.detail) : (error as Error).message;
    return { reason, problem: (error as Error).message };
  }
}

interface ModelPick extends vscode.QuickPickItem {
  readonly action: 'random' | 'folder' | 'hub' | 'recentFolder' | 'recentHub' | 'cached' | 'none';
  readonly value?: string;
}

const RECENT_KEY = 'attentionInspector.recentModels';
type Recent = { kind: 'folder' | 'hub'; value: string };

/** The cache's models as pick items, each described (or its problem named) from its files. */
async function cachedItems(current: string | undefined): Promise<ModelPick[]> {
  let models: CachedModel[];
  try {
    models = await listCachedModels();
  } catch {
    return []; // an unreadable cache is not worth an error while choosing
  }
  if (!models.length) return [];
  const described = await Promise.all(
    models.map(async (m): Promise<ModelPick> => {
      const size = formatBytes(m.sizeOnDisk);
      const checked = m.usable ? await checkModelFolder(m.folder) : { reason: 'no config.json and safetensors weights in its snapshot' };
      if ('reason' in checked) {
        return { label: `$(circle-slash) ${m.repoId}`, description: size, detail: `Cannot be used: ${checked.reason}`, action: 'none' };
      }
      return {
        label: `$(database) ${m.repoId}`,
        description: [size, current === m.folder || current === m.repoId ? 'current' : undefined].filter(Boolean).join(' · '),
        detail: modelShapeText(checked.summary),
        action: 'cached',
        // The exact snapshot on disk: choosing it never goes to the network, whatever refs/main says.
        value: m.folder,
      };
    }),
  );
  // Usable ones first; the cache's own order (most recently used) within each group.
  described.sort((a, b) => Number(a.action === 'none') - Number(b.action === 'none'));
  return [{ label: 'In your Hugging Face cache', kind: vscode.QuickPickItemKind.Separator, action: 'none' }, ...described];
}

/** Shows the quick pick; the cached models join it once they are read, so it opens at once. */
function pickModel(base: ModelPick[], current: string | undefined): Promise<ModelPick | undefined> {
  const quickPick = vscode.window.createQuickPick<ModelPick>();
  quickPick.title = 'Attention Inspector: Choose Model';
  quickPick.placeholder = 'Which model should Inspect Selection run?';
  quickPick.matchOnDescription = true;
  quickPick.matchOnDetail = true;
  quickPick.items = base;
  quickPick.busy = true;
  let done = false;
  void cachedItems(current).then((items) => {
    if (done) return;
    quickPick.busy = false;
    if (items.length) quickPick.items = [...base, ...items];
  });
  return new Promise((resolve) => {
    quickPick.onDidAccept(() => {
      const [pick] = quickPick.selectedItems;
      if (!pick || pick.action === 'none') return; // a model that cannot be used stays listed with its reason
      done = true;
      resolve(pick);
      quickPick.hide();
    });
    quickPick.onDidHide(() => {
      done = true;
      resolve(undefined);
      quickPick.dispose();
    });
    quickPick.show();
  });
}

function announce(name: string, summary: ModelFolderSummary): void {
  void vscode.window.showInformationMessage(`Attention Inspector will use ${name}: ${modelShapeText(summary)}.`);
}

/** “Choose Model…”: random, a model folder through a dialog, a Hub id, a model from the Hugging Face cache, or a recent one. */
export async function chooseModel(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): Promise<boolean> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const { settings } = readWorkspaceSettings();
  const current = settings.model === 'huggingFace' ? settings.huggingFaceModel : settings.model === 'folder' ? settings.modelFolder : undefined;
  const recent = context.globalState.get<Recent[]>(RECENT_KEY, []);
  const items: ModelPick[] = [
    { label: '$(symbol-numeric) Random model', description: settings.model === 'random' ? 'current' : undefined, detail: 'One attention layer with seeded random weights; no download, exact and reproducible.', action: 'random' },
    {
      label: '$(folder-opened) Model folder…',
      description: settings.model === 'folder' ? `current: ${repoOfSnapshot(settings.modelFolder) ?? basename(settings.modelFolder)}` : undefined,
      detail: 'A Hugging Face folder on disk: GPT-2, Llama, Mistral, Qwen2/3, GPT-NeoX (Pythia), BERT, RoBERTa or DistilBERT.',
      action: 'folder',
    },
    { label: '$(cloud-download) Hugging Face Hub…', detail: 'A model id such as HuggingFaceTB/SmolLM2-135M; downloaded once into the Hugging Face cache.', action: 'hub' },
  ];
  if (recent.length) {
    items.push({ label: 'Recent', kind: vscode.QuickPickItemKind.Separator, action: 'none' });
    for (const r of recent) items.push({ label: r.kind === 'folder' ? `$(folder) ${r.value}` : `$(cloud) ${r.value}`, action: r.kind === 'folder' ? 'recentFolder' : 'recentHub', value: r.value });
  }
  const pick = await pickModel(items, current);
  if (!pick) return false;
  const target = vscode.ConfigurationTarget.Global;
  const remember = async (entry: Recent) => {
    const next = [entry, ...recent.filter((r) => !(r.kind === entry.kind && r.value === entry.value))].slice(0, 6);
    await context.globalState.update(RECENT_KEY, next);
  };
  if (pick.action === 'random') {
    await config.update('model', 'random', target);
    return true;
  }
  if (pick.action === 'cached' && pick.value) {
    const checked = await checkModelFolder(pick.value);
    if ('problem' in checked) {
      void vscode.window.showErrorMessage(`Attention Inspector cannot use this model. ${checked.problem}`);
      return false;
    }
    await config.update('modelFolder', pick.value, target);
    await config.update('model', 'folder', target);
    announce(repoOfSnapshot(pick.value) ?? basename(pick.value), checked.summary);
    return true;
  }
  if (pick.action === 'folder' || pick.action === 'recentFolder') {
    let folder = pick.value;
    for (;;) {
      if (!folder) {
        const chosen = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Use this model folder', title: 'Hugging Face model folder' });
        if (!chosen?.[0]) return false;
        folder = chosen[0].fsPath;
      }
      const checked = await checkModelFolder(folder);
      if ('summary' in checked) {
        await config.update('modelFolder', folder, target);
        await config.update('model', 'folder', target);
        await remember({ kind: 'folder', value: folder });
        announce(basename(folder), checked.summary);
        return true;
      }
      const again = await vscode.window.showErrorMessage(`Attention Inspector cannot use this folder. ${checked.problem}`, 'Choose Another Folder…');
      if (!again) return false;
      folder = undefined;
    }
  }
  let id = pick.value;
  if (!id) {
    id = await vscode.window.showInputBox({
      title: 'Hugging Face Hub model',
      prompt: 'A model id, e.g. HuggingFaceTB/SmolLM2-135M, Qwen/Qwen2.5-0.5B, EleutherAI/pythia-70m, google-bert/bert-base-uncased',
      value: settings.huggingFaceModel || 'openai-community/gpt2',
      validateInput: (value) => {
        try {
          validateRepoId(value.trim());
          return undefined;
        } catch (error) {
          return (error as Error).message;
        }
      },
    });
    if (!id) return false;
    id = id.trim();
  }
  // Download now, while the user is waiting for it, and check the files before switching to them.
  let folder: string;
  try {
    folder = await ensureHubModel(id, settings.huggingFaceEndpoint, log);
  } catch (error) {
    if (!(error instanceof UserCancelled)) void vscode.window.showErrorMessage((error as Error).message);
    return false;
  }
  const checked = await checkModelFolder(folder);
  if ('problem' in checked) {
    void vscode.window.showErrorMessage(`Attention Inspector cannot use ${id}. ${checked.problem}`);
    return false;
  }
  await config.update('huggingFaceModel', id, target);
  await config.update('model', 'huggingFace', target);
  await remember({ kind: 'hub', value: id });
  announce(id, checked.summary);
  return true;
}

