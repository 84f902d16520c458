import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { ExportProvenance } from '../export/format';
import type { InspectionSummary } from '../protocol';
import type { Inspector } from './inspector';

export type ExportFormat = 'png' | 'csv' | 'json';

const FORMATS: Record<ExportFormat, { label: string; detail: string; filter: Record<string, string[]> }> = {
  png: { label: '$(file-media) Heatmap as PNG', detail: 'The heatmap on screen, with its axis labels and legend.', filter: { 'PNG image': ['png'] } },
  csv: { label: '$(table) Weights as CSV', detail: 'One row per layer, head, query and key: weight and scaled score.', filter: { CSV: ['csv'] } },
  json: { label: '$(json) Whole result as JSON', detail: 'Tokens with offsets, every layer and head, metrics, next tokens, perplexity.', filter: { JSON: ['json'] } },
};

function defaultName(inspector: Inspector, format: ExportFormat): string {
  const summary = inspector.lastResult!;
  const stem = summary.source.fileName.replace(/\.[^.]+$/, '') || 'selection';
  return `${stem}-attention.${format}`;
}

/**
 * Export…: asks what and where (unless given), then writes it. CSV and JSON are streamed by the worker
 * straight to disk (every layer of a long GPT-2 inspection does not fit in one string); the PNG comes
 * from the webview that draws the heatmap. Returns the written file, or undefined if cancelled.
 */
export async function exportResult(inspector: Inspector, format?: ExportFormat, target?: vscode.Uri): Promise<vscode.Uri | undefined> {
  const summary = inspector.lastResult;
  if (!summary) {
    void vscode.window.showInformationMessage('Nothing to export yet: inspect a selection first.');
    return undefined;
  }
  if (!format) {
    const pick = await vscode.window.showQuickPick(
      (Object.keys(FORMATS) as ExportFormat[]).map((f) => ({ label: FORMATS[f].label, detail: FORMATS[f].detail, format: f })),
      { title: 'Attention Inspector: Export', placeHolder: 'What should be exported?' },
    );
    if (!pick) return undefined;
    format = pick.format;
  }
  if (!target) {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(tmpdir());
    target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.joinPath(folder, defaultName(inspector, format)), filters: FORMATS[format].filter, title: 'Export attention' });
    if (!target) return undefined;
  }
  const where = target;
  try {
    const chosen = format;
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Attention Inspector: exporting ${chosen.toUpperCase()}…` }, () =>
      writeExport(inspector, summary, chosen, where),
    );
  } catch (error) {
    void vscode.window.showErrorMessage(`Export failed: ${(error as Error).message}`);
    return undefined;
  }
  void vscode.window.showInformationMessage(`Exported ${format.toUpperCase()} to ${target.fsPath || target.toString()}`, 'Open').then((a) => {
    if (a === 'Open') void vscode.commands.executeCommand('vscode.open', target);
  });
  return target;
}

/** Where the exported numbers came from, written into the JSON (and the npy/safetensors sidecar) by the worker. */
function provenance(summary: InspectionSummary): ExportProvenance {
  const uri = vscode.Uri.parse(summary.source.uri);
  const version = (vscode.extensions.getExtension('attention-inspector.attention-inspector')?.packageJSON as { version?: string } | undefined)?.version ?? '';
  return {
    file: uri.scheme === 'file' ? uri.fsPath : summary.source.uri,
    startOffset: summary.source.startOffset,
    startLine: summary.source.startLine,
    tool: `attention-inspector ${version} (VS Code ${vscode.version})`.replace('  ', ' '),
  };
}

async function writeExport(inspector: Inspector, summary: InspectionSummary, format: ExportFormat, target: vscode.Uri): Promise<void> {
  const { resultId } = summary;
  if (format === 'png') {
    // The panel draws the heatmap larger than the side view.
    const drawer = inspector.views.find((v) => v.kind === 'panel') ?? inspector.views[0];
    if (!drawer) throw new Error('open the panel or the side view first: the PNG is drawn by the heatmap view');
    await vscode.workspace.fs.writeFile(target, await inspector.requestPng(drawer));
  } else if (target.scheme === 'file') {
    await inspector.engine.exportTo(resultId, format, target.fsPath, provenance(summary));
  } else {
    // Remote or virtual file systems: the worker writes locally, then VS Code copies the bytes over.
    const dir = await mkdtemp(join(tmpdir(), 'attention-export-'));
    try {
      const local = join(dir, `export.${format}`);
      await inspector.engine.exportTo(resultId, format, local, provenance(summary));
      await vscode.workspace.fs.writeFile(target, await readFile(local));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
