// The propagation stream (src/server/stream.ts) on its own: wake-ups of waiting readers (only when
// one waits; held to the end of a batch by holdWakes), and backpressure through a ring much
// smaller than what goes through it, with the test capture thread (dist/stream-capture.js) as
// the reader: every byte arrives, in order.
import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Stream, createStreamBuffer } from '../../src/server/stream';
import { AofFilter, type AofSeg } from '../../src/persistence/aof-filter';
import { feedAof, sideCursor } from '../../src/persistence/aof-side';

const CAPTURE = path.resolve(__dirname, '../../dist/stream-capture.js');

function append(s: Stream, bytes: Buffer): void {
  s.beginAppend();
  s.put(bytes, 0, bytes.length);
  s.endAppend();
}

describe('propagation stream', () => {
  it('appends nothing readers can see before attach, and what follows in order', () => {
    const s = new Stream(createStreamBuffer(1 << 16));
    expect(s.active()).toBe(false);
    const r = s.attach()!;
    expect(s.active()).toBe(true);
    append(s, Buffer.from('abc'));
    append(s, Buffer.alloc(100, 'x'));
    expect(s.offset()).toBe(103);
    expect(r.available()).toBe(103);
    const got = r.read()!;
    expect(got.toString()).toBe('abc' + 'x'.repeat(100));
    r.release();
    expect(r.read()).toBeNull();
    r.detach();
    expect(s.active()).toBe(false);
  });

  it('readInto copies into the caller buffer, at most its length, across the ring end', () => {
    const s = new Stream(createStreamBuffer(1 << 16));
    const r = s.attach()!;
    const into = Buffer.alloc(40000);
    // 50000 + 30000 bytes: the second unit wraps past the 64 KB ring's end.
    append(s, Buffer.alloc(50000, 'a'));
    expect(r.readInto(into)!.toString()).toBe('a'.repeat(40000));
    const rest = r.readInto(into)!;
    expect(rest.length).toBe(10000);
    expect(rest.buffer).toBe(into.buffer);
    r.release();
    const unit = Buffer.from('b'.repeat(15000) + 'c'.repeat(15000));
    append(s, unit);
    expect(Buffer.concat([r.readInto(into)!]).equals(unit)).toBe(true);
    r.release();
    expect(r.readInto(into)).toBeNull();
    r.detach();
  });

  it('putCommand encodes a command as RESP in place, and declines at the ring end or before a reader', () => {
    const s = new Stream(createStreamBuffer(1 << 16));
    const r = s.attach()!;
    const big = Buffer.alloc(120, 'v');
    const argv = [Buffer.from('SET'), Buffer.from('k'), big];
    const resp = Buffer.concat([Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$120\r\n'), big, Buffer.from('\r\n')]);
    const many = Array.from({ length: 12 }, (_, i) => Buffer.from(String(i)));
    s.beginAppend();
    expect(s.putCommand(argv)).toBe(true);
    expect(s.putCommand(many)).toBe(true);
    s.endAppend();
    const manyResp = '*12\r\n' + many.map((b) => `$${b.length}\r\n${b.toString()}\r\n`).join('');
    expect(r.read()!.equals(Buffer.concat([resp, Buffer.from(manyResp)]))).toBe(true);
    r.release();
    // Up to 60 bytes before the ring's end: a command that would wrap is declined, nothing written.
    const filler = Buffer.alloc((1 << 16) - 60 - (resp.length + manyResp.length), 'x');
    append(s, filler);
    r.read();
    r.release();
    const before = s.offset();
    s.beginAppend();
    expect(s.putCommand(argv)).toBe(false);
    s.endAppend();
    expect(s.offset()).toBe(before);
    // Past the ring's end the reader has not consumed: declined as well (put() waits for room).
    append(s, Buffer.alloc(60, 'y'));
    append(s, Buffer.alloc((1 << 16) - 100, 'z'));
    s.beginAppend();
    expect(s.putCommand(argv)).toBe(false);
    s.endAppend();
    r.detach();
  });

  it('wakes a waiting reader at once, or at releaseWakes when the writer holds its wake-ups', async () => {
    const s = new Stream(createStreamBuffer(1 << 16));
    const r = s.attach()!;
    let w = r.waitAsync(5000);
    append(s, Buffer.from('one'));
    expect(await w).toBe('ok');
    r.read();
    r.release();

    w = r.waitAsync(5000);
    let settled = false;
    void w.then(() => (settled = true));
    s.holdWakes();
    append(s, Buffer.from('two'));
    // Published (a reader that looks sees it), not yet notified.
    expect(r.available()).toBe(3);
    await new Promise((res) => setImmediate(res));
    expect(settled).toBe(false);
    s.releaseWakes();
    expect(await w).toBe('ok');
    expect(r.read()!.toString()).toBe('two');
    r.detach();
  });

  it('pushes 8 MB through a 64 KB ring to a reader thread, waiting for room, bytes intact', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-stream-'));
    const file = path.join(dir, 'capture');
    const sab = createStreamBuffer(1 << 16);
    const s = new Stream(sab);
    const r = s.attach()!;
    const reader = new Worker(CAPTURE, { workerData: { stream: sab, slot: r.slot, offset: r.offset, path: file } });
    try {
      const expected: Buffer[] = [];
      let total = 0;
      for (let i = 0; total < 8 << 20; i++) {
        // Pieces from a few bytes to past the ring's size, so writes wrap and wait mid-piece.
        const n = i % 97 === 0 ? 100_000 : 1 + ((i * 7919) % 3000);
        const b = Buffer.alloc(n, i & 0xff);
        if (n >= 4) b.writeUInt32LE(i, 0);
        if (i % 2 === 0) s.holdWakes();
        append(s, b);
        if (i % 2 === 0) s.releaseWakes();
        expected.push(b);
        total += n;
      }
      const want = Buffer.concat(expected);
      for (let t = 0; t < 600; t++) {
        if (fs.existsSync(file) && fs.statSync(file).size >= want.length) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      expect(fs.readFileSync(file).equals(want)).toBe(true);
    } finally {
      await reader.terminate();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  it('side records: the AOF gets each record\'s bytes at its offset and skips what it covers, across the side ring\'s end', () => {
    const s = new Stream(createStreamBuffer(1 << 16));
    const aof = s.attach(true)!;
    const other = s.attach()!;
    expect(s.aofAttached()).toBe(true);
    expect(s.otherReaders()).toBe(1);
    const cmd = (...a: string[]): Buffer => Buffer.from(`*${a.length}\r\n` + a.map((x) => `$${x.length}\r\n${x}\r\n`).join(''));
    const filter = new AofFilter();
    const cur = sideCursor(s);
    const got: Buffer[] = [];
    const want: Buffer[] = [];
    const wantOther: Buffer[] = [];
    const drain = (): void => {
      for (;;) {
        const start = aof.offset;
        const chunk = aof.read(1000); // small reads: records and skips cross chunk ends
        if (chunk === null) break;
        const out: AofSeg[] = [];
        feedAof(s, filter, chunk, start, out, cur);
        for (const seg of out) if (seg.buf.length > 0) got.push(Buffer.from(seg.buf));
      }
      aof.release();
      s.sideFree(cur.tail);
      const o = other.read(1 << 20);
      if (o !== null) wantOther.push(o);
      other.release();
    };
    const seen: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      s.beginAppend();
      const both = cmd('SET', `k${i}`, 'v');
      s.put(both, 0, both.length);
      want.push(both);
      seen.push(both);
      // Every other unit: the replicas get one thing, the AOF another (up to 5 KB: the 32 KB side
      // ring wraps every few units).
      if (i % 2 === 0) {
        const at = s.lastOffset();
        const rep = cmd('SET', `r${i}`, 'x'.repeat(i % 7));
        s.put(rep, 0, rep.length);
        seen.push(rep);
        const part = i % 3 === 0 ? Buffer.alloc(0) : cmd('SET', `a${i}`, 'y'.repeat((i * 37) % 5000));
        expect(s.sideFits(part.length)).toBe(true);
        s.putAofSide(at, s.lastOffset(), part, part.length);
        want.push(part);
      }
      s.endAppend();
      if (i % 3 === 2) drain();
    }
    drain();
    expect(Buffer.concat(got).equals(Buffer.concat(want))).toBe(true);
    // The other reader saw the stream as appended: the replicas' parts, none of the AOF's.
    expect(Buffer.concat(wantOther).equals(Buffer.concat(seen))).toBe(true);
    expect(filter.atBoundary()).toBe(true);
    expect(s.sideFits(40000)).toBe(false);
    // Records left unread are freed when the AOF detaches.
    s.beginAppend();
    for (let i = 0; i < 2; i++) s.putAofSide(s.lastOffset(), s.lastOffset(), Buffer.alloc(10000), 10000);
    s.endAppend();
    expect(s.sideAt(cur.tail)).not.toBeNull();
    aof.detach();
    expect(s.aofAttached()).toBe(false);
    expect(s.sideAt(s.sideTail())).toBeNull();
    // More than the side ring holds, at once: with no AOF nothing is kept and nothing waits.
    s.beginAppend();
    for (let i = 0; i < 10; i++) s.putAofSide(s.lastOffset(), s.lastOffset(), Buffer.alloc(10000), 10000);
    s.endAppend();
    expect(s.sideAt(s.sideTail())).toBeNull();
    other.detach();
  });
});
