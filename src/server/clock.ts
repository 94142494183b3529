// Clocks for the command path. performance.now() is read through a module binding (the global
// `performance` is a lazy getter in Node 20, measurably slow per command), and the command's
// wall-clock ms (Redis's cached mstime, used for expiry) is derived from the same reading plus an
// offset refreshed every 50 ms, so each command costs one clock read instead of two.
import { performance } from 'perf_hooks';

const perf = performance;
// offset + perf.now() estimates the wall clock with sub-ms precision. Date.now() truncates to
// the ms, so an offset derived from one reading (or from timeOrigin, whose relation to Date.now()
// differs by up to a ms on Node 24) can put the estimate up to 1 ms behind the wall clock (a
// client's "now + 10000" then reads back as a PTTL of 10001). So the offset is taken at an edge of
// Date.now()'s millisecond, where the wall clock is exact, pinned to a monotonic reading taken
// before the last Date.now() that still showed the old ms: the edge fell after it, so the estimate
// can only be ahead (by one loop turn, or more if the thread was descheduled, which the 50 ms check
// below catches), never behind. Every 50 ms the estimate is checked against Date.now() and
// calibrated again when they part (NTP stepped the clock, or a descheduled calibration).
let offset = 0;
function calibrate(): void {
  let prev = perf.now(); // always read before a Date.now() that returned `first`
  const first = Date.now();
  const until = prev + 2;
  for (;;) {
    const before = perf.now();
    const w = Date.now();
    if (w !== first) {
      offset = w - prev;
      return;
    }
    if (before >= until) break;
    prev = before;
  }
  // No edge seen: ahead by up to 1 ms rather than behind.
  offset = first + 1 - perf.now();
}
calibrate();
setInterval(() => {
  const est = offset + perf.now();
  const wall = Date.now();
  if (est < wall || est >= wall + 1.05) calibrate();
}, 50).unref();

/** Wall-clock milliseconds (integer) for a monoNow() reading. */
export function wallMs(mono: number): number {
  return Math.floor(offset + mono);
}

// Commands run back to back from one socket chunk chain their clocks: a command starts when the
// previous one ended, so each costs one clock read, not two (clock_gettime was ~4% of a -P 16
// LPUSH profile). Outside a chain (blocked clients served, EXEC's own start...) each reads afresh.
let chained = -1;

/** A batch of commands from one chunk begins. */
export function chainStart(): void {
  chained = perf.now();
}

/** The batch is over: later commands read the clock themselves. */
export function chainEnd(): void {
  chained = -1;
}

/** Monotonic start of a command. */
export function cmdStart(): number {
  return chained >= 0 ? chained : perf.now();
}

/** Monotonic end of a command (the next one in the chain starts here). */
export function cmdEnd(): number {
  const t = perf.now();
  if (chained >= 0) chained = t;
  return t;
}

/** Work outside the commands happened (blocked clients served): the next command starts now. */
export function chainRestart(): void {
  if (chained >= 0) chained = perf.now();
}
