import { installCommandLog } from './lib/command-log';
import type { NodeAPI } from './lib/red';

/** What a plugin's runtime file gets beyond a node module's API. */
interface PluginAPI {
  plugins: { registerPlugin(id: string, definition: { type: string; onadd?: () => void }): void };
}

/**
 * The Commands sidebar plugin's runtime: the editor's tab (supersim-sidebar.html) reads the command
 * log this installs, through its admin endpoints and comms topic. The nodes install the same log too.
 */
export default function register(RED: NodeAPI & PluginAPI): void {
  RED.plugins.registerPlugin('supersim-sidebar', { type: 'supersim-sidebar' });
  installCommandLog(RED);
}
