// The software watchdog (Redis's watchdog-period, debug.c): a worker that has not come back to its
// event loop for `watchdog-period` ms is reported in the log, once per stall, while it is still
// stuck. Redis's SIGALRM handler logs the main thread's stack; one thread cannot read another's
// JS stack, so the report names what such a stack starts with: the command running and its
// client. Heartbeat: each worker's cron tick (hz) writes S_TICK_AT; the main thread checks.
import type { Config } from '../config/config';
import type { Store } from '../store/keyspace';
import { STAT_FIELDS } from '../store/keyspace';
import { commandNameOfStat } from '../commands/registry';
import { S_RUNNING_CLIENT, S_RUNNING_CMD, S_TICK_AT } from './context';
import { log } from './log';

export class Watchdog {
  private timer: NodeJS.Timeout | null = null;
  /** Per thread: the heartbeat value already reported (one report per stall). */
  private readonly reported: number[] = [];

  constructor(
    private readonly store: Store,
    private readonly threads: number,
    private readonly config: Config,
  ) {}

  /** (Re)start or stop as watchdog-period and hz say (start-up, CONFIG SET). */
  apply(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    const period = this.period();
    if (period === 0) return;
    this.timer = setInterval(() => this.check(period), Math.max(10, Math.min(100, Math.floor(period / 4))));
    this.timer.unref();
  }

  /** Redis's applyWatchdogPeriod: at least two cron periods, or it would fire between ticks. */
  private period(): number {
    const p = this.config.num('watchdog-period');
    if (p === 0) return 0;
    const hz = Math.max(1, Math.min(500, this.config.num('hz')));
    return Math.max(p, Math.floor(1000 / hz) * 2);
  }

  private check(period: number): void {
    const f64 = this.store.f64;
    const now = Date.now();
    for (let t = 1; t <= this.threads; t++) {
      const at = this.store.L.stats + t * STAT_FIELDS;
      const beat = f64[at + S_TICK_AT];
      if (beat === 0 || now - beat <= period || this.reported[t] === beat) continue;
      this.reported[t] = beat;
      const cmd = f64[at + S_RUNNING_CMD];
      const what = cmd === 0 ? 'between commands' : cmd === -1 ? "serving another thread's command"
        : `running '${commandNameOfStat(cmd - 1) ?? '?'}' for client id=${f64[at + S_RUNNING_CLIENT]}`;
      log('warning', '\n--- WATCHDOG TIMER EXPIRED ---');
      log('warning', `thread ${t} has not returned to its event loop for ${now - beat} ms, ${what}`);
      log('warning', '--------\n');
    }
  }
}
