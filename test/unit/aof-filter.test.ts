// The AOF writer's stream filter (src/persistence/aof-filter.ts): replication-only commands out,
// timestamp annotations in, whatever the chunking of the stream.
import { describe, expect, it } from 'vitest';
import { AofFilter, type AofSeg } from '../../src/persistence/aof-filter';

function cmd(...args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
}

/** Feed `stream` cut at `cuts`; return the file bytes and check the segments cover the stream. */
function run(stream: string, cuts: number[], f = new AofFilter()): string {
  const buf = Buffer.from(stream, 'latin1');
  const segs: AofSeg[] = [];
  let at = 0;
  for (const c of [...cuts, buf.length]) {
    if (c <= at) continue;
    f.feed(buf.subarray(at, c), at, segs);
    at = c;
  }
  // Segments are in stream order, contiguous, and cover every byte once.
  let off = 0;
  for (const s of segs) {
    expect(s.start).toBe(off);
    if (s.len > 0 && s.buf.length > 0) expect(s.buf.toString('latin1')).toBe(stream.slice(s.start, s.start + s.len));
    off += s.len;
  }
  expect(off + f.holding).toBe(buf.length);
  return Buffer.concat(segs.map((s) => s.buf)).toString('latin1');
}

describe('AofFilter', () => {
  const ping = cmd('PING');
  const getack = cmd('REPLCONF', 'GETACK', '*');
  const body = [cmd('SELECT', '0'), cmd('SET', 'k', 'PING'), ping, cmd('INCR', 'n'), getack, cmd('MULTI'), cmd('PING'), cmd('SET', 'a', '*1\r\n$4\r\nPING\r\n'), cmd('EXEC'), cmd('publish', 'ch', 'm'), cmd('DEL', 'k'),
    cmd('MULTI'), cmd('PUBLISH', 'ch', 'x'), cmd('SET', 'b', '1'), cmd('SPUBLISH', 'ch', 'y'), cmd('EXEC')];
  const stream = body.join('');
  const want = [body[0], body[1], body[3], body[5], body[6], body[7], body[8], body[10], body[11], body[13], body[15]].join('');

  it('drops PING, REPLCONF and PUBLISH at top level, and only PUBLISH inside MULTI, at every cut', () => {
    expect(run(stream, [])).toBe(want);
    for (let c = 1; c < stream.length; c++) expect(run(stream, [c])).toBe(want);
    // Byte by byte.
    expect(run(stream, Array.from({ length: stream.length }, (_, i) => i + 1))).toBe(want);
  });

  it('holds only an incomplete command whose name is not known yet', () => {
    const f = new AofFilter();
    const segs: AofSeg[] = [];
    const s = Buffer.from(cmd('SET', 'k', 'v') + '*1\r\n$4\r\nPI', 'latin1');
    f.feed(s, 0, segs);
    expect(f.holding).toBe(10);
    expect(Buffer.concat(segs.map((x) => x.buf)).toString()).toBe(cmd('SET', 'k', 'v'));
    f.feed(Buffer.from('NG\r\n'), s.length, segs);
    expect(f.holding).toBe(0);
    const last = segs[segs.length - 1];
    expect(last.buf.length).toBe(0);
    expect(last.start + last.len).toBe(s.length + 4);
  });

  it('annotates a command with #TS when the second changed, never inside MULTI', () => {
    const f = new AofFilter();
    f.timestamps = true;
    let t = 1000;
    f.now = () => t;
    const a = cmd('SET', 'a', '1');
    expect(run(a + a, [5], f)).toBe(`#TS:1000\r\n${a}${a}`);
    t = 1001;
    const tx = cmd('MULTI') + a + cmd('EXEC');
    const out = run(tx, [3], f);
    expect(out).toBe(`#TS:1001\r\n${tx}`);
    t = 1002;
    expect(run(ping + a, [], f)).toBe(`#TS:1002\r\n${a}`);
  });

  it('passes non-RESP bytes through', () => {
    expect(run(cmd('SET', 'a', 'b') + 'garbage\r\n', [3])).toBe(cmd('SET', 'a', 'b') + 'garbage\r\n');
  });
});
