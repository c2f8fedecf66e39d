export * from './forward.js';
