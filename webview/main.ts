// Entry point of the webview bundle (dist/webview.js): wires the VS Code transport, the controller and the page.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import { App } from './app';
import { renderHeatmapPng } from './exportPng';
import { Controller } from './controller';
import { createVsCodeTransport } from './transport';

function main(): void {
  const root = document.getElementById('app');
  if (!root) return;
  const compact = document.body.dataset.view === 'side';
  const controller = new Controller(createVsCodeTransport(), { compact });
  const app = new App(root, controller, { compact });
  controller.setPngRenderer((state) => renderHeatmapPng(state, app.theme));
  controller.start();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main, { once: true });
else main();
