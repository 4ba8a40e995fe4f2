// What the page does before the engines see a file that needs a step first:
// a HEIC photo is decoded (libheif, in the engine worker) into a PNG, an
// image over the size limit can be scaled down to fit, and a format this
// Pillow lacks (AVIF) is decoded by the browser. The page then keeps the
// PNG in the file's place, so its thumbnail, its view and every export use
// the same pixels the engines saw.

import { isHeif } from "../../shared/formats.js";

const pngName = (name) => (name || "image").replace(/\.[^.]*$/, "") + ".png";

// {file, notes}: the file as it is, or a PNG the engines read when it is a
// HEIC photo or (with `reduce`) too large. Rejects with the worker's error.
export async function prepare(client, file, { reduce = false, onProgress } = {}) {
  const head = new Uint8Array(await file.slice(0, 64).arrayBuffer());
  if (!reduce && !isHeif(head)) return { file, notes: [] };
  const r = await client.convert(await file.arrayBuffer(), { reduce, onProgress });
  const notes = r.format === "HEIC" ? ["HEIC: decoded in this browser.", ...r.notes] : r.notes;
  return { file: new File([r.bytes], pngName(file.name), { type: "image/png" }), notes };
}

// Decode an image with the browser's own decoders (orientation applied) into
// a PNG file of the same name stem. Rejects if the browser cannot decode it.
export async function browserDecode(file) {
  const bitmap = await createImageBitmap(file);
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    canvas.getContext("2d").drawImage(bitmap, 0, 0);
    const png = await canvas.convertToBlob({ type: "image/png" });
    return new File([png], pngName(file.name), { type: "image/png" });
  } finally {
    bitmap.close();
  }
}

// The image scaled to fit `side` (never up), as a PNG, for a view or a
// thumbnail: the browser then keeps that small bitmap rather than one of the
// photo's full size.
export async function scaledBlob(file, side) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
  try {
    const w = Math.max(1, Math.round(bitmap.width * scale));
    const h = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = new OffscreenCanvas(w, h);
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bitmap, 0, 0, w, h);
    return await canvas.convertToBlob({ type: "image/png" });
  } finally {
    bitmap.close();
  }
}
