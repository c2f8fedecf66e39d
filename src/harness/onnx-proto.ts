/*
 * A tiny ONNX (protobuf) writer, so benchmark peers that run onnxruntime can use
 * models built in code: no Python, no `onnx` package, nothing to download. It
 * writes only the message fields those peers use (ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto, ValueInfoProto); field numbers are
 * onnx.proto's. Used by `bench --peers` (cpu-peer-onnx.ts) and, through
 * bench/peers/onnx-writer.mjs, by the GPU peer scripts in bench/.
 */

/** An encoded protobuf fragment (one or more fields). */
export type Bytes = Uint8Array;

/** TensorProto.DataType codes used here. */
export const DT = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, FLOAT16: 10 } as const;

const encoder = new TextEncoder();

function varint(n: number | bigint): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}

/** Concatenates encoded fields. */
export function cat(parts: readonly (Bytes | readonly number[])[]): Bytes {
  const arrays = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

const key = (no: number, wire: number) => varint((no << 3) | wire);

/** A varint field. */
export const int = (no: number, v: number | bigint): Bytes => cat([key(no, 0), varint(v)]);
/** A length-delimited field (a sub-message or bytes). */
export const len = (no: number, payload: Bytes): Bytes => cat([key(no, 2), varint(payload.length), payload]);
/** A string field. */
export const str = (no: number, s: string): Bytes => len(no, encoder.encode(s));

function f32field(no: number, v: number): Bytes {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, v, true);
  return cat([key(no, 5), b]);
}

/** TensorProto with raw little-endian data from a typed array (an initializer). */
export function tensor(name: string, type: number, dims: readonly number[], raw: ArrayBufferView): Bytes {
  const data = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  return cat([...dims.map((d) => int(1, d)), int(2, type), str(8, name), len(9, data)]);
}

/** ValueInfoProto of a tensor; a string dim is symbolic (dim_param), a number fixed (dim_value). */
export function valueInfo(name: string, type: number, dims: readonly (number | string)[]): Bytes {
  const shape = cat(dims.map((d) => len(1, typeof d === 'string' ? str(2, d) : int(1, d))));
  return cat([str(1, name), len(2, len(1, cat([int(1, type), len(2, shape)])))]);
}

/** AttributeProto of type INT (2). */
export const attrInt = (name: string, v: number): Bytes => cat([str(1, name), int(3, v), int(20, 2)]);
/** AttributeProto of type FLOAT (1). */
export const attrFloat = (name: string, v: number): Bytes => cat([str(1, name), f32field(2, v), int(20, 1)]);

/** NodeProto; an empty input name means "optional input left out"; domain '' is the default ONNX domain. */
export function node(inputs: readonly string[], outputs: readonly string[], opType: string, domain = '', attrs: readonly Bytes[] = []): Bytes {
  return cat([
    ...inputs.map((i) => str(1, i)),
    ...outputs.map((o) => str(2, o)),
    str(3, `${opType}_${outputs[0]}`),
    str(4, opType),
    ...attrs.map((a) => len(5, a)),
    ...(domain ? [str(7, domain)] : []),
  ]);
}

/** One graph: nodes in topological order, initializers, inputs and outputs (ValueInfoProtos). */
export interface GraphSpec {
  readonly nodes: readonly Bytes[];
  readonly inits?: readonly Bytes[];
  readonly inputs: readonly Bytes[];
  readonly outputs: readonly Bytes[];
  readonly name?: string;
  /** Default-domain opset (default 17); com.microsoft opset 1 is always imported. */
  readonly opset?: number;
}

/** A serialised ModelProto (IR version 8; onnxruntime 1.30 takes opset 23 under it too) around one graph. */
export function model({ nodes, inits = [], inputs, outputs, name = 'g', opset = 17 }: GraphSpec): Uint8Array {
  const graph = cat([
    ...nodes.map((n) => len(1, n)),
    str(2, name),
    ...inits.map((t) => len(5, t)),
    ...inputs.map((v) => len(11, v)),
    ...outputs.map((v) => len(12, v)),
  ]);
  const opsets = [len(8, cat([str(1, ''), int(2, opset)])), len(8, cat([str(1, 'com.microsoft'), int(2, 1)]))];
  return cat([int(1, 8), str(2, 'webgpu-attention-bench'), len(7, graph), ...opsets]);
}
