/** Why a command that was being followed up ends in a Catch error, and the values its message names. */
export type ReachErrorCode = 'no-answer' | 'no-answer-failed' | 'answer-stopped' | 'gave-up' | 'attempt-unknown' | 'attempt-not-created';

/** Why a message is refused before anything is sent. */
export type ReachRefusalCode = 'too-many-waiting' | 'too-many-pending' | 'store-failed';

/** Turns a code and its values into the sentence users read (the node translates; src/ cannot). */
export type DescribeReach = (code: ReachErrorCode | ReachRefusalCode, values: Record<string, string | number>) => string;

/** An error after output 1: the command exists, so it reaches Catch through node.error, never done(err). */
export class ReachError extends Error {
  override readonly name = 'ReachError';
  constructor(
    readonly code: ReachErrorCode,
    readonly values: Record<string, string | number>,
    message: string,
    /** The error behind it, when there was one (a refused create). */
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** Nothing was sent: the message ends with done(err). */
export class ReachRefusal extends Error {
  override readonly name = 'ReachRefusal';
  constructor(
    readonly code: ReachRefusalCode,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** "2 min 5 s": how long keeping trying lasted, in words a status line or an error can carry. */
export function durationText(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  if (minutes < 60) return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
  const hours = Math.floor(minutes / 60);
  const restMinutes = minutes % 60;
  return restMinutes === 0 ? `${hours} h` : `${hours} h ${restMinutes} min`;
}
