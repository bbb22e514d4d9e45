export * from './path';
export * from './message';
export * from './refusals';
export * from './shelf';
export * from './fleet';
export * from './admin-paths';
export * from './wireless-sims';
