export { Simulator } from './simulator';
export { SimulatedDevice } from './device';
export { FaultInjector } from './faults';
export { generateSims } from './generate';
export type { AttachmentChange, SleepSchedule } from './attachment';
export type { DeviceEvents } from './device';
export type {
  FaultKind,
  FaultRule,
  FaultTarget,
  GeneratedSimsOptions,
  IpReceiveInfo,
  ReceivedItem,
  SimulatedFleetOptions,
  SimulatedSimOptions,
  SimulatedSimStatus,
  SimulatorCredentials,
  SimulatorMode,
  SimulatorOptions,
  SimulatorStats,
  SimulatorTiming,
} from './types';
