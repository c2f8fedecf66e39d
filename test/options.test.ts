/*
 * Options of every entry point, as a named grid: a control case that passes,
 * then one bad thing at a time (a wrong type per option, an unknown key with
 * its suggestion, options that are not an object, forged modifiers and sinks,
 * constant modifiers left by JS control flow, a modifier of the wrong kind).
 * Each must be an AttentionInputError naming the option and the value. Runs on
 * the CPU backend; the last case shows the WebGPU backend throws the same error
 * before any GPU work.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import type { AttentionTensor } from '../src/api/tensor.js';
import { nearestKey } from '../src/api/check-options.js';
import {
  alibi,
  causal,
  isSinks,
  keyPadding,
  learnedSinks,
  prefixLM,
  relativeBias,
  slidingWindow,
  softcap,
  streamingSinks,
  documentMask,
} from '../src/mods/builtins.js';
import { and, compose, isModifier, maskMod, not, or, scoreMod } from '../src/mods/modifier.js';
import { where } from '../src/mods/trace.js';
import { blockMaskOnCpu } from '../src/mods/blockmask.js';
import { maskPicture } from '../src/mods/picture.js';
import { AttentionInputError } from '../src/tensor/errors.js';
import { errorOf } from './helpers.js';

let attn: Attention;
let q: AttentionTensor;
beforeAll(async () => {
  attn = await createAttention({ backend: 'cpu' });
  q = attn.tensor(new Float32Array(2 * 8 * 32), [1, 2, 8, 32]);
});
afterAll(() => attn.destroy());

/** Expects `fn` to throw (or reject with) an AttentionInputError whose message has every fragment. */
async function expectInputError(fn: () => unknown, ...fragments: string[]): Promise<void> {
  const e = await errorOf(fn);
  expect(e, e.stack).toBeInstanceOf(AttentionInputError);
  for (const f of fragments) expect(e.message).toContain(f);
}

const forward = (opts: unknown) => attn.forward(q, q, q, opts as never);
const backward = async (opts: unknown) => {
  const { out, lse } = await attn.forward(q, q, q, { returnLse: true });
  return attn.backward(q, { q, k: q, v: q, out, lse }, opts as never);
};

/** A grid row: a name, the bad input, then the fragments the message must have. */
type Row<T> = [string, T, ...string[]];

/** A hand-built object that looks like a modifier: a real one's fields, copied. */
const forged = (m: object) => ({ ...m });
const forgedMask = () => forged(slidingWindow(4));
const forgedScore = () => forged(softcap(5));
const forgedSinks = () => ({ kind: 'sinks', logits: new Float32Array([0, 0]) });

describe('control: good options pass everywhere', () => {
  it('forward, backward, tensor and createAttention accept every option, well typed', async () => {
    const opts = {
      dtype: 'f32',
      causal: true,
      scale: 0.2,
      algorithm: 'flash',
      returnLse: true,
      keySplits: 1,
      tile: { tx: 8, ty: 8, rm: 4, cn: 4, shareKv: false, pInK: true, swizzle: true },
      score: alibi([0.5, 0.25]),
      mask: slidingWindow(4),
      sinks: learnedSinks([0, 1]),
      tableGrads: true,
      backwardTile: { tx: 8, ty: 8, rm: 2, cn: 2 },
      dqTile: { tx: 8, ty: 8, rm: 4, cn: 4, dsInY: true },
    } as const;
    const r = await forward(opts);
    expect(r.lse).toBeDefined();
    const g = await backward(opts);
    expect(g.dtables?.slopes).toHaveLength(2);
    expect(attn.tensor(new Float32Array(32), [1, 1, 1, 32], { layout: 'bnhd' }).layout).toBe('bnhd');
    const c = await createAttention({ backend: 'cpu', poisonOutputs: true, tuning: 'off', subgroups: false, maxBindingBytes: 1 << 20, dawnFlags: [] });
    c.destroy();
  });

  it('undefined values count as absent', async () => {
    await forward({ causal: undefined, tile: undefined, score: undefined });
    expect(attn.tensor(new Float32Array(32), [1, 1, 1, 32], undefined).layout).toBe('bhnd');
  });
});

