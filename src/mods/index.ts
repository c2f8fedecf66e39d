export * from './ir.js';
export * from './trace.js';
export * from './modifier.js';
export * from './emit-wgsl.js';
export * from './emit-js.js';
export * from './builtins.js';
export * from './picture.js';
