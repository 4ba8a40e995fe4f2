// A minimal CommonJS loader for the two CommonJS packages @imgly/background-removal
// 1.4.5 imports (lodash, ndarray): a real site's bundler does this at build time.
// `modules` maps each require()d name to its file; all are fetched first, then
// evaluated in require() order.
export async function cjs(main, modules = {}) {
  const text = {};
  const all = { ".": main, ...modules };
  await Promise.all(
    Object.entries(all).map(async ([name, url]) => {
      const r = await fetch(url);
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      text[name] = await r.text();
    }),
  );
  const loaded = {};
  const require = (name) => {
    if (!(name in text)) throw new Error(`cjs: ${name} is not listed`);
    if (!loaded[name]) {
      const module = (loaded[name] = { exports: {} });
      new Function("module", "exports", "require", text[name])(module, module.exports, require);
    }
    return loaded[name].exports;
  };
  return require(".");
}
