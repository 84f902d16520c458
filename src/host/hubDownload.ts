/** Gets a Hub model onto disk with a cancellable progress notification (the host's side of src/model/hub). */
import * as vscode from 'vscode';
import { downloadHubModel, isAbortError, validateRepoId, DEFAULT_HUB_ENDPOINT } from '../model/hub';
import { formatBytes } from '../present/limits';
import { ModelSetupError, UserCancelled } from './modelErrors';

function hubEndpoint(configured: string): string {
  return configured.trim() || process.env.HF_ENDPOINT || DEFAULT_HUB_ENDPOINT;
}

/**
 * Downloads a Hub model into the extension's global storage with a cancellable progress
 * notification; a model downloaded before is read from the cache without any request.
 */
export async function ensureHubModel(repoId: string, endpointSetting: string, storage: vscode.Uri, log: vscode.LogOutputChannel): Promise<string> {
  let id: string;
  try {
    id = validateRepoId(repoId);
  } catch (error) {
    throw new ModelSetupError((error as Error).message, 'openSettings');
  }
  const cacheRoot = vscode.Uri.joinPath(storage, 'hub').fsPath;
  const endpoint = hubEndpoint(endpointSetting);
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Attention Inspector: ${id}`, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const cancel = token.onCancellationRequested(() => controller.abort());
      let reported = 0;
      let lastUpdate = 0;
      try {
        const result = await downloadHubModel(id, cacheRoot, {
          endpoint,
          token: process.env.HF_TOKEN,
          signal: controller.signal,
          onProgress: (p) => {
            const now = Date.now();
            if (now - lastUpdate < 200 && p.receivedBytes !== p.totalBytes) return;
            lastUpdate = now;
            const fraction = p.overallTotal ? p.overallReceived / p.overallTotal : undefined;
            const increment = fraction === undefined ? undefined : Math.max(0, fraction * 100 - reported);
            if (increment !== undefined) reported += increment;
            const total = p.overallTotal ? ` of ${formatBytes(p.overallTotal)}` : '';
            progress.report({ message: `downloading ${p.file}: ${formatBytes(p.overallReceived)}${total}`, increment });
          },
        });
        log.info(`${id}: ${result.fromCache ? 'read from the cache' : 'downloaded'} at ${result.folder}`);
        return result.folder;
      } catch (error) {
        if (isAbortError(error)) throw new UserCancelled();
        throw new ModelSetupError(`Could not get ${id} from the Hugging Face Hub: ${(error as Error).message}`);
      } finally {
        cancel.dispose();
      }
    },
  );
}