describe('options that are not a plain object', () => {
  it.each<[string, unknown, string]>([
    ['null', null, 'null'],
    ['an array', [true], 'an array of 1'],
    ['a number', 3, 'got 3'],
    ['a string', 'causal', '"causal"'],
    ['a class instance', new Map(), 'a Map object'],
  ])('%s is refused by forward, backward, tensor and createAttention', async (_name, bad, shown) => {
    await expectInputError(() => forward(bad), 'forward() options must be a plain object or undefined', shown);
    await expectInputError(() => backward(bad), 'backward() options must be a plain object', shown);
    await expectInputError(() => attn.tensor(new Float32Array(32), [1, 1, 1, 32], bad as never), 'tensor() options', shown);
    await expectInputError(() => createAttention(bad as never), 'createAttention() options', shown);
  });
});

describe('forward()/backward() options: one wrong type at a time', () => {
  it.each<Row<unknown>>([
    ['causal', 'yes', 'causal must be true or false', '"yes"'],
    ['causal', 1, 'causal must be true or false', 'got 1'],
    ['returnLse', 'true', 'returnLse must be true or false', '"true"'],
    ['tableGrads', 0, 'tableGrads must be true or false', 'got 0'],
    ['scale', NaN, 'scale must be a finite number', 'NaN'],
    ['scale', '0.1', 'scale must be a finite number', '"0.1"'],
    ['scale', -Infinity, 'scale must be a finite number', '-Infinity'],
    ['algorithm', 'fast', 'algorithm must be one of flash, naive', '"fast"'],
    ['dtype', 'bf16', 'dtype must be', "'f32' or 'f16', got \"bf16\""],
    ['dtype', 32, 'dtype must be', "'f16', got 32"],
    ['keySplits', 0, 'keySplits must be a positive integer', 'got 0'],
    ['keySplits', 2.5, 'keySplits must be a positive integer', '2.5'],
    ['keySplits', '2', 'keySplits must be a positive integer', '"2"'],
    ['decodeKernel', 'on', "decodeKernel (true, false, 'subgroups' or a DecodeTile) must be a plain object", '"on"'],
    ['decodeKernel', { threads: 256, lanes: 4 }, 'decodeKernel.loadBytes is missing', 'threads, lanes and loadBytes'],
    ['decodeKernel', { threads: 256, lanes: 0, loadBytes: 256 }, 'decodeKernel.lanes must be a positive integer', 'got 0'],
    ['decodeKernel', { threads: 256, lane: 4, loadBytes: 256 }, "unknown option 'decodeKernel.lane' (did you mean 'lanes'?)"],
    ['tile', 'big', 'tile (a ForwardTile) must be a plain object', '"big"'],
    ['tile', { tx: 8, ty: 8, rm: 4 }, 'tile.cn is missing', 'tx, ty, rm and cn'],
    ['tile', { tx: 8, ty: 0, rm: 4, cn: 4 }, 'tile.ty must be a positive integer', 'got 0'],
    ['tile', { tx: 8, ty: 8, rm: '4', cn: 4 }, 'tile.rm must be a positive integer', '"4"'],
    ['tile', { tx: 8, ty: 8, rm: 4, cn: 4, shareKv: 'no' }, 'tile.shareKv must be true or false', '"no"'],
    ['tile', { tx: 8, ty: 8, rm: 4, cn: 4, dsInY: true }, "unknown option 'tile.dsInY'"],
    ['backwardTile', { tx: 8, ty: 8, rm: 2, cn: 2, sharekv: true }, "unknown option 'backwardTile.sharekv'"],
    ['dqTile', { tx: 8, ty: 8, rm: 2, cn: 2, dsinY: 1 }, "unknown option 'dqTile.dsinY' (did you mean 'dsInY'?)"],
    ['dqTile', [8, 8, 2, 2], 'dqTile (a BackwardTile) must be a plain object', 'an array of 4'],
    ['score', () => 1, 'score must be a score modifier', 'a function'],
    ['mask', 'causal', 'mask must be a mask modifier', '"causal"'],
    ['sinks', [1, 2], 'sinks must come from learnedSinks(logits)', 'an array of 2'],
  ])('%s: %o', async (key, value, ...fragments) => {
    await expectInputError(() => forward({ [key]: value }), ...fragments);
    await expectInputError(() => backward({ [key]: value }), ...fragments);
  });
});

