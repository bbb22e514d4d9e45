import { isCommandStatus } from '../commands';
import type { CommandStatus } from '../shared';
import { DEFAULT_MAX_COMMANDS } from './state';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The statuses to pass, and the names given that are not statuses (for a warning). */
export function parseStatuses(value: unknown): { statuses: CommandStatus[]; unknown: string[] } {
  // Hand-edited flows may hold one name or a comma-separated list rather than an array.
  const list = Array.isArray(value) ? value : typeof value === 'string' && value.trim() !== '' ? value.split(',') : [];
  const statuses: CommandStatus[] = [];
  const unknown: string[] = [];
  for (const item of list) {
    const name = typeof item === 'string' ? item.trim() : item;
    if (isCommandStatus(name)) {
      if (!statuses.includes(name)) statuses.push(name);
    } else {
      unknown.push(String(item));
    }
  }
  return { statuses, unknown };
}

/** The default when blank, the number when it is a whole number >= 1, else undefined (for a warning). */
export function parseMaxCommands(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return DEFAULT_MAX_COMMANDS;
  const number = Number(value);
  return Number.isSafeInteger(number) && number >= 1 ? number : undefined;
}

/** The context stores the runtime knows, and which one takes names it does not know. */
export function contextStores(settings: { contextStorage?: unknown }): { stores: string[]; fallback: string } {
  const storage = settings.contextStorage;
  const names = isObject(storage) ? Object.keys(storage).filter((name) => name !== '_') : [];
  // The same rules as Node-RED's context/index.js load(): no stores configured means one memory store.
  if (names.length === 0) return { stores: ['memory'], fallback: 'memory' };
  const alias = isObject(storage) ? storage.default : undefined;
  const stores = names.filter((name) => !(name === 'default' && typeof alias === 'string'));
  const fallback = typeof alias === 'string' ? alias : names.includes('default') ? 'default' : stores[0];
  return { stores, fallback };
}
