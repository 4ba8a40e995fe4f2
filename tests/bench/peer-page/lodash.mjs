import { cjs } from "./cjs.mjs";

const _ = await cjs(new URL("./npm/lodash@4.17.23/lodash.min.js", import.meta.url).href);
export const memoize = _.memoize;
export default _;
