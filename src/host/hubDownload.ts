/** Gets a Hub model onto disk with a cancellable progress notification (the host's side of src/hub). */
import * as vscode from 'vscode';
import { errorKind } from '../errors';
import { findCachedSnapshot, hubCacheDir } from '../hub/cache';
import { downloadHubModel } from '../hub/download';
import { DEFAULT_HUB_ENDPOINT, isAbortError, validateRepoId } from '../hub/errors';
import { formatBytes } from '../present/limits';
import { ModelSetupError, UserCancelled } from './modelErrors';

function hubEndpoint(configured: string): string {
  return configured.trim() || process.env.HF_ENDPOINT || DEFAULT_HUB_ENDPOINT;
}

/**
 * The snapshot folder of a Hub model in the Hugging Face cache (shared with Python's huggingface_hub),
 * downloaded first with a cancellable progress notification if it is not there yet. A cached model
 * shows no notification and makes no request.
 */
export async function ensureHubModel(repoId: string, endpointSetting: string, log: vscode.LogOutputChannel): Promise<string> {
  let id: string;
  try {
    id = validateRepoId(repoId);
  } catch (error) {
    throw new ModelSetupError((error as Error).message, 'openSettings');
  }
  const cacheDir = hubCacheDir();
  const cached = await findCachedSnapshot(cacheDir, id, 'main');
  if (cached !== undefined) return cached;
  const endpoint = hubEndpoint(endpointSetting);
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Attention Inspector: ${id}`, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const cancel = token.onCancellationRequested(() => controller.abort());
      let reported = 0;
      let lastUpdate = 0;
      try {
        const result = await downloadHubModel(id, {
          cacheDir,
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
        log.info(`${id}: ${result.fromCache ? 'found in' : 'downloaded into'} the Hugging Face cache at ${result.folder}`);
        return result.folder;
      } catch (error) {
        if (isAbortError(error)) throw new UserCancelled();
        if (errorKind(error) !== 'user') throw error; // a bug: reported as one, with its stack
        throw new ModelSetupError(`Could not get ${id} from the Hugging Face Hub: ${(error as Error).message}`);
      } finally {
        cancel.dispose();
      }
    },
  );
}
