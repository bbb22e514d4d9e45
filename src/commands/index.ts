export * from './errors';
export * from './limits';
export * from './validate';
export * from './encoding';
export * from './lifecycle';