describe('createAttention() and tensor() options: one wrong type at a time', () => {
  it.each<Row<unknown>>([
    ['backend', 'metal', "backend must be 'auto', 'webgpu', 'cpu' or { device }", '"metal"'],
    ['backend', { device: {} }, 'backend: { device } needs a GPUDevice'],
    ['backend', { device: null }, 'backend: { device } needs a GPUDevice'],
    ['backend', { devcie: {} }, "unknown option 'backend.devcie' (did you mean 'device'?)"],
    ['dawnFlags', 'backend=null', 'dawnFlags must be an array of strings', '"backend=null"'],
    ['dawnFlags', ['a', 3], 'dawnFlags[1] must be a string', 'got 3'],
    ['poisonOutputs', 'true', 'poisonOutputs must be true or false'],
    ['tuning', 'on', 'tuning must be one of cached, off', '"on"'],
    ['subgroups', null, 'subgroups must be true or false', 'null'],
    ['maxBindingBytes', 1.5, 'maxBindingBytes must be a positive integer', '1.5'],
    ['maxBindingBytes', -4096, 'maxBindingBytes must be a positive integer', '-4096'],
  ])('createAttention %s: %o', async (key, value, ...fragments) => {
    await expectInputError(() => createAttention({ backend: 'cpu', [key]: value } as never), ...fragments);
  });

  it('tensor layout: an unknown name', async () => {
    await expectInputError(() => attn.tensor(new Float32Array(32), [1, 1, 1, 32], { layout: 'nhd' as never }), 'layout must be one of bhnd, bnhd', '"nhd"');
  });
});

describe('unknown option keys name the nearest valid key', () => {
  it.each<Row<() => unknown>>([
    ['forward', () => forward({ casual: true }), "forward() options: unknown option 'casual' (did you mean 'causal'?)"],
    ['forward', () => forward({ returnLSE: true }), "(did you mean 'returnLse'?)"],
    ['forward', () => forward({ keySplit: 2 }), "(did you mean 'keySplits'?)"],
    ['backward', () => backward({ masks: causal() }), "backward() options: unknown option 'masks' (did you mean 'mask'?)"],
    ['backward', () => backward({ tableGrad: false }), "(did you mean 'tableGrads'?)"],
    ['createAttention', () => createAttention({ backend: 'cpu', tunning: 'off' } as never), "unknown option 'tunning' (did you mean 'tuning'?)"],
    ['createAttention', () => createAttention({ backend: 'cpu', poison: true } as never), "unknown option 'poison'", 'valid: backend, dawnFlags'],
    ['tensor', () => attn.tensor(new Float32Array(32), [1, 1, 1, 32], { layuot: 'bnhd' } as never), "unknown option 'layuot' (did you mean 'layout'?)"],
    ['forward', () => forward({ frobnicate: 1 }), "unknown option 'frobnicate'", 'valid: dtype, causal, scale'],
  ])('%s: %#', async (_entry, fn, ...fragments) => {
    await expectInputError(fn, ...fragments);
  });

  it('nearestKey: transpositions are one edit; far names get no suggestion', () => {
    expect(nearestKey('casual', ['causal', 'scale'])).toBe('causal');
    expect(nearestKey('SCALE', ['causal', 'scale'])).toBe('scale');
    expect(nearestKey('zzzzzz', ['causal', 'scale'])).toBeUndefined();
  });
});

