const DURATION = /^([0-9]{1,9})(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** How the accepted forms are named in errors. */
export const DURATION_FORMS = 'a whole number with ms, s, m or h, e.g. 500ms, 30s, 2m';

/** "500ms", "30s", "2m", "1h" in ms; null for anything else, zero included. */
export function parseDuration(text: string): number | null {
  const match = DURATION.exec(text.trim());
  if (match === null) return null;
  const ms = Number(match[1]) * UNIT_MS[match[2]];
  return ms > 0 ? ms : null;
}

/** "500 ms", "30 s", "90 s", "2 min", "1.5 s": how log lines and the SIM table show a duration. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms >= 120_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Number((ms / 1000).toFixed(3))} s`;
}
