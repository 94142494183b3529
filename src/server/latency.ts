// The latency monitor and per-command latency histograms (Redis's latency.c and the hdr_histogram
// behind INFO latencystats and LATENCY HISTOGRAM), in shared memory so that any thread answers
// for all of them synchronously, as Redis's single thread does:
// - events ("command", "fast-command", "expire-cycle" ...): one time series of 160 per-second
//   samples per event, updated under a lock word only when a latency passes
//   latency-monitor-threshold (rare by definition);
// - histograms: one per (thread, command), HdrHistogram's layout with Redis's parameters (1 ns ..
//   1 s, 2 significant figures: 3072 counters), written only by its thread, summed when read.
// Both live in heap blocks allocated on first use; their addresses sit in misc words, in 8-byte
// units (heap addresses may pass 2^32), as do the pointer table's.
import type { Store } from '../store/keyspace';
import { readFileSync } from 'fs';
import { lockWord, unlockWord } from '../store/heap';

const M_LATENCY_EVENTS = 13; // events block, in 8-byte units (1: being allocated; real units are >= 8192)
const M_LATENCY_HISTS = 14;  // histogram pointer table, in 8-byte units (1: being allocated)

// ---- the latency monitor ----------------------------------------------------------------------

/** Redis's event names (latency.c / the callers of latencyAddSampleIfNeeded). */
export const LATENCY_EVENTS = [
  'command', 'fast-command', 'expire-cycle', 'eviction-cycle', 'eviction-del', 'eviction-lazyfree',
  'aof-fsync-always', 'aof-write', 'aof-write-pending-fsync', 'aof-write-active-child', 'aof-write-alone',
  'aof-fstat', 'aof-rename', 'aof-rewrite-diff-write', 'aof-rewrite-done-fsync', 'aof-rewrite-write-data-to-incr-aof',
  'rdb-unlink-temp-file', 'fork', 'while-blocked-cron', 'active-defrag-cycle', 'module-acquire-GIL',
  'commands-in-module', 'replication-diskless-load', 'aof-rewrite-done-rename',
] as const;
export type LatencyEvent = (typeof LATENCY_EVENTS)[number];
const EVENT_INDEX = new Map<string, number>(LATENCY_EVENTS.map((e, i) => [e, i]));

export const LATENCY_TS_LEN = 160;
// Per event, f64 words: [present, idx, max, time x 160, latency x 160].
const EV_WORDS = 3 + 2 * LATENCY_TS_LEN;
const EV_HEADER = 8; // f64 words before the first event; the lock is i32 word 0
const EVENTS_BYTES = (EV_HEADER + EV_WORDS * LATENCY_EVENTS.length) * 8;

/** latency-monitor-threshold in ms (0: off), cached per thread. */
export const latencyState = { threshold: 0, tracking: true };

/** The block's byte offset (0: no room), allocated by the first caller; its misc word holds units. */
function sharedBlock(s: Store, word: number, bytes: number): number {
  const w = s.L.misc + word;
  for (;;) {
    const units = Atomics.load(s.u32, w);
    if (units > 1) return units * 8;
    if (units === 0 && Atomics.compareExchange(s.i32, w, 0, 1) === 0) {
      let at = 0;
      try {
        at = s.heap.calloc(bytes);
      } catch {
        at = 0; // no room now; a later call tries again
      } finally {
        Atomics.store(s.u32, w, at / 8);
      }
      return at;
    }
    // Another thread is allocating it (a few microseconds).
  }
}

function eventsAt(s: Store): number {
  return sharedBlock(s, M_LATENCY_EVENTS, EVENTS_BYTES);
}

/** The events block if it exists (readers never allocate it). */
function eventsIfAny(s: Store): number {
  const units = Atomics.load(s.u32, s.L.misc + M_LATENCY_EVENTS);
  return units > 1 ? units * 8 : 0;
}

/** latencyAddSampleIfNeeded: record `ms` for the event when it passes the threshold. */
export function latencyAddSampleIfNeeded(s: Store, event: LatencyEvent, ms: number): void {
  if (latencyState.threshold === 0 || ms < latencyState.threshold) return;
  latencyAddSample(s, event, Math.floor(ms));
}

