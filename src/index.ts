/**
 * The package's code that needs no Node-RED: the API client (usable from any Node.js program) and the
 * simulator of the APIs and devices.
 */
export * from './api';
export { Simulator, SimulatedDevice, FaultInjector } from './simulator';
export type { SimulatorOptions, SimulatedSimOptions, SimulatorMode } from './simulator';