describe('only modifiers made by this library', () => {
  it('real modifiers and sinks are branded; copies are not', () => {
    for (const m of [
      slidingWindow(4),
      softcap(5),
      and(causal(), prefixLM(2)),
      or(causal()),
      not(causal()),
      compose(softcap(2)),
      maskMod((_b, _h, q, kv) => kv.le(q)),
    ]) {
      expect(isModifier(m), m.label).toBe(true);
      expect(isModifier(forged(m)), m.label).toBe(false);
    }
    expect(isSinks(learnedSinks([1]))).toBe(true);
    expect(isSinks(forgedSinks())).toBe(false);
    expect(Object.isFrozen(slidingWindow(4))).toBe(true);
  });

  it.each<Row<() => object>>([
    ['score', () => ({ score: forgedScore() }), 'score must be a score modifier made by this library', 'kind "score"'],
    ['mask', () => ({ mask: forgedMask() }), 'mask must be a mask modifier made by this library', 'kind "mask"'],
    [
      'mask with WGSL in its label',
      () => ({ mask: { kind: 'mask', label: '*/ fn evil', ir: { k: 'arg', t: 'bool', name: 'kv); }' }, tables: new Map() } }),
      'made by this library',
    ],
    ['mask without an IR', () => ({ mask: { kind: 'mask' } }), 'mask must be a mask modifier made by this library'],
    ['sinks', () => ({ sinks: forgedSinks() }), 'sinks must come from learnedSinks(logits); a hand-built object is not accepted'],
  ])('a forged %s is refused by forward and backward', async (_name, opts, ...fragments) => {
    await expectInputError(() => forward(opts()), ...fragments);
    await expectInputError(() => backward(opts()), ...fragments);
  });

  it('a forged mask is refused by blockMask, blockMaskOnCpu, maskPicture and the combinators', async () => {
    const shape = { batch: 1, heads: 1, seqQ: 8, seqK: 8 };
    await expectInputError(() => attn.blockMask(forgedMask() as never, shape), 'blockMask: mask must be a mask modifier made by this library');
    await expectInputError(() => blockMaskOnCpu(forgedMask() as never, shape, 4, 4), 'blockMaskOnCpu() takes mask modifiers made by this library');
    await expectInputError(() => maskPicture(forgedMask() as never), 'maskPicture() takes mask modifiers made by this library');
    await expectInputError(() => and(causal(), forgedMask() as never), 'and() takes mask modifiers made by this library');
    await expectInputError(() => or(forgedMask() as never), 'or() takes mask modifiers made by this library');
    await expectInputError(() => not(null as never), 'not() takes mask modifiers, got null');
    await expectInputError(() => compose(softcap(2), forgedScore() as never), 'compose() takes score modifiers made by this library');
  });

  it('blockMask checks its shape too', async () => {
    await expectInputError(() => attn.blockMask(causal(), null as never), 'blockMask shape must be a plain object', 'null');
    await expectInputError(() => attn.blockMask(causal(), { batch: 1, heads: 1, seqQ: 8 } as never), 'shape.seqK is missing');
    await expectInputError(() => attn.blockMask(causal(), { batch: 1, heads: 1, seqQ: 8, seqK: 8, seqk: 8 } as never), "(did you mean 'seqK'?)");
    expect((await attn.blockMask(causal(), { batch: 1, heads: 1, seqQ: 8, seqK: 8 })).toString()).toContain('BlockMask causal');
  });

  it.each<Row<() => object>>([
    ['score', () => ({ score: slidingWindow(4) }), 'score must be a score modifier', 'a mask modifier (slidingWindow(4))'],
    ['mask', () => ({ mask: softcap(5) }), 'mask must be a mask modifier', 'a score modifier (softcap(5))'],
    ['sinks', () => ({ sinks: causal() }), 'sinks must come from learnedSinks(logits)', 'a mask modifier (causal)'],
  ])('a modifier of the wrong kind as %s', async (_name, opts, ...fragments) => {
    await expectInputError(() => forward(opts()), ...fragments);
    await expectInputError(() => backward(opts()), ...fragments);
    await expectInputError(() => and(softcap(2) as never), 'and() takes mask modifiers, got a score modifier (softcap(2))');
  });
});

