import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { ModelSetupError, UserCancelled } from './modelErrors';
import { validateRepoId } from '../model/hub';
import { ensureHubModel } from './hubDownload';
import type { ModelSpec } from '../worker/protocol';
import { readWorkspaceSettings, SECTION, type Settings } from './settings';

/** Checks that a folder looks like a GPT-2 checkpoint before anything heavy is read. */
export function checkGpt2Folder(folder: string): string | undefined {
  if (!folder) return 'No GPT-2 folder is set.';
  if (!existsSync(folder) || !statSync(folder).isDirectory()) return `The GPT-2 folder ${folder} does not exist.`;
  if (!existsSync(join(folder, 'config.json'))) return `${folder} has no config.json; a GPT-2 folder holds config.json and model.safetensors.`;
  if (!existsSync(join(folder, 'model.safetensors')) && !existsSync(join(folder, 'model.safetensors.index.json'))) {
    return `${folder} has no model.safetensors; a GPT-2 folder holds config.json and model.safetensors.`;
  }
  return undefined;
}

/** Turns the model settings into what the worker runs; may download a Hub model first. */
export async function resolveModel(settings: Settings, storage: vscode.Uri, log: vscode.LogOutputChannel): Promise<ModelSpec> {
  switch (settings.model) {
    case 'random':
      return { kind: 'random', config: { ...settings.random } };
    case 'gpt2Folder': {
      const problem = checkGpt2Folder(settings.gpt2Folder);
      if (problem) throw new ModelSetupError(`${problem} Choose a model with “Attention Inspector: Choose Model…”.`);
      return { kind: 'gpt2', folder: settings.gpt2Folder, label: settings.gpt2Folder.split(/[\\/]/).filter(Boolean).pop() ?? 'GPT-2' };
    }
    case 'huggingFace': {
      const folder = await ensureHubModel(settings.huggingFaceModel, settings.huggingFaceEndpoint, storage, log);
      return { kind: 'gpt2', folder, label: settings.huggingFaceModel };
    }
  }
}

interface ModelPick extends vscode.QuickPickItem {
  readonly action: 'random' | 'folder' | 'hub' | 'recentFolder' | 'recentHub';
  readonly value?: string;
}

const RECENT_KEY = 'attentionInspector.recentModels';

/** “Choose Model…”: random, a GPT-2 folder through a dialog, a Hub id, or a recent one. Writes the settings. */
export async function chooseModel(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): Promise<boolean> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const current = config.get<string>('model');
  const recent = context.globalState.get<{ kind: 'folder' | 'hub'; value: string }[]>(RECENT_KEY, []);
  const items: ModelPick[] = [
    { label: '$(symbol-numeric) Random model', description: current === 'random' ? 'current' : undefined, detail: 'One attention layer with seeded random weights; no download, exact and reproducible.', action: 'random' },
    { label: '$(folder-opened) GPT-2 folder…', detail: 'A Hugging Face GPT-2 checkpoint on disk (config.json + model.safetensors).', action: 'folder' },
    { label: '$(cloud-download) Hugging Face Hub…', detail: 'Download a GPT-2 checkpoint by id, e.g. openai-community/gpt2 (cached after the first time).', action: 'hub' },
  ];
  if (recent.length) {
    items.push({ label: 'Recent', kind: vscode.QuickPickItemKind.Separator, action: 'random' });
    for (const r of recent) {
      items.push({ label: r.kind === 'folder' ? `$(folder) ${r.value}` : `$(cloud) ${r.value}`, action: r.kind === 'folder' ? 'recentFolder' : 'recentHub', value: r.value });
    }
  }
  const pick = await vscode.window.showQuickPick(items, { title: 'Attention Inspector: Choose Model', placeHolder: 'Which model should Inspect Selection run?' });
  if (!pick) return false;
  const target = vscode.ConfigurationTarget.Global;
  const remember = async (kind: 'folder' | 'hub', value: string) => {
    const next = [{ kind, value }, ...recent.filter((r) => !(r.kind === kind && r.value === value))].slice(0, 6);
    await context.globalState.update(RECENT_KEY, next);
  };
  if (pick.action === 'random') {
    await config.update('model', 'random', target);
    return true;
  }
  if (pick.action === 'folder' || pick.action === 'recentFolder') {
    let folder = pick.value;
    if (!folder) {
      const chosen = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Use this GPT-2 folder', title: 'GPT-2 checkpoint folder' });
      if (!chosen?.[0]) return false;
      folder = chosen[0].fsPath;
    }
    const problem = checkGpt2Folder(folder);
    if (problem) {
      void vscode.window.showErrorMessage(problem);
      return false;
    }
    await config.update('gpt2Folder', folder, target);
    await config.update('model', 'gpt2Folder', target);
    await remember('folder', folder);
    return true;
  }
  let id = pick.value;
  if (!id) {
    id = await vscode.window.showInputBox({
      title: 'Hugging Face Hub model',
      prompt: 'A GPT-2 checkpoint id (downloaded once into the extension storage)',
      value: config.get<string>('huggingFaceModel') || 'openai-community/gpt2',
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
  await config.update('huggingFaceModel', id, target);
  await config.update('model', 'huggingFace', target);
  await remember('hub', id);
  // Download now, while the user is waiting for it, rather than at the next inspection.
  try {
    await ensureHubModel(id, readWorkspaceSettings().settings.huggingFaceEndpoint, context.globalStorageUri, log);
  } catch (error) {
    if (!(error instanceof UserCancelled)) void vscode.window.showErrorMessage((error as Error).message);
  }
  return true;
}
