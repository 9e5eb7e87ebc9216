// Demo Bank's side of the super component: sizes the iframe to its content and shows its state,
// from the messages the component posts. Only messages from the platform's origin and from that
// iframe are read.
const frame = document.getElementById('super-component');
const platform = document.body.dataset.platformOrigin;
if (frame) {
  window.addEventListener('message', (event) => {
    if (event.origin !== platform || event.source !== frame.contentWindow) return;
    const data = event.data;
    if (data?.source !== 'platform-super-component') return;
    if (data.type === 'resize' && Number.isFinite(data.height)) frame.style.height = `${data.height}px`;
    if (data.type === 'state') document.getElementById('component-state').textContent = String(data.state);
  });
}
