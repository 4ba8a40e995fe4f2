// The compiled modules of numpy, Pillow and Backgrone, kept from one visit to
// the next (py/backgrone/bytecode.py says why and in what form). One visit
// takes them once its first cutout is done; the next ones write them into
// Pyodide's file system, beside the sources, before anything is imported.
// Stored (python-cache.js, kind "bytecode") as one blob: a 4-byte length, a
// JSON list of [path, size], then the files' bytes one after the other.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// [[path, Uint8Array], ...] -> one Uint8Array
export function packFiles(files) {
  const index = encoder.encode(JSON.stringify(files.map(([path, bytes]) => [path, bytes.length])));
  const out = new Uint8Array(4 + index.length + files.reduce((n, [, bytes]) => n + bytes.length, 0));
  new DataView(out.buffer).setUint32(0, index.length, true);
  out.set(index, 4);
  let at = 4 + index.length;
  for (const [, bytes] of files) {
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

// The files of a blob packFiles made; throws on one it did not make.
export function unpackFiles(blob) {
  const length = new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getUint32(0, true);
  const index = JSON.parse(decoder.decode(blob.subarray(4, 4 + length)));
  let at = 4 + length;
  const files = index.map(([path, size]) => {
    const bytes = blob.subarray(at, at + size);
    at += size;
    return [path, bytes];
  });
  if (at !== blob.length) throw new Error("bytecode blob: sizes do not add up");
  return files;
}

// Write the kept .pyc files into Pyodide's file system; returns how many.
export function writeFiles(FS, files) {
  for (const [path, bytes] of files) {
    FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
    FS.writeFile(path, bytes);
  }
  return files.length;
}
