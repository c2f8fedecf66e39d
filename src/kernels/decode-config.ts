/*
 * A decode pipeline's config (kernels/decode.ts) and what follows from it: the sizes its
 * loops and arrays take, and its workgroup memory, which the program checks before it
 * picks the keys per range.
 */

/**
 * A forced decode tile (tuning and experiments; the default is planned per call):
 * invocations per workgroup, lanes per key row in the S phase, and the bytes of loads
 * each invocation keeps in flight per phase.
 */
export interface DecodeTile {
  readonly threads: number;
  readonly lanes: number;
  readonly loadBytes: number;
}

/** What one decode pipeline is built for. */
export interface DecodeConfig {
  readonly headDim: number;
  /** Query rows per head in the call (Nq). */
  readonly seqQ: number;
  /** Query heads per K/V head, stacked in the workgroup's rows (R = pack · seqQ). */
  readonly pack: number;
  readonly causal: boolean;
  /** f16 Q/K/V (packed pairs, f32 arithmetic). */
  readonly half: boolean;
  /** Invocations per workgroup (T). */
  readonly threads: number;
  /** Lanes per key in the S phase (L): a power of two within the subgroup, or 1 without subgroups. */
  readonly lanes: number;
  /** Keys each group of L lanes loads at once (KA); a range holds C = T / L · KA keys. */
  readonly keysAhead: number;
  /** Rows whose P·V sums meet in workgroup memory at once (divides R). */
  readonly roundRows: number;
  /** Where a position table sits in `aux` (mods/positions.ts), if the call has one. */
  readonly positionsAt?: number;
  /** Paged K/V (kernels/paged.ts): rows per page. */
  readonly pageSize?: number;
}

/** Sizes the kernel derives from its config. */
export function decodeSizes(cfg: DecodeConfig) {
  const d4 = cfg.headDim / 4;
  const rows = cfg.pack * cfg.seqQ;
  const units = Math.ceil(d4 / cfg.lanes); // vec4 columns of a key row per lane (S phase)
  const groups = cfg.threads / cfg.lanes; // lane groups (S phase)
  const keys = groups * cfg.keysAhead; // C: keys a range holds at most
  const keyGroups = Math.floor(cfg.threads / d4); // KG: invocation rows of the P·V phase
  const perGroup = Math.ceil(keys / keyGroups); // V rows each P·V invocation loads
  const { width, vecs } = scoreVectors(rows);
  return { d4, rows, units, groups, keys, keyGroups, perGroup, width, vecs };
}

/**
 * How a key's scores lie in workgroup memory (key-major, so the P·V phase reads every
 * row's P of a key in `vecs` loads): `vecs` vectors of `width` rows (1, 2 or 4; the
 * last vector padded past R with rows no phase reads as real ones).
 */
export function scoreVectors(rows: number): { width: number; vecs: number } {
  const width = rows >= 3 ? 4 : rows;
  return { width, vecs: Math.ceil(rows / width) };
}

/** Workgroup bytes of a decode config: Q rows, scores (padded rows: scoreVectors), the P·V meeting place, row sums and maxima. */
export function decodeWorkgroupBytes(cfg: DecodeConfig): number {
  const { d4, rows, keys, keyGroups, width, vecs } = decodeSizes(cfg);
  const up = (bytes: number) => Math.ceil(bytes / 16) * 16; // each array starts 16-byte aligned
  return up(rows * d4 * 16) + up(vecs * width * keys * 4) + up(keyGroups * cfg.roundRows * d4 * 16) + up(keyGroups * rows * 4) + up(rows * 4);
}
