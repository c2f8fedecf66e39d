/*
 * Kernel builders are pure functions, so their output is checked as text:
 * a tile exists for every supported head dim on common limits, the workgroup
 * memory the WGSL declares is what the builder says it needs, the Params
 * struct matches its field list, and parameter packing round-trips.
 */
import { describe, expect, it } from 'vitest';
import { forwardAccFloats, FORWARD_PARAMS, forwardKernel, forwardWorkgroupBytes, tileOptionsProblem, tileRows } from '../src/kernels/forward.js';
import { naiveMaskKernel, NAIVE_PARAMS, naivePvKernel, naiveScoresKernel, naiveSoftmaxKernel } from '../src/kernels/naive.js';
import { packParams } from '../src/kernels/params.js';
import type { KernelSpec } from '../src/kernels/spec.js';
import { chooseForwardTile, FORWARD_TILES, MAX_ACC_FLOATS, tileFits } from '../src/kernels/tiles.js';
import { SUPPORTED_HEAD_DIMS } from '../src/tensor/shape.js';

const BYTES: Record<string, number> = { f32: 4, u32: 4, i32: 4, 'vec4<f32>': 16 };

/** Bytes of every `var<workgroup> name: array<T, N>;` in a module (N a literal or a `const`). */
function declaredWorkgroupBytes(wgsl: string): number {
  const consts = new Map([...wgsl.matchAll(/const (\w+) = (\d+)u?;/g)].map((m) => [m[1]!, Number(m[2])]));
  const decls = [...wgsl.matchAll(/var<workgroup>\s+\w+\s*:\s*array<(f32|u32|i32|vec4<f32>),\s*(\w+)>;/g)];
  expect(decls.length, 'every var<workgroup> is an array this parser understands').toBe(wgsl.split('var<workgroup>').length - 1);
  return decls.reduce((sum, [, type, n]) => sum + BYTES[type!]! * (consts.get(n!) ?? Number(n)), 0);
}

/** Fields of `struct Params { … }` as [name, type] pairs. */
function paramsStruct(wgsl: string): [string, string][] {
  const body = /struct Params \{([^}]*)\}/.exec(wgsl)?.[1] ?? '';
  return [...body.matchAll(/(\w+)\s*:\s*(\w+),/g)].map((m) => [m[1]!, m[2]!]);
}

const naiveSpecs = (): KernelSpec[] => [naiveScoresKernel(), naiveMaskKernel(true), naiveMaskKernel(false), naiveSoftmaxKernel(), naivePvKernel()];

describe('chooseForwardTile', () => {
  for (const storage of [16384, 32768, 49152]) {
    for (const invocations of [256, 1024]) {
      const limits = { maxComputeWorkgroupStorageSize: storage, maxComputeInvocationsPerWorkgroup: invocations };
      // 16 KiB is WebGPU's default (a caller's plain requestDevice()); D = 256 once had no tile there.
      it(`finds a tile for every head dim in ${storage} B, ${invocations} invocations`, () => {
        for (const d of SUPPORTED_HEAD_DIMS) {
          const tile = chooseForwardTile(d, limits);
          expect(tile, `D=${d}`).toBeDefined();
          expect(forwardWorkgroupBytes(d, tile!)).toBeLessThanOrEqual(storage);
          expect(tile!.tx * tile!.ty).toBeLessThanOrEqual(invocations);
          expect(forwardAccFloats(d, tile!)).toBeLessThanOrEqual(MAX_ACC_FLOATS);
        }
      });
    }
  }

  it('never picks a tile wider than the head dim has vec4 columns (idle invocations in P·V)', () => {
    for (const storage of [16384, 32768, 49152]) {
      for (const d of SUPPORTED_HEAD_DIMS) {
        const tile = chooseForwardTile(d, { maxComputeWorkgroupStorageSize: storage, maxComputeInvocationsPerWorkgroup: 1024 });
        expect(tile!.tx, `D=${d}, ${storage} B`).toBeLessThanOrEqual(d / 4);
      }
    }
  });

  it('with fewer query rows than the default tile, picks the fitting tile with the fewest rows that covers them', () => {
    const limits = { maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024 };
    for (const d of [64, 128]) {
      const full = chooseForwardTile(d, limits, 32)!;
      expect(chooseForwardTile(d, limits, 32, 4096)).toEqual(full);
      expect(tileRows(chooseForwardTile(d, limits, 32, 1)!).br).toBe(4);
      expect(tileRows(chooseForwardTile(d, limits, 32, 10)!).br).toBe(16);
      const fits = FORWARD_TILES.filter((t) => tileFits(d, t, limits, 32));
      for (const n of [1, 5, 17, 33]) {
        const br = tileRows(chooseForwardTile(d, limits, 32, n)!).br;
        const fewest = Math.min(...fits.map((t) => tileRows(t).br).filter((r) => r >= n));
        expect(br, `D=${d} Nq=${n}`).toBe(n >= tileRows(full).br ? tileRows(full).br : fewest);
      }
    }
  });

  it('picks the first tile in the list that fits', () => {
    const limits = { maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 256 };
    for (const d of SUPPORTED_HEAD_DIMS) {
      const first = FORWARD_TILES.find((t) => tileFits(d, t, limits));
      expect(chooseForwardTile(d, limits)).toBe(first);
    }
  });
});

