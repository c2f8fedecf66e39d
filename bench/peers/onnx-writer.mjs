// A tiny ONNX (protobuf) writer for the benchmark peers that run onnxruntime-node on models built
// in code: no Python, no `onnx` package, nothing to download. It writes only the message fields
// those scripts use (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
// ValueInfoProto); field numbers are onnx.proto's. Also f16 <-> number conversion for test data (the library's, so run after `npm run build` / carry dist).
// Used by bench/peers/ort-mha.mjs and bench/tc/ort-nbits.mjs.

/** TensorProto.DataType codes used here. */
export const DT = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, FLOAT16: 10 };

const varint = (n) => {
  const out = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
};
const B = (x) => (Buffer.isBuffer(x) ? x : Buffer.from(x));
/** Concatenates encoded fields (Buffers or byte arrays). */
export const cat = (parts) => Buffer.concat(parts.map(B));
const fld = (no, wire) => varint((no << 3) | wire);
/** A varint field. */
export const int = (no, v) => cat([fld(no, 0), varint(v)]);
/** A length-delimited field (a sub-message or bytes). */
export const len = (no, payload) => cat([fld(no, 2), varint(B(payload).length), B(payload)]);
/** A string field. */
export const str = (no, s) => len(no, Buffer.from(s));
const f32field = (no, v) => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return cat([fld(no, 5), b]);
};

/** TensorProto with raw little-endian data from a typed array. */
export const tensor = (name, type, dims, raw) =>
  cat([...dims.map((d) => int(1, d)), int(2, type), str(8, name), len(9, Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength))]);

/** ValueInfoProto of a tensor; a string dim is symbolic (dim_param), a number fixed (dim_value). */
export const valueInfo = (name, type, dims) =>
  cat([str(1, name), len(2, len(1, cat([int(1, type), len(2, cat(dims.map((d) => len(1, typeof d === 'string' ? str(2, d) : int(1, d)))))])))]);

/** AttributeProto of type INT (2). */
export const attrInt = (name, v) => cat([str(1, name), int(3, v), int(20, 2)]);
/** AttributeProto of type FLOAT (1). */
export const attrFloat = (name, v) => cat([str(1, name), f32field(2, v), int(20, 1)]);

/** NodeProto; an empty input name means "optional input left out". */
export const node = (inputs, outputs, opType, domain, attrs = []) =>
  cat([
    ...inputs.map((i) => str(1, i)),
    ...outputs.map((o) => str(2, o)),
    str(3, `${opType}_${outputs[0]}`),
    str(4, opType),
    ...attrs.map((a) => len(5, a)),
    ...(domain ? [str(7, domain)] : []),
  ]);

/**
 * A serialised ModelProto (IR version 8) around one graph.
 * @param {{nodes: Buffer[], inits?: Buffer[], inputs: Buffer[], outputs: Buffer[], name?: string, opset?: number}} g
 * @returns {Uint8Array}
 */
export function model({ nodes, inits = [], inputs, outputs, name = 'g', opset = 17 }) {
  const graph = cat([
    ...nodes.map((n) => len(1, n)),
    str(2, name),
    ...inits.map((t) => len(5, t)),
    ...inputs.map((v) => len(11, v)),
    ...outputs.map((v) => len(12, v)),
  ]);
  const opsets = [len(8, cat([str(1, ''), int(2, opset)])), len(8, cat([str(1, 'com.microsoft'), int(2, 1)]))];
  return new Uint8Array(cat([int(1, 8), str(2, 'webgpu-attention-bench'), len(7, graph), ...opsets]));
}

/** f16 <-> number: the library's own conversion (nearest, ties to even), from the built dist/. */
export { halfBits as toHalf, halfValue as fromHalf } from '../../dist/tensor/half.js';
