export * from './spec.js';
export * from './params.js';
export * from './forward.js';
export * from './naive.js';
export * from './tiles.js';
export * from './probe.js';
