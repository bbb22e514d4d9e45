/**
 * The package's API client, usable from any Node.js program without Node-RED. The simulator of the
 * APIs and devices has its own entry: `node-red-contrib-supersim/simulator`.
 */
export * from './api';
