/**
 * String helpers that several areas of src/ use. Each runs in linear time: a regular expression such
 * as /\/+$/ backtracks from every slash of a long run, so 40 000 slashes took seconds.
 */

/** URLs longer than this are refused: no provider or proxy accepts more, and nothing legitimate needs it. */
export const MAX_URL_CHARS = 2048;

/** `text` without the run of `char` at its end. */
export function trimTrailing(text: string, char: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === char) end--;
  return end === text.length ? text : text.slice(0, end);
}

/** `text` without the runs of `char` at its start and its end. */
export function trimBoth(text: string, char: string): string {
  let start = 0;
  while (start < text.length && text[start] === char) start++;
  return trimTrailing(text.slice(start), char);
}

/** Runs of `char` inside `text` collapsed to one. */
export function collapseRuns(text: string, char: string): string {
  let out = '';
  let previous = '';
  for (const c of text) {
    if (c === char && previous === char) continue;
    out += c;
    previous = c;
  }
  return out;
}

/** Values a node treats as "not set here", so that a msg property or a default applies. */
export function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/** A configured text trimmed, or undefined when there is none, so that the default applies. */
export function blankToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** Joins URL path pieces with exactly one slash between them. */
export function joinPath(...parts: string[]): string {
  const joined = parts
    .map((part) => trimBoth(part, '/'))
    .filter((part) => part !== '')
    .join('/');
  return `/${joined}`;
}
