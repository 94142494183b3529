// Loading one AOF file (Redis's loadSingleAppendOnlyFile), on the main thread at start-up and for
// DEBUG LOADAOF: an RDB part first when the file starts with "REDIS" (a preamble base, or an old
// single-file AOF with an RDB preamble), then RESP commands, each run through the command table by
// a client with no connection, which takes the command's slot locks like any other (workers answer
// -LOADING meanwhile; nothing propagates: the AOF writer is attached only after loading).
import { SUPERUSER } from '../server/acl';
import { strerror } from '../config/directives';
import type { Socket } from 'net';
import * as fs from 'fs';
import { Client } from '../server/client';
import type { ThreadServer } from '../server/context';
import { checksumSkipped } from '../server/context';
import { lookupCommand, resolveSubcommand } from '../commands/table';
import { RdbError } from './rdb';
import { RdbLoader, loadLimitsOf } from './snapshot';
import { Coordinator } from '../server/coordinator';
import type { Config } from '../config/config';
import { log } from '../server/log';
import type { Store } from '../store/keyspace';

export const AOF_OK = 0;
export const AOF_NOT_EXIST = 1;
export const AOF_EMPTY = 2;
export const AOF_OPEN_ERR = 3;
export const AOF_FAILED = 4;
export const AOF_TRUNCATED = 5;

/** A socket that is never written: the loading client's replies are dropped (Redis's fake client). */
const NO_SOCKET = {
  remoteAddress: undefined, remotePort: 0, localAddress: undefined, localPort: 0, writableLength: 0,
  write: () => true, destroy: () => undefined, destroySoon: () => undefined, on: () => undefined,
} as unknown as Socket;

export interface LoadStats {
  keysLoaded: number;
  /** Bytes of the files consumed so far (INFO loading_loaded_bytes). */
  progress: (bytes: number) => void;
}

export class AofFileLoader {
  private client: Client | null = null;

  constructor(
    private readonly srv: ThreadServer,
    private readonly config: Config,
  ) {}

  private fake(): Client {
    if (this.client === null) {
      this.client = new Client(this.srv, NO_SOCKET);
      this.client.authenticated = true;
      // c->user is NULL for the AOF client: no ACL checks.
      this.client.user = SUPERUSER;
      // Obeyed like a master (Redis's mustObeyClient: CLIENT_ID_AOF): a read-only replica's
      // checks (EVAL's READONLY) do not refuse what the AOF holds. Its replies are dropped anyway.
      this.client.masterHook = () => undefined;
      // Not a connection: not counted among the clients.
      this.srv.clients.delete(this.client.id);
    }
    return this.client;
  }

