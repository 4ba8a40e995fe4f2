// The engine worker's side of HEIC/HEIF decoding: each file is decoded in a
// worker of its own (heic-worker.js), ended as soon as it answers, so that
// libheif's memory is given back at once.

const WORKER = new URL("./heic-worker.js", import.meta.url);

export class HeifError extends Error {}

// Resolves to {width, height, channels (3 or 4), pixels (8-bit, tightly
// packed), icc (bytes or null), images (top-level images in the file)};
// rejects with a HeifError whose message is for the user.
export function decodeHeif(bytes) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { type: "module" });
    const done = () => worker.terminate();
    worker.onmessage = ({ data }) => {
      done();
      if (data.ok) resolve(data);
      else reject(new HeifError(data.message));
    };
    worker.onerror = (event) => {
      event.preventDefault();
      done();
      const why = event.message || "its decoder could not start";
      reject(new HeifError(`This HEIC image cannot be decoded here (${why}).`));
    };
    worker.postMessage({ bytes });
  });
}
