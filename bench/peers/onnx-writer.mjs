// The ONNX (protobuf) writer for the benchmark peers that run onnxruntime-node on models built in
// code: no Python, no `onnx` package, nothing to download. The writer itself is the library's
// src/harness/onnx-proto.ts (also used by `bench --backend cpu --peers`), re-exported here from the
// built dist/ with the f16 <-> number conversion, so run after `npm run build` / carry dist.
// Used by bench/peers/ort-mha.mjs and bench/tc/ort-nbits.mjs.

export { DT, cat, int, len, str, tensor, valueInfo, attrInt, attrFloat, node, model } from '../../dist/harness/onnx-proto.js';

/** f16 <-> number: the library's own conversion (nearest, ties to even), from the built dist/. */
export { halfBits as toHalf, halfValue as fromHalf } from '../../dist/tensor/half.js';
