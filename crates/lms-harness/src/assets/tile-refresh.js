(() => {
  const initial = document.currentScript.dataset.tile;
  const poll = async () => {
    if (document.visibilityState !== 'visible') return;
    try {
      const r = await fetch('/settings/connectors/slack/tile', { cache: 'no-store' });
      if (r.ok && (await r.text()) !== initial) location.reload();
    } catch (_) {}
  };
  setInterval(poll, 2000);
  document.addEventListener('visibilitychange', poll);
})();
