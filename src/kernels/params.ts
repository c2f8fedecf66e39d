/*
 * Uniform parameter blocks. Each kernel family declares its fields once, in
 * order; the WGSL struct and the host-side packing are both derived from that
 * list, so they cannot disagree.
 */

export type FieldType = 'u32' | 'i32' | 'f32';

export interface ParamLayout {
  readonly fields: readonly (readonly [name: string, type: FieldType])[];
}

/** WGSL struct declaration for a parameter layout (all 4-byte scalars, no padding needed). */
export function paramStruct(name: string, layout: ParamLayout): string {
  return `struct ${name} {\n${layout.fields.map(([n, t]) => `  ${n}: ${t},`).join('\n')}\n}`;
}

/** Packs values into the byte image of the struct (size rounded up to 16 bytes). */
export function packParams(layout: ParamLayout, values: Readonly<Record<string, number>>): ArrayBuffer {
  const size = Math.ceil((layout.fields.length * 4) / 16) * 16;
  const buf = new ArrayBuffer(size);
  const view = new DataView(buf);
  layout.fields.forEach(([name, type], i) => {
    const v = values[name];
    if (v === undefined) throw new Error(`packParams: missing value for '${name}'`);
    if (type === 'f32') view.setFloat32(i * 4, v, true);
    else if (type === 'i32') view.setInt32(i * 4, v, true);
    else view.setUint32(i * 4, v, true);
  });
  return buf;
}
