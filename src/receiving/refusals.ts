export interface RefusalLogOptions {
  /** Default one minute. */
  intervalMs?: number;
  now?: () => number;
}

export interface RefusalReport {
  reason: string;
  status: number;
  /** Refusals since the last report that were not reported themselves. */
  unreported: number;
}

/**
 * Says when a refused request is worth a log line: the first one, then at most one per interval. A
 * scanner or a misconfigured provider can send thousands, and one line a minute says as much as
 * thousands would without filling the log.
 */
export class RefusalLog {
  readonly #intervalMs: number;
  readonly #now: () => number;
  #lastReportAt: number | undefined;
  #unreported = 0;

  constructor(options: RefusalLogOptions = {}) {
    this.#intervalMs = options.intervalMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** Counts one refusal; returns what to log now, or undefined to stay quiet. */
  note(status: number, reason: string): RefusalReport | undefined {
    const now = this.#now();
    if (this.#lastReportAt !== undefined && now - this.#lastReportAt < this.#intervalMs) {
      this.#unreported++;
      return undefined;
    }
    const report = { reason, status, unreported: this.#unreported };
    this.#lastReportAt = now;
    this.#unreported = 0;
    return report;
  }
}
