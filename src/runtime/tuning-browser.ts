/*
 * The browser build's stand-in for tuning-node.ts (swapped in by package.json's
 * "browser" field): a page has no disk cache, so tuned tiles live only in the
 * runner's memory, as they always did outside Node. Typed against the Node
 * module so that the two cannot drift apart.
 */
import type { openTuningStore as openNodeStore } from './tuning-node.js';

/** No store in a browser: loading finds no tuned tiles, saving is a no-op. */
export const openTuningStore: typeof openNodeStore = async () => undefined;
