export * from './text';
export * from './vocabulary';
export { OldestFirstMap } from './oldest-first';
export * from './one-per';
