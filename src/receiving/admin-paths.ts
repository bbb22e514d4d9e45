/**
 * Which webhook paths Node-RED's own admin API (the editor and its HTTP API) serves. A webhook on such
 * a path sits in front of the admin app's body parsers (to keep the exact bytes providers sign), so it
 * would take the bodies of the editor's own logins and deploys, and only editing flows.json on disk
 * would recover. The check reads the admin app's router, the way Express matches a request, where
 * Express lets it; see EDITOR_PATHS for where it does not.
 */
import { collapseRuns, trimTrailing } from '../shared';

/** The parts of an Express 4 router layer the check reads (Node-RED 4 and 5 both ship Express 4). */
interface LayerLike {
  handle?: unknown;
  route?: { path?: unknown };
  /** path-to-regexp 0.1, with flags for `use('/')` and `'*'`. */
  regexp?: RegExp & { fast_slash?: boolean; fast_star?: boolean };
}

/** The parts of an Express app the check reads: its router and where it is mounted. */
export interface AppLike {
  parent?: AppLike;
  mountpath?: string | string[];
  _router?: { stack?: LayerLike[] };
}

/**
 * What the editor and the admin API serve in Node-RED 4 and 5 (@node-red/editor-api, and the
 * /editor-libs of its later releases), relative to httpAdminRoot. Express mounts them as sub-apps, and
 * a mounted app's routes cannot be read from its parent's router, so they are named here: each entry
 * stands for itself and everything under it.
 */
export const EDITOR_PATHS: readonly string[] = [
  '/auth',
  '/comms',
  '/context',
  '/credentials',
  '/diagnostics',
  '/editor-libs',
  '/favicon.ico',
  '/flow',
  '/flows',
  '/icons',
  '/library',
  '/locales',
  '/nodes',
  '/plugins',
  '/projects',
  '/red',
  '/resources',
  '/settings',
  '/theme',
  '/types',
  '/vendor',
];

/** Deeper than any Node-RED nests its routers; a bound all the same, as the stack is not ours. */
const MAX_DEPTH = 8;

/** A path as routers compare it: one slash between segments, none at the end. */
function normalised(path: string): string {
  const cleaned = trimTrailing(collapseRuns(`/${path}`, '/'), '/');
  return cleaned === '' ? '/' : cleaned;
}

function rootOf(app: AppLike): AppLike {
  let current = app;
  while (current.parent) current = current.parent;
  return current;
}

/** Where an app's paths start on the server: the mount paths of it and every app above it. */
function mountPrefixOf(app: AppLike): string {
  const parts: string[] = [];
  for (let current: AppLike | undefined = app; current?.parent; current = current.parent) {
    const mount = Array.isArray(current.mountpath) ? current.mountpath[0] : current.mountpath;
    parts.unshift(typeof mount === 'string' ? mount : '/');
  }
  return normalised(parts.join('/'));
}

/** `path` relative to `prefix`, or undefined when it is not under it; compared as Express does, ignoring case. */
function under(path: string, prefix: string): string | undefined {
  if (prefix === '/') return path;
  const lower = path.toLowerCase();
  const lowerPrefix = prefix.toLowerCase();
  if (lower === lowerPrefix) return '/';
  return lower.startsWith(`${lowerPrefix}/`) ? path.slice(prefix.length) : undefined;
}

/** An app's router stack; an Express that keeps it elsewhere leaves EDITOR_PATHS alone to decide. */
function stackOf(app: AppLike): LayerLike[] | undefined {
  return Array.isArray(app._router?.stack) ? app._router.stack : undefined;
}

/** A router's own stack (express.Router() is a function with one). */
function nestedStackOf(handle: unknown): LayerLike[] | undefined {
  const stack = typeof handle === 'function' ? (handle as { stack?: unknown }).stack : undefined;
  return Array.isArray(stack) ? (stack as LayerLike[]) : undefined;
}

function isRootLayer(layer: LayerLike): boolean {
  return layer.regexp?.fast_slash === true;
}

/** How much of `path` the layer matches (its mount path for middleware), or undefined when it does not. */
function matchedLength(layer: LayerLike, path: string): number | undefined {
  if (isRootLayer(layer) || layer.regexp?.fast_star === true) return 0;
  if (!(layer.regexp instanceof RegExp)) return undefined;
  // Not layer.match(), which records what it matched on the layer, where Express reads it per request.
  // A fresh copy, so that a global or sticky flag carries no lastIndex from one call to the next.
  const found = new RegExp(layer.regexp.source, layer.regexp.flags.replace(/[gy]/g, '')).exec(path);
  return found ? found[0].length : undefined;
}

/** What in `stack` answers `path`, described for a person, or undefined. */
function servedIn(stack: LayerLike[], path: string, mountedAt: string, depth: number): string | undefined {
  for (const layer of stack) {
    const length = matchedLength(layer, path);
    if (length === undefined) continue;
    if (layer.route) {
      return `the route ${normalised(mountedAt + (typeof layer.route.path === 'string' ? layer.route.path : path))}`;
    }
    const nested = nestedStackOf(layer.handle);
    const prefix = path.slice(0, length);
    if (nested && depth < MAX_DEPTH) {
      const found = servedIn(nested, path.slice(length) || '/', mountedAt + prefix, depth + 1);
      if (found) return found;
      continue;
    }
    // Middleware at a path of its own (a mounted app, static files) answers for all under it, as far as
    // anyone can tell from outside; middleware for every path (body parsers, CORS) answers for none.
    if (!isRootLayer(layer) && length > 0) return `what is mounted at ${normalised(mountedAt + prefix)}`;
  }
  return undefined;
}

export interface AdminApps {
  /** Node-RED's `RED.httpAdmin`: the app nodes add their admin routes to, inside the admin API. */
  httpAdmin: AppLike;
  /** Node-RED's `RED.httpNode`, where webhooks are served. */
  httpNode: AppLike;
}

/**
 * What of Node-RED's admin API answers at the webhook path `path` (relative to httpNodeRoot), in words
 * for an error message; undefined when nothing does, or when the admin API and the HTTP nodes are not
 * served by the same server (then they cannot meet).
 */
export function adminRouteAt(apps: AdminApps, path: string): string | undefined {
  const root = rootOf(apps.httpNode);
  if (rootOf(apps.httpAdmin) !== root) return undefined;
  const serverPath = normalised(`${mountPrefixOf(apps.httpNode)}/${path}`);
  // The admin apps from the nodes' own up to the one the server mounts at httpAdminRoot.
  const chain: AppLike[] = [];
  for (let app: AppLike | undefined = apps.httpAdmin; app && app !== root; app = app.parent) chain.push(app);
  const outermost = chain[chain.length - 1];
  if (outermost !== undefined) {
    const relative = under(serverPath, mountPrefixOf(outermost));
    if (relative !== undefined) {
      if (relative === '/') return "the editor's own page";
      const lower = relative.toLowerCase();
      const editorPath = EDITOR_PATHS.find((reserved) => lower === reserved || lower.startsWith(`${reserved}/`));
      if (editorPath !== undefined) return `the editor's ${normalised(mountPrefixOf(outermost) + editorPath)}`;
    }
  }
  for (const app of chain) {
    const mountedAt = mountPrefixOf(app);
    const relative = under(serverPath, mountedAt);
    const stack = relative === undefined ? undefined : stackOf(app);
    if (relative === undefined || stack === undefined) continue;
    const found = servedIn(stack, relative, mountedAt === '/' ? '' : mountedAt, 0);
    if (found) return found;
  }
  return undefined;
}
