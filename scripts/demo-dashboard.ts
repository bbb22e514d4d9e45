/**
 * The dashboard of `npm start`: the example extras/Device control panel (Dashboard 2).json deployed as
 * a second tab of the demo, on the demo's simulator account, when Dashboard 2 can be found in this
 * checkout (a devDependency, there after `npm ci`). Without it the demo starts without the tab and
 * says how to get it: deploying ui- nodes of an unknown type would stop every flow.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const DASHBOARD_PACKAGE = '@flowfuse/node-red-dashboard';
export const DASHBOARD_EXAMPLE_FILE = 'Device control panel (Dashboard 2).json';
export const PANEL_TAB_LABEL = 'Device control panel';
/**
 * The panel's ids are the example's with this start, so that importing the example file into the
 * demo never meets an id that exists already (Node-RED would ask "import copy or replace?").
 */
export const PANEL_ID_PREFIX = 'a1d3da';

/** What the demo prints when Dashboard 2 is missing. */
export const DASHBOARD_MISSING_HINT =
  `Dashboard 2 (${DASHBOARD_PACKAGE}) is not installed in this checkout, so the demo has no dashboard: ` +
  'run "npm ci" (it is a devDependency) and "npm start" again for the Device control panel at /dashboard.';

export interface FlowNode {
  id: string;
  type: string;
  z?: string;
  name?: string;
  wires?: string[][];
  [key: string]: unknown;
}

export interface PanelOptions {
  /** The demo's account node: the panel's send node uses it, and the example's own account is left out. */
  accountId: string;
  /** The simulated SIM the panel's button sends to. */
  sim: string;
  /** Where the dashboard is served, for the tab's comment. */
  dashboardUrl: string;
}

/** Dashboard 2's package directory as this checkout resolves it, or undefined when it is not installed. */
export function dashboardDirectory(projectRoot: string): string | undefined {
  try {
    return dirname(require.resolve(`${DASHBOARD_PACKAGE}/package.json`, { paths: [projectRoot] }));
  } catch {
    return undefined;
  }
}

/**
 * Makes Dashboard 2 a module of the demo's Node-RED: a link to this checkout's copy, whose own
 * dependencies resolve from the checkout as they do for tests. A copy the user installed there
 * (`npm install` in the user directory) is left as it is.
 */
export function linkDashboard(userDir: string, dashboardDir: string): void {
  const target = join(userDir, 'node_modules', ...DASHBOARD_PACKAGE.split('/'));
  let linked: string | undefined;
  try {
    if (lstatSync(target).isSymbolicLink()) linked = readlinkSync(target);
    else return;
  } catch {
    // absent: linked below
  }
  if (linked !== undefined) {
    if (resolve(dirname(target), linked) === resolve(dashboardDir)) return;
    rmSync(target);
  }
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(resolve(dashboardDir), target, 'dir');
}

/** The URL of the dashboard a ui-base node serves, under Node-RED's httpNodeRoot `/`. */
export function dashboardUrlOf(example: FlowNode[], nodeRedUrl: string): string {
  const base = example.find((node) => node.type === 'ui-base');
  const path = typeof base?.path === 'string' && base.path !== '' ? base.path : '/dashboard';
  return nodeRedUrl.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
}

/**
 * The example as the demo's second tab: its ids moved to PANEL_ID_PREFIX, its send nodes on the
 * demo's account and SIM, its first comment about the demo instead of installing Dashboard 2.
 */
