// LATENCY (monitor events, HISTOGRAM) and INFO latencystats, side by side with redis-server: the
// shapes, the texts and the counts must match; the measured durations of course differ.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, startShardis, type Server } from '../helpers/server';
import { RawClient, show, items as elements, text, type Reply } from '../helpers/resp';
import { countsIndexFor, cumulativeDistribution, HDR_COUNTS, valueAtIndex, valueAtPercentile } from '../../src/server/latency';

let s: Server;
let r: Server;
beforeAll(async () => {
  [s, r] = await Promise.all([startShardis({ threads: 2, args: ['--save', ''] }), startRedis({ args: ['--enable-debug-command', 'yes'] })]);
});
afterAll(async () => {
  await Promise.all([s?.stop(), r?.stop()]);
});

/** A reply's value as text (bulk strings arrive as Buffers). */
function str(r: Reply): string {
  return text(r);
}

async function call(c: RawClient, ...args: string[]): Promise<Reply> {
  return c.call(...args);
}

/** The histogram reply as {command: calls}, checking every bucket list is cumulative and growing. */
function histogramCalls(reply: Reply): Record<string, number> {
  expect(reply.t).toBe('array');
  const items = elements(reply);
  const out: Record<string, number> = {};
  for (let i = 0; i < items.length; i += 2) {
    const body = elements(items[i + 1]);
    expect(str(body[0])).toBe('calls');
    expect(str(body[2])).toBe('histogram_usec');
    const buckets = elements(body[3]).map((b) => Number(str(b)));
    let prevUs = -1;
    let prevCount = 0;
    for (let j = 0; j < buckets.length; j += 2) {
      expect(buckets[j]).toBeGreaterThan(prevUs);
      expect(buckets[j + 1]).toBeGreaterThan(prevCount);
      prevUs = buckets[j];
      prevCount = buckets[j + 1];
    }
    expect(prevCount).toBe(Number(str(body[1])));
    out[str(items[i])] = Number(str(body[1]));
  }
  return out;
}

describe('LATENCY HISTOGRAM and INFO latencystats', () => {
  it('count the same calls per command and subcommand as redis-server, across threads', async () => {
    const seen: Array<Record<string, number>> = [];
    for (const srv of [s, r]) {
      // Several connections: on shardis they land on both threads.
      const cs = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(srv.port)));
      await call(cs[0], 'CONFIG', 'RESETSTAT');
      for (const c of cs) {
        await call(c, 'SET', 'a', 'b');
        await call(c, 'GET', 'a');
      }
      await call(cs[1], 'CLIENT', 'ID');
      await call(cs[2], 'HSET', 'h', 'f', 'v');
      const all = histogramCalls(await call(cs[3], 'LATENCY', 'HISTOGRAM'));
      const some = histogramCalls(await call(cs[3], 'LATENCY', 'HISTOGRAM', 'set', 'client', 'nosuchcommand', 'hset'));
      const one = histogramCalls(await call(cs[3], 'LATENCY', 'HISTOGRAM', 'client|id'));
      const info = str(await call(cs[0], 'INFO', 'latencystats'));
      const lines = info.split('\r\n').filter((l) => l.startsWith('latency_percentiles_usec_'));
      for (const l of lines) expect(l).toMatch(/^latency_percentiles_usec_[a-z|_-]+:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}$/);
      const names = lines.map((l) => l.slice('latency_percentiles_usec_'.length, l.indexOf(':'))).sort();
      seen.push({ ...all, ...Object.fromEntries(Object.entries(some).map(([k, v]) => [`some:${k}`, v])), ...Object.fromEntries(Object.entries(one).map(([k, v]) => [`one:${k}`, v])), names: names.length });
      for (const c of cs) c.close();
    }
    expect(seen[0]).toEqual(seen[1]);
    expect(seen[0].set).toBe(4);
    expect(seen[0]['one:client|id']).toBe(1);
  });

  it('latency-tracking no: INFO latencystats is empty, as Redis', async () => {
    for (const srv of [s, r]) {
      const c = await RawClient.connect(srv.port);
      await call(c, 'CONFIG', 'SET', 'latency-tracking', 'no');
      expect(str(await call(c, 'INFO', 'latencystats'))).toBe('# Latencystats\r\n');
      await call(c, 'CONFIG', 'SET', 'latency-tracking', 'yes');
      c.close();
    }
  });
});

