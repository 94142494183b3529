// The AOF on the main thread (Redis 7.0's multi-part layout, aof.c): loading at start-up (manifest,
// base, incr files; a legacy single appendonly.aof is upgraded into the directory first), opening
// the AOF (a base for an empty start, the last INCR file), the writer thread (aof-writer.ts) that
// appends the propagation stream, rewrites (BGREWRITEAOF, auto-aof-rewrite-*, CONFIG SET
// appendonly yes) from a fork-less snapshot, and the state INFO shows (aof-state.ts).
import { strerror } from '../config/directives';
import { Worker } from 'worker_threads';
import * as fs from 'fs';
import * as path from 'path';
import type { Config } from '../config/config';
import { Store } from '../store/keyspace';
import type { Stream } from '../server/stream';
import { ThreadServer } from '../server/context';
import { Stream as StreamClass, createStreamBuffer } from '../server/stream';
import { log } from '../server/log';
import { M_LOADING } from '../server/context';
import {
  type AofManifest, emptyManifest, readManifest, writeManifest, ManifestError, newIncrName, newBaseName, fsyncDir,
} from './aof-manifest';
import {
  AofShared, A_ENABLED, A_HOLD, A_REWRITE_IN_PROGRESS, A_REWRITE_SCHEDULED, A_SWITCH_SEQ, A_SWITCH_DONE, A_LAST_BGREWRITE_OK, A_LOADING_AOF,
  F_SWITCH_AT, F_CURRENT_SIZE, F_BASE_SIZE, F_LAST_REWRITE_SECS, F_REWRITE_START, F_REWRITES, F_REWRITE_FAILURES,
  F_LAST_INCR_SIZE, A_WRITE_ERR, F_SWITCH_DB, A_TIMESTAMPS, F_LAST_COW,
} from './aof-state';
import type { FsyncPolicy, WriterData, WriterMessage } from './aof-writer';
import { AofFileLoader, AOF_OK, AOF_NOT_EXIST, AOF_EMPTY, AOF_OPEN_ERR, AOF_FAILED, AOF_TRUNCATED } from './aof-load';
import { RdbOut, writeHeader, writeTrailer } from './rdb';
import * as fsp from 'fs/promises';
import { emptyKeyspace, type Persistence, type SnapshotTarget } from './snapshot';
import { SaveChild } from './child';
import { pget, pset, P_COW_NOW, P_LOADING_START, P_LOADING_TOTAL, P_LOADING_LOADED, P_LOADING_KEYS, P_DIRTY_AT_SAVE } from './state';

export class AofFatal extends Error {}

export class Aof {
  readonly shared = AofShared.create();
  private writer: Worker | null = null;
  private nextId = 1;
  private readonly waiters = new Map<number, (m: { ok: boolean; [k: string]: unknown }) => void>();
  private loaderSrv: ThreadServer | null = null;

  constructor(
    private readonly store: Store,
    private readonly config: Config,
    private readonly stream: Stream,
    private readonly streamSab: SharedArrayBuffer,
    private readonly threads: number,
    private readonly dirty: () => number,
  ) {}

  /** `appenddirname`, under `dir` (the process works in `dir`, as redis-server does). */
  dir(): string {
    return path.resolve(this.config.str('appenddirname'));
  }

  private filename(): string {
    return this.config.str('appendfilename');
  }

  private fsyncPolicy(): FsyncPolicy {
    return this.config.str('appendfsync') as FsyncPolicy;
  }

  get on(): boolean {
    return this.writer !== null;
  }

  // ---- loading ----------------------------------------------------------------------------------

  /** aofLoadManifestFromDisk: null manifest (no dir / no file) is an empty one; errors are fatal. */
  private loadManifest(): AofManifest {
    try {
      return readManifest(this.dir(), this.filename()) ?? emptyManifest();
    } catch (e) {
      if (e instanceof ManifestError) {
        log('warning', '\n*** FATAL AOF MANIFEST FILE ERROR ***\n');
        if (e.text !== null) {
          log('warning', `Reading the manifest file, at line ${e.line}\n`);
          log('warning', `>>> '${e.text}'\n`);
        }
        log('warning', `${e.message}\n`);
        throw new AofFatal(e.message);
      }
      log('warning', `Fatal error: can't open the AOF manifest file ${this.filename()}.manifest for reading: ${strerror(e)}`);
      throw new AofFatal((e as Error).message);
    }
  }