export function panelFlow(example: FlowNode[], options: PanelOptions): FlowNode[] {
  const account = example.find((node) => node.type === 'supersim-account');
  const renamed = new Map<string, string>();
  for (const node of example) {
    if (node === account) continue;
    if (node.id.length <= PANEL_ID_PREFIX.length) throw new Error(`the dashboard example's node id ${node.id} is too short to move`);
    renamed.set(node.id, PANEL_ID_PREFIX + node.id.slice(PANEL_ID_PREFIX.length));
  }
  if (account) renamed.set(account.id, options.accountId);
  // Ids are whole string values wherever they are referred to (z, wires, group, page, ui, theme, account, scope).
  const renameIds = (value: unknown): unknown => {
    if (typeof value === 'string') return renamed.get(value) ?? value;
    if (Array.isArray(value)) return value.map(renameIds);
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, renameIds(inner)]));
    return value;
  };
  const flow = example.filter((node) => node !== account).map((node) => renameIds(node) as FlowNode);
  const tab = flow.find((node) => node.type === 'tab');
  if (!tab) throw new Error('the dashboard example has no tab');
  Object.assign(tab, {
    label: PANEL_TAB_LABEL,
    info: `The example \`extras/${DASHBOARD_EXAMPLE_FILE}\` of node-red-contrib-supersim on the demo's simulator: open ${options.dashboardUrl}.`,
  });
  for (const node of flow) {
    if (node.type === 'supersim-ip-command' || node.type === 'supersim-sms-command') Object.assign(node, { sim: options.sim, name: `send to ${options.sim}` });
  }
  const [first] = flow.filter((node) => node.type === 'comment').sort((a, b) => Number(a.y) - Number(b.y));
  if (first) {
    Object.assign(first, {
      name: `Open ${options.dashboardUrl} and press the button: it asks ${options.sim} for its status`,
      info:
        `The example *${DASHBOARD_EXAMPLE_FILE.replace(/\.json$/, '')}*, deployed by \`npm start\` with Dashboard 2 installed, ` +
        `its IP Command node on the account **Simulator (KORE)** and the SIM \`${options.sim}\`, whose simulated device answers ` +
        '`ack:<what it got>`. The table shows one row per command: what was sent, each status it reached and the answer, ' +
        "which the IP Command node sends on its output 3.\n\nIn your own Node-RED, install Dashboard 2 first and import the example's file " +
        `(\`node_modules/node-red-contrib-supersim/extras/${DASHBOARD_EXAMPLE_FILE}\`); its first comment says what to fill in.`,
    });
  }
  return flow;
}

export interface DemoDashboardOptions {
  userDir: string;
  projectRoot: string;
  /** The installed package, whose extras/ holds the example as users get it. */
  packageDir: string;
  accountId: string;
  sim: string;
  nodeRedUrl: string;
  /** false: no dashboard even when Dashboard 2 is there; default: when it is. */
  enabled?: boolean;
  /** Where Dashboard 2 is; default dashboardDirectory(projectRoot). */
  dashboardDir?: string | null;
}

export interface DemoDashboard {
  /** The panel's nodes, to deploy beside the demo's; none without Dashboard 2. */
  flows: FlowNode[];
  /** The dashboard's address; undefined without Dashboard 2. */
  url?: string;
  /** One line for the terminal: where the dashboard is, or how to get it. */
  note: string;
}

/** Links Dashboard 2 into the demo's user directory and builds the panel tab, when Dashboard 2 is there. */
export function demoDashboard(options: DemoDashboardOptions): DemoDashboard {
  if (options.enabled === false) return { flows: [], note: 'The demo runs without its dashboard, as asked.' };
  const dashboardDir = options.dashboardDir === undefined ? dashboardDirectory(options.projectRoot) : (options.dashboardDir ?? undefined);
  if (dashboardDir === undefined || !existsSync(join(dashboardDir, 'package.json'))) return { flows: [], note: DASHBOARD_MISSING_HINT };
  const example = JSON.parse(readFileSync(join(options.packageDir, 'extras', DASHBOARD_EXAMPLE_FILE), 'utf8')) as FlowNode[];
  linkDashboard(options.userDir, dashboardDir);
  const url = dashboardUrlOf(example, options.nodeRedUrl);
  return { flows: panelFlow(example, { accountId: options.accountId, sim: options.sim, dashboardUrl: url }), url, note: `The Device control panel (Dashboard 2) will be at ${url}` };
}
