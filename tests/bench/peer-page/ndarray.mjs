import { cjs } from "./cjs.mjs";

const at = (path) => new URL(`./npm/${path}`, import.meta.url).href;
export default await cjs(at("ndarray@1.0.19/ndarray.js"), {
  "iota-array": at("iota-array@1.0.0/iota.js"),
  "is-buffer": at("is-buffer@1.1.6/index.js"),
});
