// LATENCY (Redis's latency.c): the latency monitor's events and the per-command histograms,
// both kept in shared memory by src/server/latency.ts, so any thread answers for all threads.
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { container, def } from './def';
import { cstr } from './args';
import { writeHelp } from './connection';
import { allCommands, commandByName } from './registry';
import {
  anonHugePagesInUse, commandHistogram, cumulativeDistribution, HDR_COUNTS, latencyEvents, latencyReset, latencyState, type EventSeries,
} from '../server/latency';

function history(c: Client, argv: Buffer[]): void {
  const name = argv[2].toString('latin1');
  const ev = latencyEvents(c.store).find((e) => e.name === name);
  const w = c.w;
  if (ev === undefined) return w.array(0);
  w.array(ev.samples.length);
  for (const [t, ms] of ev.samples) {
    w.array(2);
    w.int(t);
    w.int(ms);
  }
}

function latest(c: Client): void {
  const evs = latencyEvents(c.store);
  const w = c.w;
  w.array(evs.length);
  for (const e of evs) {
    const last = e.samples[e.samples.length - 1] ?? [0, 0];
    w.array(4);
    w.bulkStr(e.name);
    w.int(last[0]);
    w.int(last[1]);
    w.int(e.max);
  }
}

function reset(c: Client, argv: Buffer[]): void {
  if (argv.length === 2) return c.w.int(latencyReset(c.store, null));
  let n = 0;
  for (let j = 2; j < argv.length; j++) n += latencyReset(c.store, argv[j].toString('latin1'));
  c.w.int(n);
}

function graph(c: Client, argv: Buffer[]): void {
  const name = argv[2].toString('latin1');
  const ev = latencyEvents(c.store).find((e) => e.name === name);
  if (ev === undefined) return c.w.error(`ERR No samples available for event '${cstr(argv[2])}'`);
  c.w.verbatim(sparkline(ev));
}

function doctor(c: Client): void {
  c.w.verbatim(latencyReport(c));
}

/** One command's (or subcommand's) recorded calls, as fillCommandCDF writes them. */
function writeHistogram(c: Client, spec: CommandSpec, h: Float64Array): void {
  const w = c.w;
  w.bulkStr(spec.fullName as string);
  w.map(2);
  w.bulkStr('calls');
  w.int(h[HDR_COUNTS]);
  w.bulkStr('histogram_usec');
  const cdf = cumulativeDistribution(h);
  w.map(cdf.length);
  for (const [us, n] of cdf) {
    w.int(us);
    w.int(n);
  }
}

function histogram(c: Client, argv: Buffer[]): void {
  // The map's length is known only at the end: collect the histograms first.
  const found: Array<[CommandSpec, Float64Array]> = [];
  const withData = (s: CommandSpec): void => {
    const h = commandHistogram(c.store, s.statIndex as number);
    if (h !== null) found.push([s, h]);
  };
  if (argv.length === 2) {
    for (const spec of allCommands) {
      withData(spec);
      for (const sub of spec.subcommands ?? []) withData(sub);
    }
  } else {
    for (let j = 2; j < argv.length; j++) {
      const name = argv[j].toString('latin1').toLowerCase();
      const bar = name.indexOf('|');
      let spec: CommandSpec | undefined;
      if (bar < 0) spec = byFullName(name);
      else spec = byFullName(name.slice(0, bar))?.subcommands?.find((s) => s.name === name.slice(bar + 1));
      if (spec === undefined) continue;
      withData(spec);
      if (bar < 0) for (const sub of spec.subcommands ?? []) withData(sub);
    }
  }
  c.w.map(found.length);
  for (const [s, h] of found) writeHistogram(c, s, h);
}

/** lookupCommandBySds: by the command's own name (rename-command does not change it). */
function byFullName(name: string): CommandSpec | undefined {
  return allCommands.find((s) => s.name === name) ?? commandByName(name);
}

// ---- LATENCY GRAPH (sparkline.c) ---------------------------------------------------------------

const CHARSET = '_-`';
const CHARSET_FILL = '_o#';
const GRAPH_COLS = 80;

