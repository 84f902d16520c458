import * as vscode from 'vscode';
import { AttentionHighlights } from './decorations';
import type { ResultStore } from './resultStore';

/**
 * The editor side of the views: shades the source by a hovered token's attention, and jumps to a
 * token's text. Both use the result's offsets only while its document is unchanged.
 */
export class SourceLinks implements vscode.Disposable {
  readonly highlights = new AttentionHighlights();
  private readonly disposables: vscode.Disposable[] = [this.highlights];

  constructor(private readonly store: ResultStore) {
    this.disposables.push(
      this.highlights.onDidChange((active) => void vscode.commands.executeCommand('setContext', 'attentionInspector.hasHighlights', active)),
      // Offsets go stale as soon as the document changes: drop highlights rather than shade the wrong text.
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.toString() === store.summary?.source.uri && e.contentChanges.length) this.highlights.clear();
      }),
    );
  }

  /** Shades the source by query `query`'s weights over the keys. */
  highlight(resultId: number, query: number, weights: Float32Array): void {
    const current = this.store.currentFor(resultId);
    if (!current || query >= current.tokens.length) return this.highlights.clear();
    this.highlights.show(current.source.uri, current.source.startOffset, current.tokens, query, weights, current.tokens[query].text);
  }

  clear(): void {
    this.highlights.clear();
  }

  /** Selects token `index`'s text in its editor. */
  async reveal(resultId: number, index: number): Promise<void> {
    const current = this.store.currentFor(resultId);
    if (!current) {
      if (this.store.summary?.resultId === resultId) void vscode.window.showInformationMessage('The document changed since it was inspected; inspect it again to jump to its tokens.');
      return;
    }
    const token = current.tokens[index];
    if (!token || token.special) return; // added by the tokenizer: there is no text to show
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(current.source.uri));
    const range = new vscode.Range(doc.positionAt(current.source.startOffset + token.start), doc.positionAt(current.source.startOffset + token.end));
    const editor = await vscode.window.showTextDocument(doc, { preserveFocus: false, preview: false, viewColumn: vscode.window.visibleTextEditors.find((e) => e.document === doc)?.viewColumn });
    editor.selection = new vscode.Selection(range.start, range.end);
    editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