export function latencyAddSample(s: Store, event: LatencyEvent, ms: number): void {
  const at = eventsAt(s);
  if (at === 0) return; // the heap had no room for the block: the sample is dropped
  const i = EVENT_INDEX.get(event) as number;
  const f = s.f64;
  const b = at / 8 + EV_HEADER + i * EV_WORDS;
  const now = Math.floor(Date.now() / 1000);
  lockWord(s.i32, at / 4);
  try {
    if (f[b] === 0) {
      f.fill(0, b, b + EV_WORDS);
      f[b] = 1;
    }
    if (ms > f[b + 2]) f[b + 2] = ms;
    const idx = f[b + 1];
    const prev = (idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN;
    if (f[b + 3 + prev] === now) {
      if (ms > f[b + 3 + LATENCY_TS_LEN + prev]) f[b + 3 + LATENCY_TS_LEN + prev] = ms;
      return;
    }
    f[b + 3 + idx] = now;
    f[b + 3 + LATENCY_TS_LEN + idx] = ms;
    f[b + 1] = (idx + 1) % LATENCY_TS_LEN;
  } finally {
    unlockWord(s.i32, at / 4);
  }
}

export interface EventSeries {
  name: string;
  max: number;
  /** Samples oldest first: [unix seconds, ms]. */
  samples: Array<[number, number]>;
}

/** Every event with data, in the order of LATENCY_EVENTS (Redis: its dict's order). */
export function latencyEvents(s: Store): EventSeries[] {
  const at = eventsIfAny(s);
  if (at === 0) return [];
  const out: EventSeries[] = [];
  const f = s.f64;
  lockWord(s.i32, at / 4);
  try {
    for (let i = 0; i < LATENCY_EVENTS.length; i++) {
      const b = at / 8 + EV_HEADER + i * EV_WORDS;
      if (f[b] === 0) continue;
      const idx = f[b + 1];
      const samples: Array<[number, number]> = [];
      for (let j = 0; j < LATENCY_TS_LEN; j++) {
        const k = (idx + j) % LATENCY_TS_LEN;
        if (f[b + 3 + k] === 0) continue;
        samples.push([f[b + 3 + k], f[b + 3 + LATENCY_TS_LEN + k]]);
      }
      out.push({ name: LATENCY_EVENTS[i], max: f[b + 2], samples });
    }
  } finally {
    unlockWord(s.i32, at / 4);
  }
  return out;
}

/** LATENCY RESET: forget one event (case-insensitive) or all (null); returns how many had data. */
export function latencyReset(s: Store, event: string | null): number {
  const at = eventsIfAny(s);
  if (at === 0) return 0;
  let n = 0;
  const want = event === null ? null : event.toLowerCase();
  lockWord(s.i32, at / 4);
  try {
    for (let i = 0; i < LATENCY_EVENTS.length; i++) {
      if (want !== null && LATENCY_EVENTS[i].toLowerCase() !== want) continue;
      const b = at / 8 + EV_HEADER + i * EV_WORDS;
      if (s.f64[b] === 0) continue;
      s.f64[b] = 0;
      n++;
    }
  } finally {
    unlockWord(s.i32, at / 4);
  }
  return n;
}

// ---- histograms (hdr_histogram with LATENCY_HISTOGRAM_MIN/MAX_VALUE and PRECISION 2) ----------

// hdr_calculate_bucket_config(1, 1e9, 2): sub_bucket_count 256, unit_magnitude 0, 23 buckets.
const SUB_HALF_MAG = 7;
const SUB_HALF = 128;
const SUB_COUNT = 256;
const SUB_MASK = 255;
export const HDR_COUNTS = 24 * SUB_HALF; // (bucket_count + 1) * sub_bucket_half_count = 3072
const HIST_WORDS = HDR_COUNTS + 1; // counts, then total_count
const HIST_BYTES = HIST_WORDS * 8;
const MIN_NS = 1;
const MAX_NS = 1000000000;

function bucketIndex(v: number): number {
  return 32 - Math.clz32(v | SUB_MASK) - (SUB_HALF_MAG + 1);
}

export function countsIndexFor(v: number): number {
  const b = bucketIndex(v);
  // v is an integer in [1, 1e9] (below 2^32): a shift, where 2 ** b is a pow() call per command.
  const sub = v >>> b;
  return ((b + 1) << SUB_HALF_MAG) + sub - SUB_HALF;
}

export function valueAtIndex(idx: number): number {
  let b = (idx >> SUB_HALF_MAG) - 1;
  let sub = (idx & (SUB_HALF - 1)) + SUB_HALF;
  if (b < 0) {
    sub -= SUB_HALF;
    b = 0;
  }
  return sub * 2 ** b;
}

function lowestEquivalent(v: number): number {
  const b = bucketIndex(v);
  return Math.floor(v / 2 ** b) * 2 ** b;
}

function rangeSize(v: number): number {
  const b = bucketIndex(v);
  const sub = Math.floor(v / 2 ** b);
  return 2 ** (sub >= SUB_COUNT ? b + 1 : b);
}

function highestEquivalent(v: number): number {
  return lowestEquivalent(v) + rangeSize(v) - 1;
}

/** This thread's pointer table row base (u32 index) and the shared table. */
let nThreadSlots = 0;
let nCommands = 0;

/** Sizes of the pointer table: (threads + 8) thread slots, as commandstats, times commands. */
export function configureHistograms(threadSlots: number, commands: number): void {
  nThreadSlots = threadSlots;
  nCommands = commands;
}

/** The pointer table's offset once this thread has seen it (it never moves): no atomic per command. */
let tableOff = 0;

function tableAt(s: Store): number {
  if (tableOff === 0) tableOff = sharedBlock(s, M_LATENCY_HISTS, nThreadSlots * nCommands * 4);
  return tableOff;
}

/** updateCommandLatencyHistogram: record a command's duration (integer microseconds, as Redis's). */
export function recordCommandLatency(s: Store, threadId: number, statIndex: number, usec: number): void {
  const u32 = s.u32;
  const table = tableAt(s);
  if (table === 0) return; // the heap had no room for the table: nothing recorded
  const slot = table / 4 + threadId * nCommands + statIndex;
  let h = u32[slot] * 8;
  if (h === 0) {
    try {
      h = s.heap.calloc(HIST_BYTES);
    } catch {
      return; // no room for statistics: the command itself already ran
    }
    u32[slot] = h / 8;
  }
  let ns = Math.floor(usec) * 1000;
  if (ns < MIN_NS) ns = MIN_NS;
  else if (ns > MAX_NS) ns = MAX_NS;
  const f = s.f64;
  const b = h / 8;
  f[b + countsIndexFor(ns)] += 1;
  f[b + HDR_COUNTS] += 1;
}

/** A command's histogram summed over every thread, or null when it has no calls recorded. */
export function commandHistogram(s: Store, statIndex: number): Float64Array | null {
  const units = Atomics.load(s.u32, s.L.misc + M_LATENCY_HISTS);
  if (units <= 1) return null;
  const t = units * 8;
  let sum: Float64Array | null = null;
  const f = s.f64;
  for (let th = 0; th < nThreadSlots; th++) {
    const h = s.u32[t / 4 + th * nCommands + statIndex] * 8;
    if (h === 0) continue;
    const b = h / 8;
    if (f[b + HDR_COUNTS] === 0) continue;
    if (sum === null) sum = new Float64Array(HIST_WORDS);
    for (let i = 0; i < HIST_WORDS; i++) sum[i] += f[b + i];
  }
  return sum;
}

/** CONFIG RESETSTAT: every histogram emptied (Redis frees them; an empty one is not listed). */
export function resetHistograms(s: Store): void {
  const units = Atomics.load(s.u32, s.L.misc + M_LATENCY_HISTS);
  if (units <= 1) return;
  const t = units * 8;
  for (let i = 0; i < nThreadSlots * nCommands; i++) {
    const h = s.u32[t / 4 + i] * 8;
    if (h !== 0) s.f64.fill(0, h / 8, h / 8 + HIST_WORDS);
  }
}

/** hdr_value_at_percentile, in nanoseconds. */
export function valueAtPercentile(h: Float64Array, percentile: number): number {
  const p = percentile < 100 ? percentile : 100;
  let want = Math.floor((p / 100) * h[HDR_COUNTS] + 0.5);
  if (want < 1) want = 1;
  let acc = 0;
  let v = 0;
  for (let i = 0; i < HDR_COUNTS; i++) {
    acc += h[i];
    if (acc >= want) {
      v = valueAtIndex(i);
      break;
    }
  }
  return percentile === 0 ? lowestEquivalent(v) : highestEquivalent(v);
}

/** fillCommandCDF's pairs: hdr_iter_log_init(h, 1024, 2), [usec, cumulative count] where it grew. */
export function cumulativeDistribution(h: Float64Array): Array<[number, number]> {
  const total = h[HDR_COUNTS];
  const out: Array<[number, number]> = [];
  let idx = -1;
  let cumulative = 0;
  let highest = 0;
  let value = 0;
  let nextLevel = 1024;
  let nextLevelLowest = lowestEquivalent(nextLevel);
  let previous = 0;
  const moveNext = (): boolean => {
    idx++;
    if (idx >= HDR_COUNTS) return false;
    cumulative += h[idx];
    value = valueAtIndex(idx);
    highest = lowestEquivalent(value) + rangeSize(value) - 1;
    return true;
  };
  for (;;) {
    // log_iter_next
    const hasNext = cumulative < total;
    const peekGreater = idx + 1 < HDR_COUNTS && valueAtIndex(idx + 1) > nextLevelLowest;
    if (!hasNext && !peekGreater) break;
    for (;;) {
      if (value >= nextLevelLowest) {
        nextLevel *= 2;
        nextLevelLowest = lowestEquivalent(nextLevel);
        break;
      }
      if (!moveNext()) break;
    }
    if (cumulative > previous) out.push([Math.floor(highest / 1000), cumulative]);
    previous = cumulative;
    if (idx >= HDR_COUNTS) break;
  }
  return out;
}

/** THPGetAnonHugePagesSize() > 0: the process has transparent huge pages (LATENCY DOCTOR advice). */
export function anonHugePagesInUse(): boolean {
  try {
    const m = /AnonHugePages:\s+(\d+)/.exec(readFileSync('/proc/self/smaps_rollup', 'latin1'));
    return m !== null && Number(m[1]) > 0;
  } catch {
    return false;
  }
}
