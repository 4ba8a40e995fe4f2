// Pixels the editor needs from files, decoded by the browser: a mask PNG as
// one byte a pixel, and the photo as RGBA for the view and the edge-aware
// brush's guide.

async function pixelsOf(blob, options, width, height) {
  const bitmap = await createImageBitmap(blob, options);
  try {
    if (width != null && (bitmap.width !== width || bitmap.height !== height)) return null;
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(bitmap, 0, 0);
    return ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  } finally {
    bitmap.close();
  }
}

// A greyscale mask PNG -> Uint8Array of width * height values, exactly as
// stored: no colour conversion (the masks carry no colour profile).
export async function decodeMask(png, width, height) {
  const image = await pixelsOf(new Blob([png], { type: "image/png" }), { colorSpaceConversion: "none", premultiplyAlpha: "none" }, width, height);
  if (!image) throw new Error("The stored mask does not belong to this image.");
  const rgba = image.data;
  const mask = new Uint8Array(width * height);
  for (let i = 0, j = 0; i < mask.length; i++, j += 4) mask[i] = rgba[j];
  return mask;
}

// The photo, upright (EXIF orientation applied, as Python's decode does), as
// ImageData; null when the browser cannot decode it or sees another size.
export async function decodePhoto(blob, width, height) {
  try {
    return await pixelsOf(blob, { premultiplyAlpha: "none", imageOrientation: "from-image" }, width, height);
  } catch {
    return null;
  }
}
