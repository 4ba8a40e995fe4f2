// Which image formats a file is, from its first bytes: what the page and the
// engine worker need to know before Python sees the file. The same tests as
// backgrone.imageio.sniff.

// The brands of an ISO-BMFF "ftyp" box that say HEIF (HEIC is HEIF with HEVC).
const HEIF_BRANDS = new Set(["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"]);

function brands(bytes) {
  const b = new Uint8Array(bytes instanceof ArrayBuffer ? bytes : bytes.buffer, bytes.byteOffset ?? 0, Math.min(64, bytes.byteLength));
  const text = (i) => String.fromCharCode(b[i], b[i + 1], b[i + 2], b[i + 3]);
  if (b.length < 16 || text(4) !== "ftyp") return [];
  const box = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  const end = Math.min(Math.max(box, 16), b.length);
  const out = [];
  for (let i = 8; i + 4 <= end; i += 4) out.push(text(i));
  return out;
}

// A HEIC or HEIF image (AVIF shares the container and is not one).
export function isHeif(bytes) {
  const list = brands(bytes);
  return !list.some((x) => x === "avif" || x === "avis") && list.some((x) => HEIF_BRANDS.has(x));
}
