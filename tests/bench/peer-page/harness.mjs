// Runs one release of @imgly/background-removal the way its README shows:
// removeBackground(file, config) on the page's main thread, PNG out. The
// first cutout starts as soon as this module runs (the page opened with a
// photo to cut out); the benchmark asks for the next ones with __peer.cut().
// Times are the page's clock: the first cutout's end is its time from
// navigation start.

export async function start({ lib, config }) {
  const q = new URLSearchParams(location.search);
  const state = (window.__peer = { cuts: [], error: null, cut: null });
  const cfg = { ...config, model: q.get("model"), publicPath: new URL(config.publicPath, location.href).href };
  const photo = async () => {
    const blob = await (await fetch(q.get("photo"))).blob();
    return new File([blob], "photo.jpg", { type: "image/jpeg" });
  };
  const cut = async () => {
    const file = await photo();
    const start = performance.now();
    const out = await removeBackground(file, cfg);
    const end = performance.now();
    if (!out || out.type !== "image/png" || !out.size) throw new Error(`no PNG came back (${out?.type})`);
    const record = { start, end, bytes: out.size };
    state.cuts.push(record);
    return record;
  };
  state.cut = async () => {
    try {
      const r = await cut();
      return { seconds: (r.end - r.start) / 1000 };
    } catch (err) {
      return { error: String(err?.stack ?? err) };
    }
  };
  let removeBackground;
  try {
    ({ removeBackground } = await import(lib));
    await cut();
  } catch (err) {
    state.error = String(err?.stack ?? err);
  }
}
