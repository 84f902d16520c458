// Preview only: stands in for VS Code. Applies theme variables, provides acquireVsCodeApi and answers the
// webview's requests from window.__fixture (built from the real engine by shoot.mjs).
(function () {
  const params = new URLSearchParams(location.search);
  const f32 = (b64) => {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Float32Array(bytes.buffer);
  };
  const revive = (v) => {
    if (v && typeof v === 'object') {
      if (typeof v.$f32 === 'string') return f32(v.$f32);
      for (const k of Object.keys(v)) v[k] = revive(v[k]);
    }
    return v;
  };
  const fixture = window.__fixture ? revive(window.__fixture) : null;
  const theme = (window.__themes || {})[params.get('theme') || 'dark'] || {};
  for (const [k, v] of Object.entries(theme)) document.documentElement.style.setProperty(`--vscode-${k}`, v);

  const send = (m) => window.dispatchEvent(new MessageEvent('message', { data: m }));
  const host = { send, fixture, latency: 0, posted: [] };
  window.__host = host;
  let state = null;
  window.acquireVsCodeApi = () => ({
    postMessage(m) {
      host.posted.push(m);
      const later = (msg) => setTimeout(() => send(msg), host.latency);
      switch (m.type) {
        case 'ready':
          later({ type: 'settings', settings: { colorScale: params.get('scale') || 'cividis', compact: params.get('view') === 'side' } });
          if (fixture && params.get('mode') !== 'empty') later({ type: 'result', summary: fixture.summary, layer: fixture.layers[0] });
          else later({ type: 'empty', message: 'There is no text selected in the active editor.' });
          break;
        case 'request': {
          // Each request gets exactly one reply, as the host's request channel answers.
          const { id, method, params: p } = m;
          const reply = (body) => later({ type: 'reply', id, method, ...body });
          if (method === 'layer') {
            const l = fixture && fixture.layers.find((x) => x.layer === p.layer);
            reply(l ? { value: l } : { error: { kind: 'failed', message: `No layer ${p.layer} in this preview.` } });
          } else if (method === 'trace') {
            const t = fixture && fixture.traces[`${p.layer}:${p.head}`];
            reply(t ? { value: t } : { error: { kind: 'failed', message: `No trace for layer ${p.layer}, head ${p.head} in this preview.` } });
          }
          break;
        }
        case 'reply':
          // The answer to the preview's own png request: { value: dataUrl } or { error }.
          host.png = m.value !== undefined ? { dataUrl: m.value } : { error: m.error && m.error.message };
          break;
        default:
          break;
      }
    },
    getState: () => state,
    setState: (s) => {
      state = s;
    },
  });
})();
