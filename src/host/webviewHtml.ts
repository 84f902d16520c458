import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export type WebviewKind = 'panel' | 'side';

/** Scripts on, and nothing readable but the built assets in dist/. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')] };
}

/**
 * The webview page: a strict CSP (no inline or remote code; the one script carries a fresh nonce),
 * and the bundle decides what to draw from `data-view`.
 */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, kind: WebviewKind): string {
  const nonce = randomBytes(18).toString('base64');
  const asset = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', name)).toString();
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} blob: data:`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link href="${asset('codicon.css')}" rel="stylesheet" id="vscode-codicon-stylesheet">
<link href="${asset('webview.css')}" rel="stylesheet">
<title>Attention Inspector</title>
</head>
<body data-view="${kind}">
<div id="app" role="main"></div>
<script nonce="${nonce}" src="${asset('webview.js')}"></script>
</body>
</html>`;
}