describe('forwardKernel WGSL', () => {
  for (const tile of FORWARD_TILES) {
    it(`declares exactly forwardWorkgroupBytes, tile ${JSON.stringify(tile)}`, () => {
      for (const headDim of SUPPORTED_HEAD_DIMS) {
        if (tileOptionsProblem(headDim, tile)) {
          expect(() => forwardKernel({ headDim, causal: true, tile })).toThrow(/swizzle/);
          continue;
        }
        for (const subgroups of [false, true]) {
          const spec = forwardKernel({ headDim, causal: true, tile, subgroups });
          const bytes = forwardWorkgroupBytes(headDim, tile, subgroups);
          expect(declaredWorkgroupBytes(spec.wgsl), `D=${headDim}`).toBe(bytes);
          expect(spec.workgroupBytes).toBe(bytes);
          expect(spec.workgroupSize).toEqual([tile.tx, tile.ty, 1]);
        }
      }
    });
  }

  it('has the Params struct of FORWARD_PARAMS and the bindings of its spec, in order', () => {
    const spec = forwardKernel({ headDim: 64, causal: false, tile: FORWARD_TILES[0]! });
    expect(paramsStruct(spec.wgsl)).toEqual(FORWARD_PARAMS.fields.map(([n, t]) => [n, t]));
    const declared = [...spec.wgsl.matchAll(/@binding\((\d+)\) var<([^>]+)> (\w+)/g)].map((m) => [Number(m[1]), m[3]]);
    expect(declared).toEqual(spec.bindings.map((b, i) => [i, b.name]));
  });

  it('differs between causal and not, and names both in the label', () => {
    const [a, b] = [false, true].map((causal) => forwardKernel({ headDim: 64, causal, tile: FORWARD_TILES[2]! }));
    expect(a!.wgsl).not.toBe(b!.wgsl);
    expect(b!.label).toContain('causal');
    expect(a!.label).not.toContain('causal');
  });

  it('rejects a head dim that is not a multiple of 4', () => {
    expect(() => forwardKernel({ headDim: 62, causal: false, tile: FORWARD_TILES[0]! })).toThrow(/62/);
  });
});

describe('naive kernels WGSL', () => {
  it('declare the workgroup memory their specs state and the Params struct of NAIVE_PARAMS', () => {
    for (const spec of naiveSpecs()) {
      expect(declaredWorkgroupBytes(spec.wgsl), spec.label).toBe(spec.workgroupBytes);
      expect(paramsStruct(spec.wgsl), spec.label).toEqual(NAIVE_PARAMS.fields.map(([n, t]) => [n, t]));
    }
  });
});

describe('packParams', () => {
  it('round-trips every field at its offset and type, size a multiple of 16', () => {
    const values: Record<string, number> = {};
    FORWARD_PARAMS.fields.forEach(([name, type], i) => {
      values[name] = type === 'f32' ? 0.1 * (i + 1) : type === 'i32' ? -(i + 1) * 1000 : 4_000_000_000 - i;
    });
    const buf = packParams(FORWARD_PARAMS, values);
    expect(buf.byteLength % 16).toBe(0);
    expect(buf.byteLength).toBeGreaterThanOrEqual(FORWARD_PARAMS.fields.length * 4);
    const view = new DataView(buf);
    FORWARD_PARAMS.fields.forEach(([name, type], i) => {
      const got = type === 'f32' ? view.getFloat32(i * 4, true) : type === 'i32' ? view.getInt32(i * 4, true) : view.getUint32(i * 4, true);
      expect(got, name).toBe(type === 'f32' ? Math.fround(values[name]!) : values[name]);
    });
  });

  it('packs −∞ (the LSE of a fully masked row) exactly', () => {
    const values = Object.fromEntries(FORWARD_PARAMS.fields.map(([n]) => [n, 0]));
    const i = FORWARD_PARAMS.fields.findIndex(([n]) => n === 'negInf');
    const view = new DataView(packParams(FORWARD_PARAMS, { ...values, negInf: -Infinity }));
    expect(view.getFloat32(i * 4, true)).toBe(-Infinity);
  });

  it('names a missing field', () => {
    expect(() => packParams(FORWARD_PARAMS, { seqQ: 1 })).toThrow(/seqK/);
  });
});
