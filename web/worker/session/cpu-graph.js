// The model as onnxruntime-web's CPU backend runs it with a lower peak of
// memory and the same values bit for bit (docs/performance.md, "Convolutions
// in strips"): large Concats that feed a quantisation quantised part by part
// (concat-quantize.js), then ConvInteger's scratch buffers cut down
// (conv-strips.js). Each step makes a new copy of the model, at the session's
// creation; WebGPU's kernels are not these, and it gets the model as it is.
// The copy between the steps is freed as soon as the next is made.

import { quantizeConcatParts } from "./concat-quantize.js";
import { cutConvolutions } from "./conv-strips.js";
import { discard } from "./discard.js";

export function forCpu(bytes) {
  const q = quantizeConcatParts(bytes);
  const c = cutConvolutions(q.bytes);
  if (q.bytes.buffer !== bytes.buffer && q.bytes.buffer !== c.bytes.buffer) discard(q.bytes);
  return { bytes: c.bytes, concats: q.concats, convs: c.convs, strips: c.strips };
}
