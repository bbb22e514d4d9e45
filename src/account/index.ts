export * from './account';
export * from './connection-test';
