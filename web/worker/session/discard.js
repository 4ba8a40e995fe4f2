// A model's copies (read from storage, rewritten for the CPU) are tens of MB
// each and garbage once onnxruntime has taken the model into its own memory.
// The collector may keep them through the next engine's start (the Arena
// starts three in a row: 1.3 GB of resident memory for a 12 MP photo);
// detaching a buffer frees its memory at once. Where ArrayBuffer.transfer is
// missing, the collector frees it as before.
export function discard(array) {
  const buffer = array?.buffer;
  if (buffer && typeof buffer.transfer === "function" && !buffer.detached) buffer.transfer(0);
}
