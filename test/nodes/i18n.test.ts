/**
 * Every message key the editor files and the runtime use exists in the node's en-US catalogue, and
 * every node with an editor has help. Node-RED shows a missing key as the raw key, so a typo here
 * would reach users as "supersim-ip-command.label.sim" in a form or a status.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const NODES = join(ROOT, 'nodes');
const LOCALES = join(NODES, 'locales', 'en-US');
const MODULE = 'node-red-contrib-supersim';
const CORE_MESSAGES = JSON.parse(
  readFileSync(require.resolve('@node-red/nodes/locales/en-US/messages.json'), 'utf8'),
) as Record<string, unknown>;

interface NodeSet {
  type: string;
  /** The file name shared by the .ts, .html and the locale files, e.g. "supersim-ip-command". */
  name: string;
}

/** The node sets package.json declares: `node-red.nodes` maps a type to dist/nodes/<name>.js. */
function nodeSets(): NodeSet[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { 'node-red'?: { nodes?: Record<string, string> } };
  return Object.entries(pkg['node-red']?.nodes ?? {}).map(([type, file]) => ({ type, name: basename(file, '.js') }));
}

function lookup(catalogue: unknown, key: string): unknown {
  let current = catalogue;
  for (const part of key.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

const catalogues = new Map<string, Record<string, unknown>>();
function catalogue(name: string): Record<string, unknown> {
  let loaded = catalogues.get(name);
  if (!loaded) {
    const file = join(LOCALES, `${name}.json`);
    loaded = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
    catalogues.set(name, loaded);
  }
  return loaded;
}

/**
 * Whether `key` (as written in a file of node set `name`) names a string: "node-red:x" in core's
 * catalogue, "node-red-contrib-supersim/<set>:x" in that set's, and a bare key in the set's own.
 */
function missing(name: string, key: string): string | undefined {
  const colon = key.indexOf(':');
  let where: Record<string, unknown>;
  let path = key;
  if (colon === -1) {
    where = catalogue(name);
  } else {
    const namespace = key.slice(0, colon);
    path = key.slice(colon + 1);
    if (namespace === 'node-red') where = CORE_MESSAGES;
    else if (namespace.startsWith(`${MODULE}/`)) where = catalogue(namespace.slice(MODULE.length + 1));
    else return `${key}: unknown namespace ${namespace}`;
  }
  return typeof lookup(where, path) === 'string' ? undefined : `${key} (in ${name})`;
}

/** The first capture group that took part in each match. */
function matches(text: string, pattern: RegExp): string[] {
  return [...text.matchAll(pattern)].map((m) => m.slice(1).find((group) => group !== undefined) ?? '');
}

/** `data-i18n="[placeholder]a.b;c.d"` → ['a.b', 'c.d']. */
function dataI18nKeys(html: string): string[] {
  return matches(html, /data-i18n="([^"]*)"/g).flatMap((value) =>
    value
      .split(';')
      .map((part) => part.trim().replace(/^\[[^\]]*\]/, ''))
      .filter((key) => key !== ''),
  );
}

