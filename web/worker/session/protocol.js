// The message protocol between the engine worker (../worker.js) and its
// session worker (session-worker.js), which runs onnxruntime-web on a thread
// of its own: an engine's start (reading it from IndexedDB, checking its
// sha256, creating its session) runs while Pyodide boots beside it, and the
// network runs while the engine worker's thread is free. Python reaches the
// session through one proxy object (session-client.js, SessionClient.remote),
// behind the same Session interface as under CPython (py/backgrone/inference/).
//
// The page makes both workers and a MessageChannel between them (client/
// engine-client.js): its one message to the session worker is
//   connect {port}                 the session worker's end of the channel
// and the engine worker gets the other end the same way. All else goes over
// the channel. If either worker dies, the page replaces both.
//
// Every request carries a numeric `id`; the session worker answers it with
// exactly one `reply` or `error` with that id. Requests run one at a time, in
// order, except `expect`, which acts at once and has no answer.
//
// Requests (engine worker -> session worker):
//   start {backend, threads}       import onnxruntime-web's bundle for `backend` ("wasm" or
//                                  "webgpu") with `threads` WASM threads
//       reply: {backend, note}: the backend whose bundle is loaded ("wasm" where the WebGPU
//       bundle cannot be, e.g. offline without it), and why, or null
//   open {engine, backends, bytes, warmUp}
//       start `engine`'s session ({id, label, size, sha256}), releasing the one before.
//       backends: the ones to try in order (["webgpu", "wasm"] or ["wasm"]); on WebGPU one
//       run on a blank input is made at once, since unsupported kernels fail at the first run.
//       bytes: the model (a Uint8Array, transferred), already checked; without it the model
//       is read from the model store (IndexedDB, read only here) and its size and sha256
//       (the engine's pinned one, else the one stored with it) are checked while its
//       session is created: a copy that fails is never run.
//       warmUp: once open, make one run on a blank input if no `run` or `expect` has come,
//       so that onnxruntime-web's slower first run is paid while nothing waits (each such
//       run is marked in this worker's performance timeline as a measure named "warm-up").
//       reply: {engine, backend, note, input, output, inputShape, outputShape, seconds, read,
//               warmUp}
//       input/output: the first input's and output's names; inputShape/outputShape: their
//       dimensions as the session states them (numbers, or names for symbolic ones), or
//       null; seconds: the session's creation (with WebGPU's check run); read: seconds
//       reading the store (0 with bytes); note: why WebGPU was not used where it was tried;
//       warmUp: true when a warm-up run follows
//       errors: "not-stored" (nothing stored for it, or the store cannot be read),
//       "bad-copy" (the stored bytes fail their check), "needs-fp32" (WebGPU without fp16
//       shaders: the error carries `bytes`, the model handed back, to be widened and opened
//       again), "bad-model" (onnxruntime-web cannot load it: the message is its own)
//   run {input, dims}              one session.run; input: a Float32Array (transferred)
//       reply: {output, dims, seconds, memory}: the first output (a Float32Array,
//       transferred), its dimensions, the seconds of session.run alone, and the bytes of this
//       worker's WebAssembly memories (onnxruntime-web's), their peak so far
//   expect {}                      an image is on its way: a warm-up not yet begun is skipped
//   release {}                     release the session; reply: {}
//
// Session worker -> engine worker:
//   {id, type: "reply", result}
//   {id, type: "error", code, message, bytes?}

export const SessionRequest = Object.freeze({
  CONNECT: "connect",
  START: "start",
  OPEN: "open",
  RUN: "run",
  EXPECT: "expect",
  RELEASE: "release",
});

export const SessionReply = Object.freeze({
  REPLY: "reply",
  ERROR: "error",
});
