// A tiny ONNX (protobuf) writer for the benchmark peers that run onnxruntime-node on models built
// in code: no Python, no `onnx` package, nothing to download. It writes only the message fields
// those scripts use (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
// ValueInfoProto); field numbers are onnx.proto's. Also f16 <-> number conversion for test data.
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

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** Nearest f16 bit pattern (ties to even) of a finite number in f16's normal or subnormal range. */
export function toHalf(x) {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const e = ((b >>> 23) & 0xff) - 127 + 15;
  const m = b & 0x7fffff;
  if (e >= 31) return sign | 0x7c00; // overflow to infinity (test data never gets here)
  if (e <= 0) {
    if (e < -10) return sign;
    const full = m | 0x800000; // subnormal: shift the implicit bit in, round to nearest even
    const shift = 14 - e;
    let h = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (m >>> 13);
  const rest = m & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // a carry into the exponent is still right
  return sign | h;
}
/** The number an f16 bit pattern stands for (finite patterns only). */
export function fromHalf(h) {
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  const v = e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}