/** Keys passed as a literal to `this._(…)`, `node._(…)`, `RED._(…)` and the like. */
function underscoreKeys(source: string): string[] {
  return matches(source, /\b[A-Za-z_$][\w$]*\._\(\s*(?:"([^"]+)"|'([^']+)')/g);
}

/**
 * Keys of `RED._(…)` in runtime TypeScript: literals, and template literals that start with the node
 * type (`${type}.status.ok`), expanded for each type in `types`.
 */
function runtimeKeys(source: string, types: readonly string[]): { keys: string[]; unchecked: string[] } {
  const keys = matches(source, /\bRED\._\(\s*(?:'([^']+)'|"([^"]+)")/g);
  const unchecked: string[] = [];
  for (const template of matches(source, /\bRED\._\(\s*`([^`]+)`/g)) {
    const typed = /^\$\{[^}]+\}(\..*)$/.exec(template);
    if (typed && !typed[1]?.includes('${')) keys.push(...types.map((type) => type + typed[1]));
    else if (!template.includes('${')) keys.push(template);
    else unchecked.push(template);
  }
  return { keys, unchecked };
}

/** The `__name__` placeholders of a message, sorted: what the runtime must pass for it to read right. */
function placeholders(text: string): string[] {
  return [...new Set(matches(text, /__([A-Za-z]\w*)__/g))].sort();
}

/** Every string under `where`, by its dotted key. */
function strings(where: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof where !== 'object' || where === null) return out;
  for (const [key, value] of Object.entries(where)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (typeof value === 'string') out.set(path, value);
    else for (const [inner, text] of strings(value, path)) out.set(inner, text);
  }
  return out;
}

const SEND_NODES = ['supersim-ip-command', 'supersim-sms-command'];

/**
 * What the runtime of "reaching the device" (answers, keep trying) reads from both send nodes'
 * catalogues, with the placeholders it fills in. It is written beside these catalogues, so a key
 * missing here would show users the raw key only once that code runs.
 */
const REACHING_KEYS: Record<string, string[]> = {
  'status.waiting': ['count'],
  'status.retrying': ['count'],
  'status.answered': ['time'],
  'errors.no-answer': ['seconds', 'sid', 'sim'],
  'errors.no-answer-failed': ['code', 'sid', 'sim'],
  'errors.gave-up': ['attempts', 'code', 'sim', 'time'],
  'errors.attempt-unknown': ['attempt', 'reason', 'sid', 'sim'],
  'errors.attempt-not-created': ['attempt', 'message', 'sim'],
  'errors.too-many-waiting': ['limit'],
  'errors.too-many-pending': ['limit'],
  'errors.pending-dropped': ['count'],
  'errors.pending-resumed': ['count'],
  'errors.store-failed': ['file', 'message'],
  'errors.store-unreadable': ['problem'],
  'errors.answer-poll-failed': ['message', 'sim'],
  'label.waitAnswer': [],
  'label.waitAnswerText': [],
  'label.answerTimeout': [],
  'label.retryFor': [],
  'label.retryForHint': [],
  'label.retryNote': [],
  'label.answer': [],
  'validation.answerTimeout': [],
  'validation.retryFor': [],
};

describe('i18n of the editor and the runtime', () => {
  const sets = nodeSets();
  const withEditor = sets.filter((set) => existsSync(join(NODES, `${set.name}.html`)));
  const typeOfName = new Map(sets.map((set) => [set.name, set.type]));

  it('package.json declares the node sets, and the editor files exist for some of them', () => {
    assert.ok(sets.length > 0, 'package.json node-red.nodes is empty');
    assert.ok(withEditor.length > 0, 'no nodes/<type>.html exists yet');
  });

  for (const set of withEditor) {
    describe(set.type, () => {
      const html = readFileSync(join(NODES, `${set.name}.html`), 'utf8');

      it('registers the type package.json names, with a locale catalogue keyed by the type', () => {
        assert.match(html, new RegExp(`RED\\.nodes\\.registerType\\(\\s*["']${set.type}["']`));
        assert.match(html, new RegExp(`data-template-name="${set.type}"`));
        const json = catalogue(set.name);
        assert.ok(Object.hasOwn(json, set.type), `nodes/locales/en-US/${set.name}.json has no top-level "${set.type}" object`);
      });

      it('every data-i18n key of the edit form exists', () => {
        const keys = dataI18nKeys(html);
        assert.ok(keys.length > 0, 'the form has no data-i18n labels');
        assert.deepEqual(keys.map((key) => missing(set.name, key)).filter(Boolean), []);
      });

      it('every key the editor script passes to _() exists', () => {
        const keys = underscoreKeys(html);
        assert.ok(keys.length > 0, 'the editor script uses no _() keys (labels must go through i18n)');
        assert.deepEqual(keys.map((key) => missing(set.name, key)).filter(Boolean), []);
      });

      it('has help with the sections Node-RED users expect', () => {
        const helpFile = join(LOCALES, `${set.name}.html`);
        assert.ok(existsSync(helpFile), `nodes/locales/en-US/${set.name}.html is missing`);
        const help = readFileSync(helpFile, 'utf8');
        assert.match(help, new RegExp(`<script type="text/html" data-help-name="${set.type}">`));
        assert.match(help, /<h3>Details<\/h3>/);
        const isConfig = /category:\s*["']config["']/.test(html);
        const inputs = Number(/\binputs:\s*(\d+)/.exec(html)?.[1] ?? 0);
        const outputs = Number(/\boutputs:\s*(\d+)/.exec(html)?.[1] ?? 0);
        if (!isConfig && inputs > 0) assert.match(help, /<h3>Inputs<\/h3>\s*<dl class="message-properties">/);
        if (!isConfig && outputs > 0) assert.match(help, /<h3>Outputs<\/h3>/);
        if (outputs > 1) assert.match(help, /<ol class="node-ports">/, 'a node with several outputs describes each in <ol class="node-ports">');
        // The first paragraph is what the palette's tooltip shows.
        assert.match(help, /data-help-name="[^"]+">\s*<p>[^<]{10,}/);
      });
    });
  }

  describe('runtime messages (RED._ in nodes/*.ts)', () => {
    const tsFiles = readdirSync(NODES).filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'));
    const libFiles = existsSync(join(NODES, 'lib')) ? readdirSync(join(NODES, 'lib')).filter((file) => file.endsWith('.ts')) : [];

    for (const file of tsFiles) {
      const name = basename(file, '.ts');
      const type = typeOfName.get(name);
      if (!type) continue;
      it(`${file}: every key exists in ${name}.json`, () => {
        const { keys } = runtimeKeys(readFileSync(join(NODES, file), 'utf8'), [type]);
        assert.deepEqual(keys.map((key) => missing(name, key)).filter(Boolean), []);
      });
    }

    for (const file of libFiles) {
      const lib = basename(file, '.ts');
      // A shared helper's `${type}.x` keys must exist for every node that imports it.
      const users = tsFiles
        .map((nodeFile) => basename(nodeFile, '.ts'))
        .filter((name) => typeOfName.has(name))
        .filter((name) => new RegExp(`from ['"]\\./lib/${lib}(?:\\.js)?['"]`).test(readFileSync(join(NODES, `${name}.ts`), 'utf8')));
      if (users.length === 0) continue;
      it(`lib/${file}: every key exists for the nodes using it (${users.join(', ')})`, () => {
        const source = readFileSync(join(NODES, 'lib', file), 'utf8');
        const problems = users.flatMap((name) => {
          const { keys } = runtimeKeys(source, [typeOfName.get(name) ?? name]);
          return keys.map((key) => missing(name, key)).filter(Boolean);
        });
        assert.deepEqual(problems, []);
      });
    }
  });

  describe('the two send nodes (one runtime in nodes/lib serves both)', () => {
    for (const type of SEND_NODES) {
      it(`${type}.json has the keys of reaching the device, with the placeholders the runtime fills in`, () => {
        const problems = Object.entries(REACHING_KEYS).flatMap(([key, wanted]) => {
          const text = lookup(catalogue(type), `${type}.${key}`);
          if (typeof text !== 'string') return [`${key}: missing`];
          const found = placeholders(text);
          return JSON.stringify(found) === JSON.stringify(wanted) ? [] : [`${key}: placeholders ${found.join(', ') || 'none'}, the runtime passes ${wanted.join(', ') || 'none'}`];
        });
        assert.deepEqual(problems, []);
      });
    }

    it('have the same status and error keys, each with the same placeholders', () => {
      const shapes = SEND_NODES.map((type) => {
        const node = catalogue(type)[type] as Record<string, unknown> | undefined;
        const texts = new Map([...strings(node?.status, 'status'), ...strings(node?.errors, 'errors')]);
        return Object.fromEntries([...texts].map(([key, text]) => [key, placeholders(text).join(', ')]).sort(([a], [b]) => (a < b ? -1 : 1)));
      });
      assert.deepEqual(shapes[1], shapes[0]);
    });
  });
});
