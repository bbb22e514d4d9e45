export * from './errors.js';
export * from './limits.js';
export * from './validate.js';
export * from './encoding.js';
export * from './lifecycle.js';
