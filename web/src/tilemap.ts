/*
 * Tile maps: a grid of (Q tile, K/V tile) cells drawn on a canvas, one colour
 * per state — empty (never visited), partial (the mask is evaluated per
 * element) and full (visited, no mask work) — with the counts under it. The
 * states come from the library's BlockMask classification.
 */
import { el } from './dom.js';
import type { BlockMask } from './lib.js';

const COLOURS = ['#eef0f4', '#f0a35e', '#2f6db5'] as const; // empty, partial, full
const NAMES = ['empty', 'partial', 'full'] as const;

/** Largest map side in CSS pixels. */
const MAX_SIDE = 300;

/**
 * A canvas map of `states` (row-major nQ × nK, values 0 empty / 1 partial / 2 full), titled,
 * with a legend and counts. `data-*` attributes carry the counts for tests.
 */
export function tileMap(title: string, states: ArrayLike<number>, nQ: number, nK: number, names: readonly string[] = NAMES): HTMLElement {
  const cell = Math.max(1, Math.min(24, Math.floor(MAX_SIDE / Math.max(nQ, nK))));
  const canvas = el('canvas', { width: String(nK * cell), height: String(nQ * cell), role: 'img', 'aria-label': title });
  const ctx = canvas.getContext('2d');
  const counts = [0, 0, 0];
  for (let i = 0; i < nQ; i++)
    for (let j = 0; j < nK; j++) {
      const s = states[i * nK + j]!;
      counts[s]!++;
      if (!ctx) continue;
      ctx.fillStyle = COLOURS[s as 0 | 1 | 2];
      // A 1-pixel gap between cells while cells are big enough to show it.
      ctx.fillRect(j * cell, i * cell, cell > 3 ? cell - 1 : cell, cell > 3 ? cell - 1 : cell);
    }
  const legend = el(
    'p',
    { class: 'legend' },
    ...[0, 1, 2]
      .filter((s) => names[s])
      .flatMap((s) => [el('span', { class: 'swatch', style: `background:${COLOURS[s as 0 | 1 | 2]}` }), ` ${names[s]} ${counts[s]}  `]),
  );
  const fig = el('figure', { class: 'tilemap' }, el('figcaption', {}, title), canvas, legend);
  fig.dataset.empty = String(counts[0]);
  fig.dataset.partial = String(counts[1]);
  fig.dataset.full = String(counts[2]);
  return fig;
}

/** The map of batch 0, head 0 of a BlockMask. */
export function blockMaskMap(title: string, bm: BlockMask): HTMLElement {
  return tileMap(`${title}: ${bm.nQ}×${bm.nK} tiles of ${bm.rowsPerTile}×${bm.keysPerTile}`, bm.states.subarray(0, bm.nQ * bm.nK), bm.nQ, bm.nK);
}
