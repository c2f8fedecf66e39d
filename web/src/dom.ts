/*
 * Tiny DOM helpers for the demo page: element creation with attributes and
 * children, and number formatting. No framework: the page is three views.
 */

import { SUPPORTED_HEAD_DIMS } from './lib.js';

type Child = Node | string | null | undefined | false;

/** `<tag attrs…>children</tag>`; attributes starting with "on" are not supported (use addEventListener). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) if (c) e.append(c);
  return e;
}

/** A labelled <input>, returned with its label wrapper. */
export function field(label: string, attrs: Record<string, string>): { wrap: HTMLLabelElement; input: HTMLInputElement } {
  const input = el('input', attrs);
  return { wrap: el('label', {}, `${label} `, input), input };
}

/** A labelled <select> of the head dims the library supports (64 selected). */
export function headDimSelect(id: string): { wrap: HTMLLabelElement; input: HTMLSelectElement } {
  const input = el(
    'select',
    { id },
    ...SUPPORTED_HEAD_DIMS.map((d) => el('option', d === 64 ? { value: String(d), selected: '' } : { value: String(d) }, String(d))),
  );
  return { wrap: el('label', {}, 'd ', input), input };
}

/** A number with `digits` significant digits, plain (no exponent) where that stays short. */
export function fmt(x: number, digits = 6): string {
  if (!Number.isFinite(x)) return String(x);
  const s = x.toPrecision(digits);
  return s.includes('e') ? s : String(Number(s));
}

/** Bytes as B / KiB / MiB / GiB. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)} ${units[i]}`;
}

/** A <table> from a header row and body rows. */
export function table(head: string[], rows: (string | Node)[][], attrs: Record<string, string> = {}): HTMLTableElement {
  return el(
    'table',
    attrs,
    el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c))))),
  );
}
