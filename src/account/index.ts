export * from './account';
export * from './connection-test';
export * from './picker';
export * from './webhook-secret';
