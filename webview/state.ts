// The webview's state used to live in this one file; it is now split by concern: viewState.ts (the saved
// view state), store.ts (AppState and its listeners), dataCache.ts (layer and trace caches), hostData.ts
// (asking the host for them), selectors.ts (derived data) and controller.ts (messages and user actions).
// These re-exports serve the modules that still import from here (traceModel.ts, traceView.ts and
// test/unit/webview/explain.test.ts); new code imports from the modules above.
export { Controller } from './controller';
export { currentLayerData, currentMatrix, currentTrace, effectiveLayer } from './selectors';
export type { AppState } from './store';
export type { Cell } from './viewState';