function sparkline(ev: EventSeries): string {
  const values: number[] = [];
  const labels: (string | null)[] = [];
  let min = 0;
  let max = 0;
  const now = Math.floor(Date.now() / 1000);
  for (const [t, ms] of ev.samples) {
    if (values.length === 0) min = max = ms;
    else {
      if (ms > max) max = ms;
      if (ms < min) min = ms;
    }
    const el = now - t;
    const label = el < 60 ? `${el}s` : el < 3600 ? `${Math.floor(el / 60)}m` : el < 86400 ? `${Math.floor(el / 3600)}h` : `${Math.floor(el / 86400)}d`;
    values.push(ms);
    labels.push(label);
  }
  let out = `${ev.name} - high ${max} ms, low ${min} ms (all time high ${ev.max} ms)\n${'-'.repeat(GRAPH_COLS)}\n`;
  // sparklineSequenceAddSample's min/max (an else-if: a sample can only move one of them).
  let smin = 0;
  let smax = 0;
  values.forEach((v, i) => {
    if (i === 0) smin = smax = v;
    else if (v < smin) smin = v;
    else if (v > smax) smax = v;
  });
  for (let j = 0; j < values.length; j += GRAPH_COLS) {
    const len = Math.min(GRAPH_COLS, values.length - j);
    if (j !== 0) out += '\n';
    out += renderRange(values, labels, smin, smax, 4, j, len);
  }
  return out;
}

function renderRange(values: number[], labels: (string | null)[], min: number, max: number, rows: number, offset: number, len: number): string {
  let relmax = max - min;
  if (relmax === 0) relmax = 1;
  const steps = CHARSET.length * rows;
  const hasLabels = labels.some((l) => l !== null);
  let out = '';
  let row = 0;
  for (let loop = true; loop; ) {
    loop = false;
    const chars: string[] = new Array<string>(len).fill(' ');
    for (let j = 0; j < len; j++) {
      const v = values[j + offset];
      let step = Math.trunc(Math.trunc((v - min) * steps) / relmax);
      if (step < 0) step = 0;
      if (step >= steps) step = steps - 1;
      if (row < rows) {
        const ci = step - (rows - row - 1) * CHARSET.length;
        loop = true;
        if (ci >= 0 && ci < CHARSET.length) chars[j] = CHARSET_FILL[ci];
        else if (ci >= CHARSET.length) chars[j] = '|';
      } else {
        if (hasLabels && row - rows < 1) {
          loop = true;
          break;
        }
        const label = labels[j + offset];
        if (label !== null) {
          const lc = row - rows - 1;
          if (label.length > lc) {
            loop = true;
            chars[j] = label[lc];
          }
        }
      }
    }
    if (loop) {
      row++;
      out += chars.join('') + '\n';
    }
  }
  return out;
}

// ---- LATENCY DOCTOR (createLatencyReport) -------------------------------------------------------

