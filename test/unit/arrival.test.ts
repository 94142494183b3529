// The arrival fence (src/server/arrival.ts): which chunks announce a blocking command, and when a
// command of another thread waits for one.
import { describe, it, expect } from 'vitest';
import { Worker } from 'worker_threads';
import type { Store } from '../../src/store/keyspace';
// The registry is filled by the table, as in the server.
import '../../src/commands/table';
import { announceBlocking, arrivalSeq, blockingInFlight, fenceOlderBlocking, startsAnnounced, withdrawBlocking } from '../../src/server/arrival';

const resp = (...a: string[]): Buffer => Buffer.from(`*${a.length}\r\n` + a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join(''));

/** Just the words the fence uses: a Store's i32 view and its Layout.arrival index. */
function fakeStore(): Store {
  const i32 = new Int32Array(new SharedArrayBuffer(4 * 300));
  return { i32, L: { arrival: 0 } } as unknown as Store;
}

describe('startsAnnounced', () => {
  it('sees the blocking list, zset and stream commands, in any case', () => {
    expect(startsAnnounced(resp('BLPOP', 'l', '0'))).toBe(true);
    expect(startsAnnounced(resp('brpoplpush', 'a', 'b', '0'))).toBe(true);
    expect(startsAnnounced(resp('BLMOVE', 'a', 'b', 'LEFT', 'RIGHT', '0'))).toBe(true);
    expect(startsAnnounced(resp('bzpopmin', 'z', '0'))).toBe(true);
    expect(startsAnnounced(resp('XREADGROUP', 'GROUP', 'g', 'c', 'BLOCK', '0', 'STREAMS', 's', '>'))).toBe(true);
    expect(startsAnnounced(resp('xread', 'block', '10', 'streams', 's', '$'))).toBe(true);
  });

  it('sees the subscribe family, which a PUBLISH on another thread must see in order', () => {
    for (const c of ['SUBSCRIBE', 'unsubscribe', 'PSUBSCRIBE', 'punsubscribe', 'SSUBSCRIBE', 'sunsubscribe']) expect(startsAnnounced(resp(c, 'ch'))).toBe(true);
    expect(startsAnnounced(resp('UNSUBSCRIBE'))).toBe(true);
    expect(startsAnnounced(resp('XSUBSCRIBE', 'ch'))).toBe(false);
    expect(startsAnnounced(resp('PUBLISH', 'ch', 'm'))).toBe(false);
  });

  it('leaves out XREAD without BLOCK, other commands, partial and inline input', () => {
    expect(startsAnnounced(resp('XREADGROUP', 'GROUP', 'g', 'c', 'COUNT', '1', 'STREAMS', 's', '>'))).toBe(false);
    expect(startsAnnounced(resp('XREAD', 'STREAMS', 'block', '$'))).toBe(true); // a key named "block": waits needlessly, never wrongly
    expect(startsAnnounced(resp('XADD', 's', '*', 'f', 'v'))).toBe(false);
    expect(startsAnnounced(resp('BITCOUNT', 'k'))).toBe(false);
    expect(startsAnnounced(resp('GET', 'k'))).toBe(false);
    expect(startsAnnounced(Buffer.from('*3\r\n$5\r\nBLP'))).toBe(false);
    expect(startsAnnounced(Buffer.from('BLPOP l 0\r\n'))).toBe(false);
    expect(startsAnnounced(Buffer.from('*1\r\n$99999999999999\r\n'))).toBe(false);
  });
});

describe('fenceOlderBlocking', () => {
  it('counts announcements and clears them', () => {
    const s = fakeStore();
    expect(blockingInFlight(s)).toBe(false);
    const t = announceBlocking(s, 2);
    expect(blockingInFlight(s)).toBe(true);
    withdrawBlocking(s, 2, t);
    expect(blockingInFlight(s)).toBe(false);
  });

  it('keeps a thread\'s later announcement when an earlier one of the same poll phase is withdrawn', () => {
    const s = fakeStore();
    // Two chunks with arrival numbers 5 and 7 read by thread 2 before either ran (a batch).
    const t5 = announceBlocking(s, 2, 5);
    const t7 = announceBlocking(s, 2, 7);
    withdrawBlocking(s, 2, t5);
    expect(blockingInFlight(s)).toBe(true);
    // A command with number 8 still waits (bounded) for the one numbered 7.
    let t0 = performance.now();
    fenceOlderBlocking(s, 1, 2, 8);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(4);
    withdrawBlocking(s, 2, t7);
    expect(blockingInFlight(s)).toBe(false);
    t0 = performance.now();
    fenceOlderBlocking(s, 1, 2, 8);
    expect(performance.now() - t0).toBeLessThan(4);
  });

  it('does not wait for an announcement made after the chunk was read, nor for its own thread', () => {
    const s = fakeStore();
    const readSeq = arrivalSeq(s);
    announceBlocking(s, 2);
    let t0 = performance.now();
    fenceOlderBlocking(s, 1, 2, readSeq);
    expect(performance.now() - t0).toBeLessThan(4);
    // Thread 2's own commands never wait for thread 2.
    t0 = performance.now();
    fenceOlderBlocking(s, 2, 2, arrivalSeq(s));
    expect(performance.now() - t0).toBeLessThan(4);
  });

  it('waits, bounded, for an older announcement that is never withdrawn', () => {
    const s = fakeStore();
    announceBlocking(s, 2);
    const t0 = performance.now();
    fenceOlderBlocking(s, 1, 2, arrivalSeq(s));
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(4.5);
    expect(waited).toBeLessThan(1000);
  });

  it('wakes when another thread withdraws an older announcement', async () => {
    const s = fakeStore();
    // A worker announces as thread 2, then withdraws 2 ms after this thread starts waiting, with
    // the same words arrival.ts uses.
    const w = new Worker(
      `const { workerData, parentPort } = require('worker_threads');
       const i32 = new Int32Array(workerData);
       const t = Atomics.add(i32, 0, 1) + 1; Atomics.store(i32, 2 + 2, t); Atomics.add(i32, 1, 1);
       parentPort.postMessage('announced');
       Atomics.wait(i32, 200, 0);
       Atomics.wait(i32, 201, 0, 2);
       Atomics.store(i32, 2 + 2, 0); Atomics.sub(i32, 1, 1); Atomics.notify(i32, 2 + 2);`,
      { eval: true, workerData: s.i32.buffer },
    );
    await new Promise((r) => w.once('message', r));
    const readSeq = arrivalSeq(s);
    Atomics.store(s.i32, 200, 1);
    Atomics.notify(s.i32, 200);
    // The fence returns when the word clears, or at its 5 ms bound if the worker is slow to run:
    // either way, no command waits for more than that.
    const t0 = performance.now();
    fenceOlderBlocking(s, 1, 2, readSeq);
    expect(performance.now() - t0).toBeLessThan(100);
    await w.terminate();
  });
});