  /**
   * Load one file. `last`: it is the last file of the set (only the last may be truncated, and
   * only then is it truncated on disk: an earlier torn file stops start-up with nothing changed).
   */
  async load(filePath: string, name: string, legacy: boolean, last: boolean, stats: LoadStats): Promise<number> {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(filePath);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') {
        log('warning', `The append log file ${name} doesn't exist: ${strerror(err)}`);
        return AOF_NOT_EXIST;
      }
      log('warning', `Fatal error: can't open the append log file ${name} for reading: ${strerror(err)}`);
      return AOF_OPEN_ERR;
    }
    if (buf.length === 0) return AOF_EMPTY;
    const store = this.srv.store;
    let pos = 0;
    if (buf.length >= 5 && buf.toString('latin1', 0, 5) === 'REDIS') {
      log('notice', legacy ? 'Reading RDB preamble from AOF file...' : 'Reading RDB base file on AOF loading...');
      try {
        pos = await this.loadRdb(buf, store, stats);
      } catch (e) {
        if (!(e instanceof RdbError)) throw e;
        log('warning', `Internal error in RDB reading offset ${e.offset} of ${name}: ${e.message}`);
        log('warning', legacy ? `Error reading the RDB preamble of the AOF file ${name}, AOF loading aborted` : `Error reading the RDB base file ${name}, AOF loading aborted`);
        return AOF_FAILED;
      }
      stats.progress(pos);
      if (legacy) log('notice', 'Reading the remaining AOF tail...');
    }
    const c = this.fake();
    c.db = 0;
    c.inMulti = false;
    c.multiQueue = [];
    let validUpTo = pos;
    let validBeforeMulti = pos;
    let loops = 0;
    let lastReport = pos;
    const truncatedOk = this.config.bool('aof-load-truncated');
    const w = this.srv.w;
    const eof = (): number => {
      // Unexpected end of file (uxeof).
      if (truncatedOk && last) {
        log('warning', `!!! Warning: short read while loading the AOF file ${name}!!!`);
        log('warning', `!!! Truncating the AOF ${name} at offset ${validUpTo} !!!`);
        try {
          fs.truncateSync(filePath, validUpTo);
        } catch (e) {
          log('warning', `Error truncating the AOF file ${name}: ${strerror(e)}`);
          return this.eofFatal(name);
        }
        log('warning', `AOF ${name} loaded anyway because aof-load-truncated is enabled`);
        return AOF_TRUNCATED;
      }
      if (truncatedOk && !last) {
        log('warning', `!!! Warning: short read while loading the AOF file ${name}!!!`);
        log('warning', 'Fatal error: the truncated file is not the last file');
        return AOF_FAILED;
      }
      return this.eofFatal(name);
    };
    const fmtErr = (): number => {
      log('warning', `Bad file format reading the append only file ${name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>`);
      return AOF_FAILED;
    };
    /** fgets with Redis's 1024-byte buffer: the end of the line from p (after its '\n', or 1023 bytes, or EOF). */
    const lineEnd = (p: number): number => {
      const nl = buf.indexOf(10, p);
      const lim = Math.min(buf.length, p + 1023);
      return nl === -1 || nl + 1 > lim ? lim : nl + 1;
    };
    while (pos < buf.length) {
      if ((loops++ & 1023) === 0 && loops > 1) {
        stats.progress(pos - lastReport);
        lastReport = pos;
        await new Promise((r) => setImmediate(r));
      }
      let le = lineEnd(pos);
      if (buf[pos] === 0x23) {
        // '#': an annotation (timestamps).
        pos = le;
        continue;
      }
      if (buf[pos] !== 0x2a) return fmtErr();
      if (le === pos + 1) return eof();
      const argc = atoi(buf, pos + 1, le);
      if (argc < 1) return fmtErr();
      pos = le;
      const argv: Buffer[] = new Array(argc);
      for (let j = 0; j < argc; j++) {
        if (pos >= buf.length) return eof();
        le = lineEnd(pos);
        if (buf[pos] !== 0x24) return fmtErr();
        const len = atoi(buf, pos + 1, le);
        pos = le;
        if (len < 0 || pos + len > buf.length) return eof();
        argv[j] = Buffer.from(buf.subarray(pos, pos + len));
        pos += len;
        if (pos + 2 > buf.length) return eof();
        pos += 2;
      }
      let spec = lookupCommand(argv[0]);
      if (spec !== undefined && spec.subcommands !== undefined && argv.length >= 2) spec = resolveSubcommand(spec, argv[1]);
      if (spec === undefined) {
        log('warning', `Unknown command '${argv[0].toString('latin1')}' reading the append only file ${name}`);
        return AOF_FAILED;
      }
      if ((spec.arity > 0 && argc !== spec.arity) || argc < -spec.arity) {
        log('warning', `Wrong number of arguments for '${spec.fullName}' reading the append only file ${name}`);
        return AOF_FAILED;
      }
      if (spec.fullName === 'multi') validBeforeMulti = validUpTo;
      if (c.inMulti && spec.fullName !== 'exec') c.multiQueue.push({ spec, argv, sflags: -1 });
      else c.call(spec, argv);
      // The loading client has no reply (dropped).
      w.take();
      validUpTo = pos;
      stats.keysLoaded = store.dirty;
    }
    stats.progress(pos - lastReport);
    if (c.inMulti) {
      log('warning', `Revert incomplete MULTI/EXEC transaction in AOF file ${name}`);
      c.inMulti = false;
      c.multiQueue = [];
      validUpTo = validBeforeMulti;
      return eof();
    }
    return AOF_OK;
  }

  private eofFatal(name: string): number {
    log('warning', `Unexpected end of file reading the append only file ${name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.`);
    return AOF_FAILED;
  }

  /** The RDB part: returns the offset right after it (its checksum). */
  private async loadRdb(buf: Buffer, s: Store, stats: LoadStats): Promise<number> {
    s.lfu = this.config.str('maxmemory-policy').endsWith('-lfu');
    const loader = new RdbLoader(buf, s, loadLimitsOf(this.config), this.config.bool('rdbchecksum') && !checksumSkipped(s));
    const budget = Math.max(1024, this.config.num('loading-process-events-interval-bytes'));
    const coord = Coordinator.of(s);
    let last = 0;
    for (;;) {
      coord.lockAll(false);
      let done: boolean;
      try {
        done = loader.step(budget);
      } finally {
        coord.unlockAll();
      }
      stats.progress(loader.inp.pos - last);
      last = loader.inp.pos;
      if (done) break;
      await new Promise((r) => setImmediate(r));
    }
    stats.keysLoaded += loader.loaded;
    loader.logDone();
    return loader.inp.pos;
  }
}

/** atoi on buf[from, to): leading digits with an optional sign; 0 when none. */
function atoi(buf: Buffer, from: number, to: number): number {
  let i = from;
  let neg = false;
  if (buf[i] === 0x2d) {
    neg = true;
    i++;
  } else if (buf[i] === 0x2b) i++;
  let n = 0;
  for (; i < to; i++) {
    const ch = buf[i];
    if (ch < 0x30 || ch > 0x39) break;
    n = n * 10 + (ch - 0x30);
  }
  return neg ? -n : n;
}
