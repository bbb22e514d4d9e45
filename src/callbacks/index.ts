export * from './signatures';
export * from './request';
export * from './params';
export * from './url';
export * from './event';
export * from './verify';
export * from './idempotency';
export * from './receiver';
