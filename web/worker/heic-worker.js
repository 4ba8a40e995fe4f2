// A short-lived worker that decodes one HEIC or HEIF photo (what iPhones save
// by default) with libheif compiled to WebAssembly (npm libheif-js,
// LGPL-3.0); neither Pillow nor most browsers read them. The engine worker
// starts it for each such file and ends it after (web/worker/heic.js), so
// libheif's memory (a 48 MP photo needs several hundred MB of it, and
// WebAssembly memory never shrinks) is given back at once. Its 2 MB module
// is fetched only then; the service worker keeps it for offline use.
//
// libheif applies the file's own transformations (rotation, mirroring,
// cropping: the irot/imir/clap boxes), so the pixels come out upright. A HEIF
// file's EXIF orientation describes the same turn again and must not be
// applied on top: the pixels go on as a PNG, which carries none.
//
// Messages: in {bytes}; out {ok: true, width, height, channels, pixels, icc,
// images} (pixels and icc transferred) or {ok: false, message}.

const MODULE = "../libheif/libheif-bundle.mjs";

const libheif = () => import(new URL(MODULE, import.meta.url).href).then((m) => m.default());

class HeifError extends Error {}

// The raw libheif C function that returns a struct heif_error writes it
// through a hidden first pointer: its first int is the error code.
function rawColourProfile(m, handle) {
  const ptr = handle.$$.ptr;
  const type = m._heif_image_handle_get_color_profile_type(ptr);
  const PROF = 0x70726f66; // "prof": an ICC profile ("rICC" is a restricted one)
  const RICC = 0x72494343;
  if (type !== PROF && type !== RICC) return null;
  const size = m._heif_image_handle_get_raw_color_profile_size(ptr);
  if (!size) return null;
  const out = m._malloc(size);
  const err = m._malloc(16);
  try {
    m._heif_image_handle_get_raw_color_profile(err, ptr, out);
    return m.HEAP32[err >> 2] === 0 ? m.HEAPU8.slice(out, out + size) : null;
  } finally {
    m._free(out);
    m._free(err);
  }
}

// Decode the primary image of a HEIC/HEIF file. Resolves to {width, height,
// channels (3 or 4), pixels (tightly packed 8-bit RGB or RGBA), icc (the ICC
// profile's bytes, or null), images (how many top-level images the file
// holds)}; rejects with a HeifError whose message is for the user.
async function decodeHeif(bytes) {
  const m = await libheif();
  const ctx = m.heif_context_alloc();
  let handle = null;
  let image = null;
  try {
    const read = m.heif_context_read_from_memory(ctx, new Uint8Array(bytes));
    if (read.code.value !== 0) throw new HeifError(`This HEIC image is damaged or truncated and cannot be read (${read.message.split(":").slice(0, 2).join(":").trim()}).`);
    const ids = m.heif_js_context_get_list_of_top_level_image_IDs(ctx);
    if (!Array.isArray(ids) || ids.length === 0) throw new HeifError("This HEIC file holds no image.");
    handle = m.heif_js_context_get_primary_image_handle(ctx);
    const alpha = !!m.heif_image_handle_has_alpha_channel(handle);
    const chroma = alpha ? m.heif_chroma.heif_chroma_interleaved_RGBA : m.heif_chroma.heif_chroma_interleaved_RGB;
    const decoded = await m.heif_js_decode_image2(handle, m.heif_colorspace.heif_colorspace_RGB, chroma);
    if (!decoded || decoded.code || !decoded.channels) {
      const why = decoded?.message ? ` (${String(decoded.message).trim()})` : "";
      throw new HeifError(`This HEIC image is damaged or truncated and cannot be read${why}.`);
    }
    image = decoded.image;
    const plane = decoded.channels.find((c) => c.id === m.heif_channel.heif_channel_interleaved) ?? decoded.channels[0];
    const channels = alpha ? 4 : 3;
    const row = plane.width * channels;
    // plane.data is a view into libheif's memory, freed below: copy it out,
    // without the row padding.
    let pixels;
    if (plane.stride === row) pixels = plane.data.slice(0, row * plane.height);
    else {
      pixels = new Uint8Array(row * plane.height);
      for (let y = 0; y < plane.height; y++) pixels.set(plane.data.subarray(y * plane.stride, y * plane.stride + row), y * row);
    }
    return { width: plane.width, height: plane.height, channels, pixels, icc: rawColourProfile(m, handle), images: ids.length };
  } catch (err) {
    if (err instanceof HeifError) throw err;
    throw new HeifError(`This HEIC image cannot be decoded (${err?.message ?? err}).`);
  } finally {
    if (image) m.heif_image_release(image);
    if (handle) m.heif_image_handle_release(handle);
    m.heif_context_free(ctx);
  }
}

self.onmessage = async ({ data: { bytes } }) => {
  try {
    const r = await decodeHeif(bytes);
    self.postMessage({ ok: true, ...r }, [r.pixels.buffer, ...(r.icc ? [r.icc.buffer] : [])]);
  } catch (err) {
    const message = err instanceof HeifError ? err.message : `This HEIC image cannot be decoded (${err?.message ?? err}).`;
    self.postMessage({ ok: false, message });
  }
};
