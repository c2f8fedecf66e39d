export * from './forward.js';
export * from './naive.js';
