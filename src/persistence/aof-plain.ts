// aof-use-rdb-preamble no: the rewrite's base as commands (Redis's rewriteAppendOnlyFileRio). The
// snapshot machinery writes RDB; this turns that point-in-time file into FUNCTION LOAD per
// library first, then SELECT, SET, RPUSH,
// SADD, ZADD, HMSET (64 items per command, AOF_REWRITE_ITEMS_PER_CMD), a stream's XADD per entry
// + XSETID (rdb-stream.ts's streamRewrite, as rewriteStreamObject) and PEXPIREAT per key,
// skipping keys already expired, and replaces the file with it (temp file, fsync, rename).
import * as fs from 'fs';
import * as path from 'path';
import type { Config } from '../config/config';
import { RdbIn, readValue, OP_AUX, OP_EOF, OP_EXPIRETIME, OP_EXPIRETIME_MS, OP_FREQ, OP_FUNCTION2, OP_IDLE, OP_RESIZEDB, OP_SELECTDB } from './rdb';
import { T_STRING, T_LIST, T_SET, T_ZSET, T_HASH, T_STREAM } from '../store/keyspace';
import { streamRewrite, type DecodedStream } from './rdb-stream';
import { formatDouble } from '../protocol/writer';

const ITEMS_PER_CMD = 64;

class Out {
  private parts: Buffer[] = [];
  private size = 0;
  constructor(private readonly fd: number) {}

  cmd(args: Array<Buffer | string>): void {
    this.push(Buffer.from(`*${args.length}\r\n`));
    for (const a of args) {
      const b = typeof a === 'string' ? Buffer.from(a) : a;
      this.push(Buffer.from(`$${b.length}\r\n`));
      this.push(b);
      this.push(CRLF);
    }
    if (this.size > 1 << 20) this.flush();
  }

  private push(b: Buffer): void {
    this.parts.push(b);
    this.size += b.length;
  }

  flush(): void {
    if (this.size === 0) return;
    const all = Buffer.concat(this.parts);
    let off = 0;
    while (off < all.length) off += fs.writeSync(this.fd, all, off, all.length - off);
    this.parts = [];
    this.size = 0;
  }
}

const CRLF = Buffer.from('\r\n');

export async function rdbToCommands(file: string, config: Config): Promise<void> {
  const inp = new RdbIn(fs.readFileSync(file));
  const tmp = path.join(path.dirname(file), `temp-plain-${process.pid}.aof`);
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    // aof-timestamp-enabled: the base starts with the time of the rewrite (rewriteAppendOnlyFileRio).
    if (config.bool('aof-timestamp-enabled')) fs.writeSync(fd, Buffer.from(`#TS:${Math.floor(Date.now() / 1000)}\r\n`, 'latin1'));
    const out = new Out(fd);
    inp.take(9);
    const now = Date.now();
    let db = -1;
    let selected = -1;
    let expireAt = -1;
    for (;;) {
      const type = inp.u8();
      if (type === OP_EOF) break;
      switch (type) {
        case OP_AUX:
          inp.str();
          inp.str();
          continue;
        case OP_SELECTDB:
          db = inp.count();
          continue;
        case OP_RESIZEDB:
          inp.count();
          inp.count();
          continue;
        case OP_EXPIRETIME:
          expireAt = inp.secs() * 1000;
          continue;
        case OP_EXPIRETIME_MS:
          expireAt = inp.millis();
          continue;
        case OP_FREQ:
          inp.u8();
          continue;
        case OP_IDLE:
          inp.count();
          continue;
        case OP_FUNCTION2:
          // The libraries come first, as Redis's rewriteFunctions writes them.
          out.cmd(['FUNCTION', 'LOAD', Buffer.from(inp.str())]);
          continue;
      }
      const key = Buffer.from(inp.str());
      const d = readValue(inp, type);
      const exp = expireAt;
      expireAt = -1;
      if (exp !== -1 && exp < now) continue;
      if (db !== selected) {
        out.cmd(['SELECT', String(db)]);
        selected = db;
      }
      const batches = (name: string, items: Buffer[], per: number): void => {
        for (let i = 0; i < items.length; i += ITEMS_PER_CMD * per) out.cmd([name, key, ...items.slice(i, i + ITEMS_PER_CMD * per)]);
      };
      switch (d.type) {
        case T_STRING:
          out.cmd(['SET', key, d.items[0]]);
          break;
        case T_LIST:
          batches('RPUSH', d.items, 1);
          break;
        case T_SET:
          batches('SADD', d.items, 1);
          break;
        case T_HASH:
          batches('HMSET', d.items, 2);
          break;
        case T_ZSET: {
          const sc = d.scores as number[];
          const pairs: Buffer[] = [];
          for (let i = 0; i < d.items.length; i++) pairs.push(Buffer.from(formatDouble(sc[i])), d.items[i]);
          batches('ZADD', pairs, 2);
          break;
        }
        case T_STREAM:
          // rewriteStreamObject: XADD per entry, XSETID, the groups' XGROUP/XCLAIM.
          streamRewrite(key, d.stream as DecodedStream, (argv) => out.cmd(argv));
          break;
      }
      if (exp !== -1) out.cmd(['PEXPIREAT', key, String(exp)]);
    }
    out.flush();
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
