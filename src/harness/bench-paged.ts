/*
 * The paged shape of `bench --paged PAGE_SIZE`: the same random K and V as the
 * contiguous case, scattered over shuffled pages of a pool ([numPages, Hkv,
 * pageSize, D], kernels/paged.ts), so paged and contiguous decoding can be timed
 * side by side on the same keys and checked against the same reference.
 */
import type { PagedKeys } from '../api/paged-call.js';
import type { HostTensor } from '../reference/forward.js';

/** Pools holding k and v ([B, Hkv, Nk, D] 'bhnd') on shuffled pages of `pageSize` rows, and the table that finds them. */
export function pagedBenchInputs(k: HostTensor, v: HostTensor, pageSize: number, rand: () => number): { k: HostTensor; v: HostTensor; pages: PagedKeys } {
  const { batch: B, heads: H, seq: N, headDim: D } = k.shape;
  const per = Math.ceil(N / pageSize);
  const numPages = B * per;
  const ids = Array.from({ length: numPages }, (_, i) => i);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  const table = Array.from({ length: B }, (_, b) => ids.slice(b * per, (b + 1) * per));
  const pool = (src: HostTensor): HostTensor => {
    const data = new Float32Array(numPages * H * pageSize * D);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let r = 0; r < N; r++) {
          const from = ((b * H + h) * N + r) * D;
          data.set(src.data.subarray(from, from + D), ((table[b]![Math.floor(r / pageSize)]! * H + h) * pageSize + (r % pageSize)) * D);
        }
    return { data, shape: { batch: numPages, heads: H, seq: pageSize, headDim: D }, layout: 'bhnd' };
  };
  return { k: pool(k), v: pool(v), pages: { table, lengths: N } };
}