describe('constant modifiers: JS control flow on traced values', () => {
  it.each([
    [
      'if (q.lt(kv)) return false',
      () =>
        maskMod((_b, _h, q, kv) => {
          if (q.lt(kv)) return false;
          return true;
        }),
      'always false',
    ],
    ['q.lt(kv) ? false : true', () => maskMod((_b, _h, q, kv) => (q.lt(kv) ? false : true)), 'always false'],
    ['!kv.le(q)', () => maskMod((_b, _h, q, kv) => !kv.le(q)), 'always false'],
    ['a constant mask', () => maskMod(() => true), 'always true'],
    ['a mask reading only a table', () => maskMod((_b, _h, _q, _kv, t) => t.on!.at(0).gt(0), { on: [1] }), 'reads only constants and tables'],
    [
      'if (kv.gt(q)) return -1e4 (score)',
      () =>
        scoreMod((s, _b, _h, q, kv) => {
          if (kv.gt(q)) return -1e4;
          return s;
        }),
      'always -10000',
    ],
    ['a constant score', () => scoreMod(() => 0), 'always 0'],
  ])('%s is refused when the modifier is made, explaining why', (_name, make, always) => {
    const e = (() => {
      try {
        make();
      } catch (x) {
        return x as Error;
      }
      throw new Error('expected an error');
    })();
    expect(e).toBeInstanceOf(AttentionInputError);
    for (const f of ['does not depend on', always, 'JavaScript control flow', 'where(cond, a, b)', '.and(), .or(), .not()']) expect(e.message).toContain(f);
  });

  it('the traced alternatives are accepted, and mean what the JS meant', () => {
    expect(
      maskPicture(
        maskMod((_b, _h, q, kv) => q.lt(kv).not()),
        3,
      ),
    ).toBe(maskPicture(causal(), 3));
    expect(
      maskPicture(
        maskMod((_b, _h, q, kv) => where(q.lt(kv), false, true)),
        3,
      ),
    ).toBe(maskPicture(causal(), 3));
    expect(isModifier(scoreMod((s, _b, _h, q, kv) => where(kv.gt(q), -1e4, s)))).toBe(true);
  });

  it('no built-in is constant', () => {
    const all = [
      causal(),
      slidingWindow(3),
      slidingWindow(3, { causal: false }),
      alibi([1]),
      softcap(2),
      documentMask([0, 1]),
      documentMask([0, 1], 2),
      prefixLM(2),
      keyPadding([2]),
      relativeBias([0, 1, 2]),
      relativeBias([0, 1, 2, 3, 4, 5], 2),
      streamingSinks(1, 2),
    ];
    for (const m of all) expect(isModifier(m), m.label).toBe(true);
  });
});

describe('WebGPU: the same error, before any GPU work', () => {
  it('a forged mask and an unknown key fail before the backend runs or submits anything', async () => {
    const gpu = await createAttention({ backend: 'webgpu' });
    try {
      const t = gpu.tensor(new Float32Array(2 * 8 * 32), [1, 2, 8, 32]);
      const forwardSpy = vi.spyOn(gpu.impl, 'forward');
      const backwardSpy = vi.spyOn(gpu.impl, 'backward');
      const submit = vi.spyOn(gpu.device!.queue, 'submit');
      const cpuError = await errorOf(() => forward({ mask: forgedMask() }));
      const gpuError = await errorOf(() => gpu.forward(t, t, t, { mask: forgedMask() as never }));
      expect(gpuError).toBeInstanceOf(AttentionInputError);
      expect(gpuError.message).toBe(cpuError.message);
      await expectInputError(() => gpu.forward(t, t, t, { casual: true } as never), "did you mean 'causal'");
      await expectInputError(() => gpu.backward(t, { q: t, k: t, v: t, out: t, lse: t }, { sinks: forgedSinks() } as never), 'learnedSinks');
      await expectInputError(() => gpu.blockMask(forgedMask() as never, { batch: 1, heads: 1, seqQ: 8, seqK: 8 }), 'made by this library');
      expect(forwardSpy).not.toHaveBeenCalled();
      expect(backwardSpy).not.toHaveBeenCalled();
      expect(submit).not.toHaveBeenCalled();
    } finally {
      vi.restoreAllMocks();
      gpu.destroy();
    }
  });
});
