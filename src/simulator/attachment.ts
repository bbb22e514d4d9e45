import type { Timers } from './timers';

/** Asleep (detached) for asleepMs, then awake (attached) for awakeMs (default asleepMs), over and over. */
export interface SleepSchedule {
  asleepMs: number;
  awakeMs?: number;
}

/** What an 'attached' or 'detached' event of a device says about the change. */
export interface AttachmentChange {
  /** ms until the next change the simulator has scheduled (detachFor, a sleep schedule); null when none is. */
  forMs: number | null;
  /** The change is part of a sleep schedule. */
  sleeping: boolean;
}

function checkMs(name: string, value: number, allowZero: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new RangeError(`${name} must be a finite number of ms ${allowZero ? '>= 0' : '> 0'}, got ${String(value)}`);
  }
  return value;
}

/** Checks a schedule and fills in awakeMs; throws a RangeError naming the field. */
export function checkSleepSchedule(schedule: SleepSchedule): Required<SleepSchedule> {
  if (typeof schedule !== 'object' || schedule === null) throw new TypeError('sleep must be an object { asleepMs, awakeMs? }');
  const asleepMs = checkMs('sleep.asleepMs', schedule.asleepMs, false);
  const awakeMs = schedule.awakeMs === undefined ? asleepMs : checkMs('sleep.awakeMs', schedule.awakeMs, false);
  return { asleepMs, awakeMs };
}

/**
 * Whether a device is attached, and the timed changes to it. One change is scheduled at a time, so a
 * new call (or close, through the engine's Timers) always replaces what was planned before.
 */
export class Attachment {
  #attached: boolean;
  #cancelScheduled: (() => void) | null = null;
  #schedule: Required<SleepSchedule> | null = null;

  constructor(
    attached: boolean,
    private readonly timers: Timers,
    private readonly onChange: (attached: boolean, change: AttachmentChange) => void,
  ) {
    this.#attached = attached;
  }

  get attached(): boolean {
    return this.#attached;
  }

  /** The sleep schedule being followed, or null. */
  get schedule(): Readonly<Required<SleepSchedule>> | null {
    return this.#schedule;
  }

  set(attached: boolean): void {
    const hadPlan = this.#cancel();
    if (attached !== this.#attached || hadPlan) this.#change(attached, null, false);
  }

  detachFor(ms: number): void {
    checkMs('detachFor(ms)', ms, true);
    this.#cancel();
    this.#change(false, ms, false);
    this.#cancelScheduled = this.timers.set(() => {
      this.#cancelScheduled = null;
      this.#change(true, null, false);
    }, ms);
  }

  sleep(schedule: SleepSchedule): void {
    const checked = checkSleepSchedule(schedule);
    this.#cancel();
    this.#schedule = checked;
    this.#phase(false);
  }

  #phase(attached: boolean): void {
    const schedule = this.#schedule as Required<SleepSchedule>;
    const ms = attached ? schedule.awakeMs : schedule.asleepMs;
    this.#change(attached, ms, true);
    this.#cancelScheduled = this.timers.set(() => {
      this.#cancelScheduled = null;
      this.#phase(!attached);
    }, ms);
  }

  /** Drops whatever was scheduled; true if something was. */
  #cancel(): boolean {
    const had = this.#cancelScheduled !== null || this.#schedule !== null;
    this.#cancelScheduled?.();
    this.#cancelScheduled = null;
    this.#schedule = null;
    return had;
  }

  #change(attached: boolean, forMs: number | null, sleeping: boolean): void {
    this.#attached = attached;
    this.onChange(attached, { forMs, sleeping });
  }
}
