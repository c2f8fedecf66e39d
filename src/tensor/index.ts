export * from './shape.js';
export * from './errors.js';
export * from './validate.js';
