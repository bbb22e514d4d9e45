export * from './signatures.js';
export * from './request.js';
export * from './params.js';
export * from './url.js';
export * from './event.js';
export * from './verify.js';
export * from './idempotency.js';
export * from './receiver.js';
