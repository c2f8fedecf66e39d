/*
 * The page's one Attention, created on first use with backend 'auto': WebGPU
 * where the browser offers an adapter, else the CPU backend. The header line
 * says which, and why the CPU when it is the CPU — a clear message instead of
 * a page that silently runs slower.
 */
import { createAttention, type Attention } from './lib.js';

let pending: Promise<Attention> | undefined;

/** Why WebGPU is not in use, for people: undefined when it is. */
export function webgpuMissing(attn: Attention): string | undefined {
  if (attn.backend === 'webgpu') return undefined;
  if (!('gpu' in navigator)) return 'This browser has no WebGPU (navigator.gpu is missing), so the page runs on the CPU backend.';
  return `WebGPU is present but gave no usable adapter (${attn.fallbackReason ?? 'no reason given'}), so the page runs on the CPU backend.`;
}

/** One line naming the backend and adapter. */
export function describeBackend(attn: Attention): string {
  const a = attn.adapter;
  const name = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ') || 'unnamed adapter';
  return attn.backend === 'webgpu' ? `backend: WebGPU (${name})` : 'backend: CPU (no WebGPU adapter)';
}

/** The shared Attention; the first call creates it and updates the header's backend line. */
export function attention(): Promise<Attention> {
  pending ??= createAttention({ backend: 'auto' }).then((attn) => {
    const line = document.getElementById('backend-line');
    if (line) {
      line.textContent = describeBackend(attn);
      line.dataset.backend = attn.backend;
    }
    return attn;
  });
  return pending;
}