describe('the latency monitor', () => {
  it('records a command past latency-monitor-threshold, with the shapes and texts redis-server gives', async () => {
    const replies: string[][] = [];
    for (const srv of [s, r]) {
      const c = await RawClient.connect(srv.port);
      const out: string[] = [];
      await call(c, 'LATENCY', 'RESET');
      out.push(show(await call(c, 'LATENCY', 'DOCTOR')).slice(0, 40));
      await call(c, 'CONFIG', 'SET', 'latency-monitor-threshold', '200');
      await call(c, 'DEBUG', 'SLEEP', '0.25');
      const latest = elements(await call(c, 'LATENCY', 'LATEST'));
      expect(latest.length).toBe(1);
      const [name, time, lat, max] = elements(latest[0]).map(str);
      expect(name).toBe('command');
      expect(Math.abs(Number(time) - Date.now() / 1000)).toBeLessThan(5);
      expect(Number(lat)).toBeGreaterThanOrEqual(250);
      expect(Number(max)).toBe(Number(lat));
      const hist = elements(await call(c, 'LATENCY', 'HISTORY', 'command'));
      expect(hist.length).toBe(1);
      out.push(show(await call(c, 'LATENCY', 'HISTORY', 'nosuchevent')));
      out.push(show(await call(c, 'LATENCY', 'GRAPH', 'nosuchevent')));
      const graph = str(await call(c, 'LATENCY', 'GRAPH', 'command'));
      expect(graph).toMatch(/^command - high \d+ ms, low \d+ ms \(all time high \d+ ms\)\n-{80}\n/);
      const doctor = str(await call(c, 'LATENCY', 'DOCTOR'));
      expect(doctor).toMatch(/^Dave, I have observed latency spikes in this Redis instance\. You don't mind talking about it, do you Dave\?\n\n1\. command: 1 latency spikes \(average \d+ms, mean deviation 0ms, period 1\.00 sec\)\. Worst all time event \d+ms\.\n/);
      out.push(doctor.replace(/\d+ms/g, 'Nms').split('\n').filter((l) => !l.includes('huge pages')).join('\n'));
      out.push(show(await call(c, 'LATENCY', 'RESET', 'nosuchevent')));
      out.push(show(await call(c, 'LATENCY', 'RESET', 'COMMAND')));
      out.push(show(await call(c, 'LATENCY', 'LATEST')));
      out.push(show(await call(c, 'LATENCY', 'HELP')));
      out.push(show(await call(c, 'LATENCY', 'HELP', 'x')));
      out.push(show(await call(c, 'LATENCY', 'NOSUCH')));
      out.push(show(await call(c, 'LATENCY')));
      await call(c, 'CONFIG', 'SET', 'latency-monitor-threshold', '0');
      replies.push(out);
      c.close();
    }
    expect(replies[0]).toEqual(replies[1]);
  });
});

describe('the histogram (hdr_histogram with Redis parameters)', () => {
  it('maps every value to a bucket whose range holds it, 2 significant digits', () => {
    for (const v of [1, 2, 255, 256, 257, 1000, 1023, 1024, 4095, 65535, 123456, 999999, 1e9]) {
      const i = countsIndexFor(v);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(i).toBeLessThan(HDR_COUNTS);
      const low = valueAtIndex(i);
      expect(low).toBeLessThanOrEqual(v);
      expect(v - low).toBeLessThanOrEqual(Math.max(1, v / 100));
    }
  });

  // Expected figures: Redis's deps/hdr_histogram fed the same values (hdr_value_at_percentile,
  // hdr_iter_log_init(h, 1024, 2) as fillCommandCDF); the port matched it on 40 random samples.
  it('percentiles and the cumulative distribution agree with hdr_histogram on a known sample', () => {
    const h = new Float64Array(HDR_COUNTS + 1);
    // 90 calls of 3 us and 10 of 1000 us (recorded in ns, as Redis records duration * 1000).
    h[countsIndexFor(3000)] += 90;
    h[countsIndexFor(1000000)] += 10;
    h[HDR_COUNTS] = 100;
    expect(valueAtPercentile(h, 50)).toBe(3007); // highest equivalent value of 3000's bucket
    expect(valueAtPercentile(h, 99)).toBe(1003519);
    const cdf = cumulativeDistribution(h);
    expect(cdf).toEqual([[4, 90], [1056, 100]]);
  });
});
