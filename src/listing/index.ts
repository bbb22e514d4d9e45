export * from './commands';
export * from './errors';
export * from './parts';
export * from './sims';
export * from './output';
export * from './read-ahead';
