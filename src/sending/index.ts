export * from './requests';
export * from './create';