function latencyReport(c: Client): string {
  const evs = latencyEvents(c.store);
  const threshold = latencyState.threshold;
  if (evs.length === 0 && threshold === 0) {
    return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
  }
  const a = new Set<string>();
  let advices = 0;
  let out = '';
  let n = 0;
  const slowlogThreshold = c.srv.config.num('slowlog-log-slower-than');
  for (const e of evs) {
    n++;
    if (n === 1) out += "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n";
    const lats = e.samples.map((s) => s[1]);
    const samples = lats.length;
    let avg = 0;
    let period = 0;
    let mad = 0;
    if (samples > 0) {
      avg = Math.floor(lats.reduce((x, y) => x + y, 0) / samples);
      period = Math.floor(Date.now() / 1000) - Math.min(...e.samples.map((s) => s[0]));
      if (period === 0) period = 1;
      mad = Math.floor(lats.reduce((x, y) => x + Math.abs(avg - y), 0) / samples);
    }
    out += `${n}. ${e.name}: ${samples} latency spikes (average ${avg}ms, mean deviation ${mad}ms, period ${(period / samples).toFixed(2)} sec). Worst all time event ${e.max}ms.`;
    const add = (...k: string[]): void => {
      for (const x of k) a.add(x);
      advices += k.length;
    };
    switch (e.name) {
      case 'command':
        if (slowlogThreshold < 0) add('slowlog-enabled');
        else if (Math.trunc(slowlogThreshold / 1000) > threshold) add('slowlog-tuning');
        add('slowlog-inspect', 'large-objects');
        break;
      case 'fast-command': add('scheduler'); break;
      case 'aof-write-pending-fsync': add('local-disk', 'disk-contention', 'ssd', 'data-writeback'); break;
      case 'aof-write-active-child': add('no-appendfsync', 'data-writeback', 'ssd'); break;
      case 'aof-write-alone': add('local-disk', 'data-writeback', 'ssd'); break;
      case 'aof-fsync-always': add('relax-fsync'); break;
      case 'aof-fstat': case 'rdb-unlink-temp-file': add('disk-contention', 'local-disk'); break;
      case 'aof-rewrite-diff-write': case 'aof-rename': add('write-load-info', 'data-writeback', 'ssd', 'local-disk'); break;
      case 'expire-cycle': add('hz', 'large-objects'); break;
      case 'eviction-del': add('large-objects'); break;
      case 'eviction-cycle': add('mass-eviction'); break;
    }
    out += '\n';
  }
  if (anonHugePagesInUse()) {
    a.add('disable-thp');
    advices++;
  }
  if (n === 0 && advices === 0) {
    return out + "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n";
  }
  if (n > 0 && advices === 0) {
    return out + "\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n";
  }
  out += '\nI have a few advices for you:\n\n';
  const thr = threshold * 1000;
  if (a.has('slowlog-enabled')) out += `- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than ${thr}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n`;
  if (a.has('slowlog-tuning')) out += `- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than ${thr}'.\n`;
  if (a.has('slowlog-inspect')) out += '- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n';
  if (a.has('scheduler')) {
    out += "- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n" +
      '  1) Lower the system load.\n' +
      '  2) Use a computer / VM just for Redis if you are running other software in the same system.\n' +
      '  3) Check if you have a "noisy neighbour" problem.\n' +
      "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n" +
      '  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n';
  }
  if (a.has('local-disk')) out += '- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n';
  if (a.has('ssd')) out += '- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n';
  if (a.has('data-writeback')) out += '- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n';
  if (a.has('disk-contention')) out += '- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n';
  if (a.has('no-appendfsync')) out += "- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n";
  if (a.has('relax-fsync') && c.srv.config.str('appendfsync') === 'always') out += "- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n";
  if (a.has('write-load-info')) out += '- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n';
  if (a.has('hz') && c.srv.config.num('hz') < 100) out += "- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n";
  if (a.has('large-objects')) out += '- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n';
  if (a.has('mass-eviction')) out += "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n";
  if (a.has('disable-thp')) out += "- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n";
  return out;
}

const LATENCY_HELP = [
  'LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'DOCTOR',
  '    Return a human readable latency analysis report.',
  'GRAPH <event>',
  '    Return an ASCII latency graph for the <event> class.',
  'HISTORY <event>',
  '    Return time-latency samples for the <event> class.',
  'LATEST',
  '    Return the latest latency samples for all events.',
  'RESET [<event> ...]',
  '    Reset latency data of one or more <event> classes.',
  '    (default: reset all data for all event classes)',
  'HISTOGRAM [COMMAND ...]',
  '    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.',
  '    If no commands are specified then all histograms are replied.',
  'HELP',
  '    Prints this help.',
];

type SubOpts = Parameters<typeof def>[7];
const sub = (name: string, arity: number, flags: string, summary: string, handler: CommandSpec['handler'], opts: SubOpts): CommandSpec =>
  def(name, arity, flags, [0, 0, 0], 'server', summary, handler, { lock: 'none', since: '2.8.13', complexity: 'O(1)', ...opts });
const ADMIN = ['admin', 'slow', 'dangerous'];
const A = 'admin noscript loading stale';

export const commands: CommandSpec[] = [
  def('latency', -2, '', [0, 0, 0], 'server', 'A container for latency diagnostics commands',
    container('latency'), {
      lock: 'none', since: '2.8.13', acl: ['slow'], complexity: 'Depends on subcommand.',
      subcommands: [
        sub('doctor', 2, A, 'Return a human readable latency analysis report.', doctor, { acl: ADMIN }),
        sub('graph', 3, A, 'Return a latency graph for the event.', graph, { acl: ADMIN }),
        sub('help', 2, 'loading stale', 'Show helpful text about the different subcommands.', (c: Client) => writeHelp(c, LATENCY_HELP), { acl: ['slow'] }),
        sub('histogram', -2, A, 'Return the cumulative distribution of latencies of a subset of commands or all.', histogram, {
          acl: ADMIN, since: '7.0.0', complexity: 'O(N) where N is the number of commands with latency information being retrieved.',
        }),
        sub('history', 3, A, 'Return timestamp-latency samples for the event.', history, { acl: ADMIN }),
        sub('latest', 2, A, 'Return the latest latency samples for all events.', latest, { acl: ADMIN }),
        sub('reset', -2, A, 'Reset latency data for one or more events.', reset, { acl: ADMIN }),
      ],
    }),
];