  /** aofUpgradePrepare: an old single appendonly.aof becomes the base of a new directory. */
  private upgradeIfNeeded(am: AofManifest): void {
    const fname = this.filename();
    const dir = this.dir();
    if (!exists(fname)) return;
    const dirExists = isDir(dir);
    if (!(!dirExists || (am.base === null && am.incr.length === 0) ||
        (am.base !== null && am.incr.length === 0 && am.base.name === fname && !exists(path.join(dir, fname))))) return;
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
      log('warning', `Can't open or create append-only dir ${path.basename(dir)}: ${strerror(e)}`);
      throw new AofFatal('mkdir');
    }
    am.base = { name: fname, seq: 1, type: 'b' };
    am.baseSeq = 1;
    try {
      writeManifest(dir, fname, am);
    } catch (e) {
      log('warning', `Can't write the AOF manifest: ${strerror(e)}`);
      throw new AofFatal('manifest');
    }
    try {
      fs.renameSync(fname, path.join(dir, fname));
    } catch (e) {
      log('warning', `Error trying to move the old AOF file ${fname} into dir ${path.basename(dir)}: ${strerror(e)}`);
      throw new AofFatal('rename');
    }
    log('notice', `Successfully migrated an old-style AOF file (${fname}) into the AOF directory (${path.basename(dir)}).`);
  }

  private loader(): AofFileLoader {
    if (this.loaderSrv === null) {
      // A thread context for the loading client, on a private stream nobody reads (the main
      // thread's own Propagator stays the only one appending active expiry's DELs).
      // Its own Store object over the same shared keyspace: expired keys count as live while
      // loading and expire commands in the past set the TTL (noExpiry, expireOnAccess off: Redis
      // does not expire while loading), and the main thread's listeners stay out.
      const ls = new Store(this.store.heap, this.store.L);
      ls.noExpiry = true;
      ls.expireOnAccess = false;
      this.loaderSrv = new ThreadServer(0, this.threads, ls, this.config, new StreamClass(createStreamBuffer(1 << 16)));
    }
    return new AofFileLoader(this.loaderSrv, this.config);
  }

  /**
   * loadAppendOnlyFiles. Returns AOF_OK / AOF_NOT_EXIST / AOF_EMPTY / AOF_TRUNCATED; throws
   * AofFatal when start-up must stop (the reason is logged).
   */
  async loadAtStartup(): Promise<number> {
    const am = this.loadManifest();
    this.upgradeIfNeeded(am);
    const t0 = Date.now();
    const r = await this.loadFiles(am);
    if (r === AOF_FAILED || r === AOF_OPEN_ERR) throw new AofFatal('AOF loading failed');
    if (r !== AOF_NOT_EXIST) log('notice', `DB loaded from append only file: ${((Date.now() - t0) / 1000).toFixed(3)} seconds`);
    this.startManifest = am;
    return r;
  }

  private startManifest: AofManifest | null = null;

  private async loadFiles(am: AofManifest): Promise<number> {
    if (am.base === null && am.incr.length === 0) return AOF_NOT_EXIST;
    const dir = this.dir();
    const files = [...(am.base !== null ? [am.base] : []), ...am.incr];
    let total = 0;
    let baseSize = 0;
    for (const f of files) {
      try {
        const sz = fs.statSync(path.join(dir, f.name)).size;
        total += sz;
        if (f === am.base) baseSize = sz;
      } catch (e) {
        log('warning', `Unable to obtain the AOF file ${f.name} length. stat: ${strerror(e)}`);
        return AOF_FAILED;
      }
    }
    if (total === 0) return AOF_EMPTY;
    const s = this.store;
    pset(s, P_LOADING_START, Math.floor(Date.now() / 1000));
    pset(s, P_LOADING_TOTAL, total);
    pset(s, P_LOADING_LOADED, 0);
    pset(s, P_LOADING_KEYS, 0);
    this.shared.set(A_LOADING_AOF, 1);
    let loaded = 0;
    const stats = {
      keysLoaded: 0,
      progress: (n: number): void => {
        loaded += n;
        pset(s, P_LOADING_LOADED, loaded);
      },
    };
    const ld = this.loader();
    const ls = (this.loaderSrv as ThreadServer).store;
    ls.lfu = this.config.str('maxmemory-policy').endsWith('-lfu');
    let ret = AOF_OK;
    try {
      for (let i = 0; i < files.length; i++) {
        const f = files[i];
        const last = i === files.length - 1;
        const start = Date.now();
        ret = await ld.load(path.join(dir, f.name), f.name, f.name === this.filename() && f === am.base, last, stats);
        if (ret === AOF_OK || (ret === AOF_TRUNCATED && last)) {
          log('notice', `DB loaded from ${f === am.base ? 'base' : 'incr'} file ${f.name}: ${((Date.now() - start) / 1000).toFixed(3)} seconds`);
        }
        if (ret === AOF_EMPTY || ret === AOF_NOT_EXIST) ret = f === am.base && ret === AOF_NOT_EXIST ? AOF_FAILED : AOF_OK;
        if (ret === AOF_OPEN_ERR || ret === AOF_FAILED) return ret;
      }
    } finally {
      this.shared.set(A_LOADING_AOF, 0);
    }
    this.shared.f64[F_CURRENT_SIZE] = fileSizes(dir, files.map((f) => f.name));
    this.shared.f64[F_BASE_SIZE] = baseSize;
    this.rewriteBaseSize = baseSize;
    // Loading counts no changes to save.
    pset(s, P_DIRTY_AT_SAVE, this.dirty());
    return ret;
  }

  /** aof_rewrite_base_size: the AOF's size after the last rewrite (auto-aof-rewrite-percentage). */
  private rewriteBaseSize = 0;

  // ---- opening ----------------------------------------------------------------------------------

  /**
   * aofOpenIfNeededOnServerStart (appendonly yes): the directory, a base when the dataset starts
   * empty with no AOF, the last INCR file (or a new one), the manifest, then the writer thread.
   */
  openOnStart(): void {
    const am = this.startManifest ?? this.loadManifest();
    this.startManifest = null;
    const dir = this.dir();
    const fname = this.filename();
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
      log('warning', `Can't open or create append-only dir ${path.basename(dir)}: ${strerror(e)}`);
      throw new AofFatal('mkdir');
    }
    const hadIncr = am.incr.length > 0;
    if (am.base === null && !hadIncr) {
      const preamble = this.config.bool('aof-use-rdb-preamble');
      const base = newBaseName(am, fname, preamble);
      try {
        writeEmptyBase(path.join(dir, base.name), preamble, this.config.bool('rdbchecksum'));
      } catch (e) {
        log('warning', `Write error writing append only file on disk: ${strerror(e)}`);
        throw new AofFatal('base');
      }
      log('notice', `Creating AOF base file ${base.name} on server start`);
    }
    const incr = hadIncr ? am.incr[am.incr.length - 1] : newIncrName(am, fname);
    try {
      fs.closeSync(fs.openSync(path.join(dir, incr.name), 'a', 0o644));
      writeManifest(dir, fname, am);
    } catch (e) {
      log('warning', `Can't open the append-only file ${incr.name}: ${strerror(e)}`);
      throw new AofFatal('incr');
    }
    log('notice', `${hadIncr ? 'Opening' : 'Creating'} AOF incr file ${incr.name} on server start`);
    this.delHistory(am);
    const names = [...(am.base !== null ? [am.base.name] : []), ...am.incr.map((i) => i.name)];
    this.shared.f64[F_CURRENT_SIZE] = fileSizes(dir, names);
    this.shared.f64[F_BASE_SIZE] = am.base !== null ? fileSizes(dir, [am.base.name]) : 0;
    if (this.rewriteBaseSize === 0) this.rewriteBaseSize = this.shared.f64[F_BASE_SIZE];
    this.startWriter(am);
  }

  private delHistory(am: AofManifest): void {
    if (this.config.bool('aof-disable-auto-gc') || am.history.length === 0) return;
    for (const h of am.history) {
      log('notice', `Removing the history file ${h.name} in the background`);
      fs.unlink(path.join(this.dir(), h.name), () => undefined);
    }
    am.history = [];
    try {
      writeManifest(this.dir(), this.filename(), am);
    } catch (e) {
      log('warning', `Can't persist the AOF manifest: ${strerror(e)}`);
    }
  }

  /** Attach the writer thread to the stream from now on (every write after this reaches the file). */
  private startWriter(am: AofManifest, temp = false, selectDb = -1): void {
    this.noteSeqs(am);
    const r = this.stream.attach(true);
    if (r === null) throw new AofFatal('no free stream reader slot for the AOF writer');
    const data: WriterData = {
      stream: this.streamSab, slot: r.slot, offset: r.offset, aof: this.shared.sab, dir: this.dir(), filename: this.filename(),
      manifest: am, fsync: this.fsyncPolicy(), noFsyncOnRewrite: this.config.bool('no-appendfsync-on-rewrite'),
      disableAutoGc: this.config.bool('aof-disable-auto-gc'), loglevel: this.config.str('loglevel'), logfile: this.config.str('logfile'),
      temp, selectDb,
    };
    // Replies wait for the write (and under always the fsync) from the first unit on.
    this.shared.set(A_TIMESTAMPS, this.config.bool('aof-timestamp-enabled') ? 1 : 0);
    this.shared.set(A_HOLD, 1);
    this.shared.set(A_WRITE_ERR, 0);
    if (!temp) this.shared.set(A_ENABLED, 1);
    const w = new Worker(path.join(__dirname, 'aof-writer.js'), { workerData: data });
    this.writer = w;
    w.on('message', (m: { type: string; id?: number; ok?: boolean; message?: string; [k: string]: unknown }) => {
      if (m.type === 'fatal') {
        log('warning', m.message as string);
        process.exit(1);
      }
      if (m.type === 'switched') {
        this.onSwitched?.(m.ok === true);
        return;
      }
      if (m.id !== undefined) {
        const cb = this.waiters.get(m.id);
        this.waiters.delete(m.id);
        cb?.(m as { ok: boolean });
      }
    });
    w.on('error', (e) => {
      log('warning', `AOF writer thread failed: ${e.stack ?? e.message}`);
      process.exit(1);
    });
  }

  /** Called by the writer's 'switched' message (the rewrite in progress listens). */
  private onSwitched: ((ok: boolean) => void) | null = null;

  private ask(msg: Record<string, unknown>): Promise<{ ok: boolean; [k: string]: unknown }> {
    const w = this.writer;
    if (w === null) return Promise.resolve({ ok: false });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiters.set(id, resolve);
      w.postMessage({ ...msg, id } as WriterMessage);
    });
  }

  /** Write and fsync everything appended so far (SHUTDOWN, DEBUG LOADAOF). */
  async flush(): Promise<boolean> {
    if (this.writer === null) return true;
    return (await this.ask({ type: 'flush' })).ok;
  }

  /** stopAppendOnly: flush, fsync, close; the writer detaches from the stream. */
  async stop(discardTemp = false): Promise<void> {
    const w = this.writer;
    if (w === null) return;
    const r = await this.ask({ type: 'stop', discardTemp });
    if (r.manifest !== undefined) this.noteSeqs(r.manifest as AofManifest);
    this.writer = null;
    this.shared.set(A_HOLD, 0);
    await w.terminate();
  }

  /** A CONFIG SET of an AOF directive (the main thread's copy of the config is updated). */
  onConfig(name: string): void {
    // Read by the writer at each chunk: in effect before CONFIG SET's reply (it waits for main).
    this.shared.set(A_TIMESTAMPS, this.config.bool('aof-timestamp-enabled') ? 1 : 0);
    if (name === 'appendfsync' || name === 'no-appendfsync-on-rewrite' || name === 'aof-disable-auto-gc') {
      if (this.writer === null) return;
      const msg = {
        type: 'config', fsync: this.fsyncPolicy(), noFsyncOnRewrite: this.config.bool('no-appendfsync-on-rewrite'),
        disableAutoGc: this.config.bool('aof-disable-auto-gc'),
      };
      // Turning auto gc back on removes the history files before CONFIG SET replies, as Redis's
      // updateAofAutoGCEnabled (its reply waits for appendonlySettled).
      if (name === 'aof-disable-auto-gc') this.appendonlyChain = this.appendonlyChain.then(() => this.ask(msg)).then(() => undefined);
      else this.writer.postMessage(msg as WriterMessage);
    }
  }

  // ---- DEBUG LOADAOF --------------------------------------------------------------------------

  /** DEBUG LOADAOF: flush the AOF, empty the dataset, load the AOF again. Null when ok. */
  async debugLoad(): Promise<string | null> {
    if (this.writer !== null) await this.flush();
    const s = this.store;
    // Other clients get -LOADING meanwhile, as Redis's startLoading.
    Atomics.store(s.i32, s.L.misc + M_LOADING, 1);
    try {
      return await this.reloadAll();
    } finally {
      Atomics.store(s.i32, s.L.misc + M_LOADING, 0);
    }
  }

  private async reloadAll(): Promise<string | null> {
    emptyKeyspace(this.store);
    const am = this.loadManifestQuiet();
    if (am === null) return 'Error loading the AOF manifest';
    // As Redis's aofLoadManifestFromDisk: the manifest on disk replaces the one in memory, its
    // sequence numbers too (after a rewrite with the AOF off left no INCR file, the next is seq 1).
    this.seqFloor = { base: am.baseSeq, incr: am.incrSeq };
    // The writer keeps appending meanwhile; the loading client's writes do not propagate.
    const r = await this.loadFiles(am);
    if (r !== AOF_OK && r !== AOF_EMPTY && r !== AOF_NOT_EXIST && r !== AOF_TRUNCATED) return 'Error loading the AOF';
    return null;
  }

  private loadManifestQuiet(): AofManifest | null {
    try {
      return readManifest(this.dir(), this.filename()) ?? emptyManifest();
    } catch {
      return null;
    }
  }

  // ---- rewrite ---------------------------------------------------------------------------------

  get rewriteInProgress(): boolean {
    return this.shared.get(A_REWRITE_IN_PROGRESS) !== 0;
  }

  private persistence: Persistence | null = null;
  /** The highest sequence numbers used (Redis keeps its manifest in memory: names never repeat). */
  private seqFloor = { base: 0, incr: 0 };

  private noteSeqs(am: AofManifest): void {
    this.seqFloor.base = Math.max(this.seqFloor.base, am.baseSeq);
    this.seqFloor.incr = Math.max(this.seqFloor.incr, am.incrSeq);
  }

  private manifestFromDisk(): AofManifest {
    const am = readManifestOr(this.dir(), this.filename());
    am.baseSeq = Math.max(am.baseSeq, this.seqFloor.base);
    am.incrSeq = Math.max(am.incrSeq, this.seqFloor.incr);
    return am;
  }
  private switchSeq = 0;
  /** Bumped when a running rewrite is abandoned (CONFIG SET appendonly no): its result is dropped. */
  private rewriteGen = 0;
  /** Consecutive failures' back-off (aofRewriteLimited). */
  private nextDelayMinutes = 0;
  private nextRewriteTime = 0;

  setPersistence(p: Persistence): void {
    this.persistence = p;
  }

  /** BGREWRITEAOF: the reply's text, or an error (prefixed ERR). `inExec`: schedule it. */
  bgrewriteaof(inExec: boolean): string {
    if (this.rewriteInProgress) return 'ERR Background append only file rewriting already in progress';
    if ((this.persistence?.rdbChild ?? false) || inExec) {
      this.shared.set(A_REWRITE_SCHEDULED, 1);
      this.shared.f64[F_REWRITE_FAILURES] = 0;
      return 'Background append only file rewriting scheduled';
    }
    if (!this.startRewrite()) return "ERR Can't execute an AOF background rewriting. Please check the server logs for more information.";
    return 'Background append only file rewriting started';
  }

  /**
   * rewriteAppendOnlyFileBackground: a snapshot with the AOF preamble mark into a temp file while
   * clients keep writing; at its point in time (every slot locked) the writer is told to open a
   * new INCR file there; when the snapshot is durable the writer makes it the base and the older
   * files history. Runs in the background; false when it could not start.
   */
  startRewrite(): boolean {
    const p = this.persistence;
    if (p === null || this.rewriteInProgress) return false;
    const dir = this.dir();
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
      log('warning', `Can't open or create append-only dir ${path.basename(dir)}: ${strerror(e)}`);
      this.shared.set(A_LAST_BGREWRITE_OK, 0);
      return false;
    }
    this.shared.set(A_REWRITE_IN_PROGRESS, 1);
    this.shared.set(A_REWRITE_SCHEDULED, 0);
    this.shared.f64[F_REWRITE_START] = Date.now();
    this.shared.f64[F_REWRITES] += 1;
    const waiting = this.writer === null && this.config.bool('appendonly');
    const seq = ++this.switchSeq;
    // The stand-in for Redis's rewrite child: the temp base and the log name its pid.
    const child = SaveChild.start('shardis-aof-rewrite');
    this.rewriteChild = child;
    const tmp = path.join(dir, `temp-rewriteaof-bg-${child.pid}.aof`);
    const preamble = this.config.bool('aof-use-rdb-preamble');
    log('notice', `Background append only file rewriting started by pid ${child.pid}`);
    const writerAtStart = this.writer;
    const onStart = (): void => {
      // A replica's stream is its master's bytes, which re-select their db only when it changes:
      // a file starting here starts with the db they are in (Redis's aof_selected_db = -1).
      const db = this.replicaDb();
      if (waiting) {
        // CONFIG SET appendonly yes: the writer starts at the snapshot's point in time, into a
        // temp INCR file the manifest names only once the base is in place.
        this.startWriter(this.manifestFromDisk(), true, db);
      } else if (this.writer !== null) {
        // The new INCR file starts with SELECT (Redis sets aof_selected_db = -1 here): the next
        // unit appended re-selects its db. Every slot is locked, so no unit is in between; the
        // switch point is set under the append lock, where a worker writing the AOF itself reads
        // its end and whether a switch is pending (aof-inline.ts).
        this.stream.beginAppend();
        this.shared.f64[F_SWITCH_AT] = this.stream.lastOffset();
        this.shared.f64[F_SWITCH_DB] = db;
        this.stream.db = -1;
        Atomics.store(this.shared.i32, A_SWITCH_SEQ, seq);
        this.stream.endAppend();
      }
    };
    const t0 = Date.now();
    const gen = ++this.rewriteGen;
    this.rewriteTmp = tmp;
    const aborted = (): boolean => gen !== this.rewriteGen;
    void p
      .snapshot({ onStart, path: tmp, aofBase: preamble, stats: false, aborted, child } satisfies SnapshotTarget)
      .then(async (ok) => {
        child.stop();
        if (gen !== this.rewriteGen) {
          await fsp.unlink(tmp).catch(() => undefined);
          return;
        }
        if (!ok && child.status !== 0) {
          // Its child was killed (or exited): the snapshot removed its temp file.
          await this.switchSettled(seq);
          this.rewriteDone(false, 0, t0, waiting, child.signal);
          return;
        }
        let done = ok;
        let baseSize = 0;
        if (ok) {
          // What the writers copied for this snapshot (the child's copy-on-write in Redis).
          this.shared.f64[F_LAST_COW] = pget(this.store, P_COW_NOW);
          log('notice', `Successfully created the temporary AOF base file ${path.basename(tmp)}`);
          log('notice', 'Background AOF rewrite terminated with success');
          if (!preamble) await toPlainAof(tmp, this.config);
          if (this.writer !== null && (this.writer === writerAtStart || waiting)) {
            const r = await this.ask({ type: 'install-base', tmp, rdbPreamble: preamble, switchSeq: waiting ? -1 : seq });
            done = r.ok;
            baseSize = (r.baseSize as number | undefined) ?? 0;
            if (!r.ok) log('warning', `Background AOF rewrite failed: ${String(r.error ?? '')}`);
          } else if (this.writer === null && !this.config.bool('appendonly')) {
            const r = this.installOffline(tmp, preamble);
            done = r >= 0;
            baseSize = Math.max(0, r);
          } else {
            done = false;
          }
        }
        if (!done) {
          await fsp.unlink(tmp).catch(() => undefined);
          await this.switchSettled(seq);
        }
        this.rewriteDone(done, baseSize, t0, waiting);
      })
      .catch((e: unknown) => {
        child.stop();
        log('warning', `Background AOF rewrite failed: ${strerror(e)}`);
        this.rewriteDone(false, 0, t0, waiting);
      });
    return true;
  }

  /**
   * Wait (up to 2 s) for the writer to open the INCR file this rewrite asked for, if it asked:
   * Redis opens it before it forks, so a rewrite that fails, however early, leaves it in the
   * manifest by the time the failure shows.
   */
  private async switchSettled(seq: number): Promise<void> {
    const i32 = this.shared.i32;
    for (let i = 0; i < 400 && this.writer !== null && Atomics.load(i32, A_SWITCH_SEQ) === seq && Atomics.load(i32, A_SWITCH_DONE) !== seq; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** backgroundRewriteDoneHandler's bookkeeping. */
  private rewriteDone(ok: boolean, baseSize: number, t0: number, waiting: boolean, bySignal = 0): void {
    this.shared.f64[F_LAST_REWRITE_SECS] = Math.floor((Date.now() - t0) / 1000);
    this.shared.f64[F_REWRITE_START] = 0;
    this.shared.set(A_REWRITE_IN_PROGRESS, 0);
    if (ok) {
      this.shared.set(A_LAST_BGREWRITE_OK, 1);
      this.shared.f64[F_REWRITE_FAILURES] = 0;
      this.rewriteBaseSize = this.shared.f64[F_CURRENT_SIZE];
      void baseSize;
      if (waiting) {
        this.shared.set(A_ENABLED, 1);
        log('notice', 'Background AOF rewrite finished successfully');
      } else log('notice', 'Background AOF rewrite finished successfully');
    } else {
      // SIGUSR1 (10) is how Redis stops a child without an error.
      if (bySignal !== 10) {
        this.shared.set(A_LAST_BGREWRITE_OK, 0);
        this.shared.f64[F_REWRITE_FAILURES] += 1;
      }
      if (bySignal !== 0) log('warning', `Background AOF rewrite terminated by signal ${bySignal}`);
      else log('warning', 'Background AOF rewrite terminated with error');
      // A rewrite that was to turn the AOF on failed: start over (a new point in time).
      if (waiting && this.writer !== null) {
        void this.stop(true).then(() => this.shared.set(A_REWRITE_SCHEDULED, 1));
      }
    }
  }

  /** BGREWRITEAOF with the AOF off: the base replaces everything in the manifest. */
  private installOffline(tmp: string, preamble: boolean): number {
    const dir = this.dir();
    const fname = this.filename();
    const am = this.manifestFromDisk();
    const base = newBaseName(am, fname, preamble);
    for (const i of am.incr) am.history.push({ ...i, type: 'h' });
    am.incr = [];
    try {
      fs.renameSync(tmp, path.join(dir, base.name));
      writeManifest(dir, fname, am);
    } catch (e) {
      log('warning', `Error trying to rename the temporary AOF file ${path.basename(tmp)} into ${base.name}: ${strerror(e)}`);
      return -1;
    }
    this.noteSeqs(am);
    this.delHistory(am);
    return fileSizes(dir, [base.name]);
  }

  /** aofRewriteLimited: after 3 consecutive failures, 1, 2, 4 ... 60 minutes between tries. */
  private rewriteLimited(): boolean {
    if (this.shared.f64[F_REWRITE_FAILURES] < 3) {
      this.nextDelayMinutes = 0;
      this.nextRewriteTime = 0;
      return false;
    }
    const now = Math.floor(Date.now() / 1000);
    if (this.nextRewriteTime !== 0) {
      if (now < this.nextRewriteTime) return true;
      this.nextRewriteTime = 0;
      return false;
    }
    this.nextDelayMinutes = this.nextDelayMinutes === 0 ? 1 : Math.min(60, this.nextDelayMinutes * 2);
    this.nextRewriteTime = now + this.nextDelayMinutes * 60;
    log('warning', `Background AOF rewrite has repeatedly failed and triggered the limit, will retry in ${this.nextDelayMinutes} minutes`);
    return true;
  }

  /** serverCron's AOF duties: a scheduled rewrite, auto-aof-rewrite-percentage, write errors. */
  cron(): void {
    const busy = this.rewriteInProgress || (this.persistence?.rdbChild ?? false);
    if (!busy && this.shared.get(A_REWRITE_SCHEDULED) !== 0 && !this.rewriteLimited()) {
      if (this.config.bool('appendonly') && this.writer === null) this.startAppendOnly();
      else this.startRewrite();
      return;
    }
    const perc = this.config.num('auto-aof-rewrite-percentage');
    const cur = this.shared.f64[F_CURRENT_SIZE];
    if (this.writer !== null && this.shared.get(A_ENABLED) === 1 && !busy && perc > 0 && cur > this.config.num('auto-aof-rewrite-min-size')) {
      const base = this.rewriteBaseSize > 0 ? this.rewriteBaseSize : 1;
      const growth = Math.floor((cur * 100) / base) - 100;
      if (growth >= perc && !this.rewriteLimited()) {
        log('notice', `Starting automatic rewriting of AOF on ${growth}% growth`);
        this.startRewrite();
      }
    }
  }

  /** CONFIG SET appendonly yes (startAppendOnly): the AOF starts with a rewrite. */
  startAppendOnly(inExec = false): void {
    if (this.writer !== null) return;
    this.shared.set(A_ENABLED, 2);
    if (this.persistence?.rdbChild ?? false) {
      this.shared.set(A_REWRITE_SCHEDULED, 1);
      log('warning', 'AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.');
      return;
    }
    if (inExec) {
      this.shared.set(A_REWRITE_SCHEDULED, 1);
      log('warning', 'AOF was enabled during a transaction. An AOF background was scheduled to start when possible.');
      return;
    }
    if (!this.startRewrite()) {
      this.shared.set(A_ENABLED, 0);
      log('warning', "Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
    }
  }

  /**
   * A CONFIG SET appendonly, after the main thread's config has the new value. Applied one at a
   * time (stopping awaits the writer): a yes arriving while a no is still stopping the writer
   * starts the AOF again once it stopped.
   */
  onAppendonly(inExec = false): Promise<void> {
    this.appendonlyChain = this.appendonlyChain.then(() => this.applyAppendonly(inExec));
    return this.appendonlyChain;
  }

  private appendonlyChain: Promise<void> = Promise.resolve();

  /** Resolves once every CONFIG SET appendonly so far has taken effect. */
  appendonlySettled(): Promise<void> {
    return this.appendonlyChain;
  }

  private async applyAppendonly(inExec: boolean): Promise<void> {
    if (this.config.bool('appendonly')) {
      if (this.writer === null && this.shared.get(A_ENABLED) === 0) this.startAppendOnly(inExec);
    } else {
      await this.stopAppendOnly();
    }
  }

  /** The temp base a running rewrite writes (aofRemoveTempFile removes it and the snapshot's temp). */
  private rewriteTmp = '';
  /** The running (or last) rewrite's stand-in child. */
  private rewriteChild: SaveChild | null = null;

  /** The db a replica's master stream is in now (main.ts sets it; -1 on a master). */
  replicaDb: () => number = () => -1;

  /**
   * killAppendOnlyChild: the running rewrite stops (its snapshot polls `aborted` between slots and
   * removes its temp file) and its result is dropped; the temp base is removed.
   */
  private killRewrite(): void {
    if (!this.rewriteInProgress) return;
    const pid = this.rewriteChild?.pid ?? process.pid;
    log('notice', `Killing running AOF rewrite child: ${pid}`);
    this.rewriteChild?.stop();
    this.rewriteGen++;
    this.shared.set(A_REWRITE_IN_PROGRESS, 0);
    this.shared.f64[F_REWRITE_START] = 0;
    const tmp = this.rewriteTmp;
    if (tmp !== '') {
      // The snapshot writes temp-<pid>-<name> and renames it to <name> when done: both go.
      for (const f of [tmp, path.join(path.dirname(tmp), `temp-${pid}-${path.basename(tmp)}`)]) {
        try {
          fs.unlinkSync(f);
        } catch {
          /* not there (yet, or any more) */
        }
      }
    }
  }

  /** stopAppendOnly (CONFIG SET appendonly no, a replica's full sync). */
  private async stopAppendOnly(): Promise<void> {
    this.shared.set(A_REWRITE_SCHEDULED, 0);
    const waiting = this.shared.get(A_ENABLED) === 2;
    this.killRewrite();
    if (this.writer !== null) await this.stop(waiting);
    this.shared.set(A_ENABLED, 0);
  }

  /**
   * A replica's full sync is about to replace the dataset (readSyncBulkPayload): the AOF stops (a
   * rewrite in progress is killed and waited for, so no snapshot walks the old and new data).
   * True when it was on and must be restarted after the load (restartAfterSync).
   */
  async stopForSync(): Promise<boolean> {
    if (this.shared.get(A_ENABLED) === 0 && this.writer === null) return false;
    await this.stopAppendOnly();
    while (this.persistence?.busy ?? false) await new Promise((r) => setTimeout(r, 10));
    return true;
  }

  /**
   * restartAOFAfterSYNC: with appendonly yes, the AOF starts again with a rewrite of the loaded
   * dataset (the writer attaches at the snapshot's point in time, so the master's stream after the
   * load lands in the new INCR file).
   */
  restartAfterSync(): void {
    if (!this.config.bool('appendonly') || this.writer !== null) return;
    this.startAppendOnly();
    if (this.shared.get(A_ENABLED) === 0) {
      // startAppendOnly could not start a rewrite: try again on the cron (Redis retries 10 times
      // a second apart, then exits).
      this.shared.set(A_ENABLED, 2);
      this.shared.set(A_REWRITE_SCHEDULED, 1);
    }
  }

  /**
   * prepareForShutdown's AOF part, before the final save: a running rewrite is killed and its temp
   * files removed, except that the first rewrite after CONFIG SET appendonly yes (the AOF does not
   * hold the dataset yet) keeps the server up unless FORCE. False: do not exit.
   */
  killRewriteForShutdown(force: boolean): boolean {
    if (!this.rewriteInProgress) return true;
    if (this.shared.get(A_ENABLED) === 2) {
      if (!force) {
        log('warning', "Writing initial AOF, can't exit.");
        return false;
      }
      log('warning', 'Writing initial AOF. Exit anyway.');
    }
    log('warning', 'There is a child rewriting the AOF. Killing it!');
    this.killRewrite();
    return true;
  }
}

function readManifestOr(dir: string, fname: string): AofManifest {
  try {
    return readManifest(dir, fname) ?? emptyManifest();
  } catch {
    return emptyManifest();
  }
}

/** aof-use-rdb-preamble no: the base is commands rebuilding every key (see aof-plain.ts). */
async function toPlainAof(file: string, config: Config): Promise<void> {
  const { rdbToCommands } = await import('./aof-plain');
  await rdbToCommands(file, config);
}

function exists(p: string): boolean {
  try {
    fs.statSync(p);
    return true;
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function fileSizes(dir: string, names: string[]): number {
  let n = 0;
  for (const f of names) {
    try {
      n += fs.statSync(path.join(dir, f)).size;
    } catch {
      /* missing: counted as 0 */
    }
  }
  return n;
}

/** The base of an empty dataset (rewriteAppendOnlyFile with no keys), written and fsynced. */
function writeEmptyBase(file: string, preamble: boolean, checksum: boolean): void {
  let bytes: Buffer = Buffer.alloc(0);
  if (preamble) {
    const out = new RdbOut(null, 4096);
    writeHeader(out, 0, true);
    writeTrailer(out, checksum);
    bytes = out.take();
  }
  const tmp = path.join(path.dirname(file), `temp-rewriteaof-${process.pid}.aof`);
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    if (bytes.length > 0) fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

export { AOF_OK, AOF_NOT_EXIST, AOF_EMPTY, AOF_TRUNCATED, A_SWITCH_SEQ, F_SWITCH_AT, F_LAST_REWRITE_SECS, F_REWRITE_START, F_REWRITES, F_REWRITE_FAILURES, F_LAST_INCR_SIZE, A_REWRITE_SCHEDULED, A_LAST_BGREWRITE_OK };
