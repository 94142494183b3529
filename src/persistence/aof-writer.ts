// The AOF writer thread: a stream reader (src/server/stream.ts) that serves no clients and never
// takes a slot lock (writers wait for readers while holding slot locks: a reader that took locks
// could deadlock). It copies what the stream holds (exactly what Redis writes to the AOF: RESP
// commands, SELECT where the db changes, MULTI/EXEC units) into the current INCR file and syncs
// per `appendfsync`, as Redis's flushAppendOnlyFile. Replies wait for the write (every mode, as
// Redis writes the AOF in beforeSleep before any reply of that turn leaves) and, under always,
// for the fsync:
//   always:   write, fdatasync, then publish the durable offset (A_DURABLE_LO): worker threads
//             hold every reply until the durable offset passes what was in the stream when the
//             reply was ready. Group commit: one fdatasync covers every thread's waiting writes.
//   everysec: write as data comes, fdatasync in the background (libuv's pool) once a second; a
//             write waits up to 2 s for a running fsync, then goes anyway (aof_delayed_fsync).
//   no:       write; the OS decides.
// It owns the manifest while the server runs: opening a new INCR file at a rewrite's switch point
// (F_SWITCH_AT, a unit boundary read under every slot lock), installing the rewrite's base and
// removing the history files.
import { strerror } from '../config/directives';
import { parentPort, workerData } from 'worker_threads';
import * as fs from 'fs';
import * as path from 'path';
import { Stream } from '../server/stream';
import {
  AofShared, errnoText, A_HOLD, A_FLUSH_SLEEP_US, A_PENDING_FSYNC, A_SWITCH_SEQ, A_SWITCH_DONE, A_WRITE_ERR, A_REWRITE_IN_PROGRESS, A_TIMESTAMPS,
  F_SWITCH_AT, F_CURRENT_SIZE, F_DELAYED_FSYNC, F_BUFFER_LENGTH, F_LAST_INCR_SIZE, F_BASE_SIZE, F_SWITCH_DB,
  A_WLOCK, A_INLINE_OK, A_FD, A_READER_SLOT, A_POLICY, A_NO_FSYNC_ON_REWRITE, A_INLINE_FSYNC_ERR, F_AOF_OFF, F_FSYNCED_SIZE,
} from './aof-state';
import { lockWord, unlockWord } from '../store/heap';
import { type AofManifest, cloneManifest, newIncrName, newBaseName, writeManifest, fsyncDir } from './aof-manifest';
import { configureLog, log } from '../server/log';
import { feedAof, sideCursor } from './aof-side';
import { AofFilter, type AofSeg } from './aof-filter';

export type FsyncPolicy = 'always' | 'everysec' | 'no';

export interface WriterData {
  stream: SharedArrayBuffer;
  slot: number;
  offset: number;
  aof: SharedArrayBuffer;
  dir: string;
  filename: string;
  manifest: AofManifest;
  fsync: FsyncPolicy;
  noFsyncOnRewrite: boolean;
  disableAutoGc: boolean;
  loglevel: string;
  logfile: string;
  /** CONFIG SET appendonly yes: write a temp INCR file until the first rewrite's base is in place. */
  temp: boolean;
  /** A replica's master stream is in this db (-1: the stream re-selects): the temp file starts with SELECT. */
  selectDb: number;
}

export type WriterMessage =
  | { type: 'config'; id?: number; fsync: FsyncPolicy; noFsyncOnRewrite: boolean; disableAutoGc: boolean}
  | { type: 'install-base'; id: number; tmp: string; rdbPreamble: boolean; switchSeq: number }
  | { type: 'flush'; id: number }
  | { type: 'stop'; id: number; discardTemp: boolean };

const wd = workerData as WriterData;
configureLog(wd.loglevel, wd.logfile);
const port = parentPort as NonNullable<typeof parentPort>;
const stream = new Stream(wd.stream);
const reader = stream.reader(wd.slot, wd.offset);
const A = new AofShared(wd.aof);
const dir = wd.dir;
let manifest = wd.manifest;
let fsyncPolicy = wd.fsync;
let noFsyncOnRewrite = wd.noFsyncOnRewrite;
let disableAutoGc = wd.disableAutoGc;

/** getTempIncrAofName. */
const tempIncr = `temp-${wd.filename}.incr`;
let temp = wd.temp;
let fd = temp
  ? fs.openSync(path.join(dir, tempIncr), 'w', 0o644)
  : fs.openSync(path.join(dir, manifest.incr[manifest.incr.length - 1].name), 'a', 0o644);
if (temp && wd.selectDb >= 0) writeSelect(fd, wd.selectDb);
/** aof_last_incr_size / aof_last_incr_fsync_offset. */
let incrSize = fs.fstatSync(fd).size;
let fsyncedSize = incrSize;
/** Stream offset up to which bytes are in the file. */
let writtenOffset = reader.offset;
/** Read from the stream, not yet written (aof_buf): what the filter let through, in stream order. */
const pending: AofSeg[] = [];
/** Replication-only commands out, timestamp annotations in (aof-filter.ts). */
const filter = new AofFilter();
/** Where this thread stands in the side records (aof-side.ts); synced with workers' writes in lock(). */
const side = sideCursor(stream);
let pendingBytes = 0;
let lastFsyncSec = nowSec();
let syncInProgress = false;
/** The file before a switch is being synced and closed in the background. */
let oldFileSync = false;
let postponedStart = 0;
let switchHandled = A.get(A_SWITCH_SEQ);
let switchOk = true;
let stopping = false;
let lastErrLog = 0;
lockWord(A.i32, A_WLOCK);
// A switch asked of a writer stopped before it handled it is void (the rewrite was killed): else
// workers would see one pending forever and never write the AOF themselves.
A.set(A_SWITCH_DONE, switchHandled);
A.f64[F_LAST_INCR_SIZE] = incrSize;
A.set(A_READER_SLOT, wd.slot);
A.set(A_INLINE_FSYNC_ERR, 0);
publishPolicy();
A.set(A_HOLD, 1);
A.publishDurable(writtenOffset);
unlock();

/**
 * Take the AOF write lock (aof-inline.ts): workers may have written since (only while nothing was
 * pending here), so this thread's view of the file and of the stream catches up first.
 */
function lock(): void {
  lockWord(A.i32, A_WLOCK);
  const off = A.f64[F_AOF_OFF];
  if (off > writtenOffset) {
    writtenOffset = off;
    reader.skipTo(off);
  }
  side.tail = stream.sideTail();
  incrSize = A.f64[F_LAST_INCR_SIZE];
  fsyncedSize = A.f64[F_FSYNCED_SIZE];
  const err = A.get(A_INLINE_FSYNC_ERR);
  if (err !== 0) fatal(`Can't persist AOF for fsync error when the AOF fsync policy is 'always': ${errnoText(err)}. Exiting...`);
}

/** Publish this thread's view for the workers and let them write when nothing is pending here. */
function unlock(): void {
  A.f64[F_AOF_OFF] = writtenOffset;
  A.f64[F_FSYNCED_SIZE] = fsyncedSize;
  A.set(A_FD, fd);
  const idle = !stopping && pending.length === 0 && reader.offset === writtenOffset && filter.atBoundary() && side.skipTo <= reader.offset;
  A.set(A_INLINE_OK, idle ? 1 : 0);
  unlockWord(A.i32, A_WLOCK);
}

function publishPolicy(): void {
  A.set(A_POLICY, fsyncPolicy === 'always' ? 2 : fsyncPolicy === 'everysec' ? 1 : 0);
  A.set(A_NO_FSYNC_ON_REWRITE, noFsyncOnRewrite ? 1 : 0);
}

const sleepWord = new Int32Array(new SharedArrayBuffer(4));

/** A SELECT at the top of a new file (a replica's master stream does not repeat it). */
function writeSelect(f: number, db: number): number {
  const d = String(db);
  const b = Buffer.from(`*2\r\n$6\r\nSELECT\r\n$${d.length}\r\n${d}\r\n`, 'latin1');
  let off = 0;
  while (off < b.length) off += fs.writeSync(f, b, off, b.length - off);
  return b.length;
}

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

function fatal(message: string): never {
  log('warning', message);
  port.postMessage({ type: 'fatal', message });
  // Never acknowledge anything again: the main thread exits the process.
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
}

function errnoOf(e: unknown): number {
  const n = (e as NodeJS.ErrnoException).errno;
  return typeof n === 'number' ? Math.abs(n) : 5; // EIO
}

function rewriting(): boolean {
  return A.get(A_REWRITE_IN_PROGRESS) !== 0;
}

/** A rewrite asked for a new INCR file at F_SWITCH_AT: open it once everything before is written. */
function switchWanted(): boolean {
  return !temp && A.get(A_SWITCH_SEQ) !== switchHandled;
}

function doSwitch(): void {
  const seq = A.get(A_SWITCH_SEQ);
  switchHandled = seq;
  // openNewIncrAofForAppend: a new INCR file and a manifest naming it, atomically.
  const next = cloneManifest(manifest);
  const info = newIncrName(next, wd.filename);
  let newFd = -1;
  let selectBytes = 0;
  try {
    newFd = fs.openSync(path.join(dir, info.name), 'w', 0o644);
    const db = A.f64[F_SWITCH_DB];
    if (db >= 0) selectBytes = writeSelect(newFd, db);
    writeManifest(dir, wd.filename, next);
  } catch (e) {
    log('warning', `Can't open the append-only file ${info.name}: ${strerror(e)}`);
    if (newFd >= 0) fs.closeSync(newFd);
    switchOk = false;
    A.set(A_SWITCH_DONE, seq);
    port.postMessage({ type: 'switched', seq, ok: false });
    return;
  }
  log('notice', `Creating AOF incr file ${info.name} on background rewrite`);
  // The old file is synced and closed in the background (Redis's bioCreateCloseJob with fsync):
  // a synchronous fdatasync of up to a second of everysec writes held every reply here. Under
  // always it is synced already. The new file's first background fsync waits for it, so what is
  // durable stays a prefix of the stream.
  const old = fd;
  if (fsyncedSize === incrSize) fs.closeSync(old);
  else {
    oldFileSync = true;
    fs.fdatasync(old, () => {
      fs.close(old, () => undefined);
      oldFileSync = false;
    });
  }
  fd = newFd;
  manifest = next;
  incrSize = selectBytes;
  fsyncedSize = 0;
  switchOk = true;
  A.f64[F_CURRENT_SIZE] += selectBytes;
  A.f64[F_LAST_INCR_SIZE] = incrSize;
  A.set(A_SWITCH_DONE, seq);
  port.postMessage({ type: 'switched', seq, ok: true });
}

/** Write what is pending (aofWrite). False when a write failed (the data stays pending). */
function writeOut(): boolean {
  for (;;) {
    if (switchWanted() && writtenOffset >= A.f64[F_SWITCH_AT]) doSwitch();
    if (pending.length === 0) return true;
    const e = pending[0];
    // Stream bytes this step covers: the segment, or up to a switch point inside it.
    let len = e.len;
    if (switchWanted()) {
      const at = A.f64[F_SWITCH_AT];
      if (e.start < at && e.start + len > at) len = at - e.start;
    }
    // File bytes: the same bytes (copied), none (dropped), or an annotation's (len 0).
    const n = e.len === 0 ? e.buf.length : e.buf.length === 0 ? 0 : len;
    let done = 0;
    try {
      while (done < n) done += fs.writeSync(fd, e.buf, done, n - done);
    } catch (err) {
      onWriteError(err, done, e.buf.length);
      return false;
    }
    if (n > 0 && A.get(A_WRITE_ERR) !== 0) {
      log('warning', 'AOF write error looks solved, Redis can write again.');
      A.set(A_WRITE_ERR, 0);
    }
    incrSize += n;
    A.f64[F_CURRENT_SIZE] += n;
    A.f64[F_LAST_INCR_SIZE] = incrSize;
    writtenOffset += len;
    pendingBytes -= n;
    if (len === e.len && n === e.buf.length) pending.shift();
    else {
      if (e.buf.length > 0) e.buf = e.buf.subarray(n);
      e.start += len;
      e.len -= len;
    }
  }
}

function onWriteError(err: unknown, partial: number, expected: number): void {
  const t = nowSec();
  const canLog = t - lastErrLog > 30;
  if (canLog) lastErrLog = t;
  if (partial > 0) {
    if (canLog) log('warning', `Short write while writing to the AOF file: (nwritten=${partial}, expected=${expected})`);
    try {
      fs.ftruncateSync(fd, incrSize);
    } catch (e) {
      if (canLog) log('warning', `Could not remove short write from the append-only file.  Redis may refuse to load the AOF the next time it starts.  ftruncate: ${strerror(e)}`);
    }
  } else if (canLog) {
    log('warning', `Error writing to the AOF file: ${strerror(err)}`);
  }
  if (fsyncPolicy === 'always') fatal("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
  A.set(A_WRITE_ERR, errnoOf(err));
}

/**
 * always, from the loop: the fsync the last flush found due (file size and stream offset it
 * covers), done with the AOF write lock released so that workers keep writing the next group.
 */
let alwaysDue = false;
let dueSize = 0;
let dueOffset = 0;

/** flushAppendOnlyFile(force). */
function flush(force: boolean, deferFsync = false): void {
  const t = nowSec();
  if (pending.length === 0) {
    if (switchWanted() && writtenOffset >= A.f64[F_SWITCH_AT]) doSwitch();
    // Nothing new, but an fsync may be due (everysec after a quiet second; always after a mode change).
    if (!(fsyncPolicy === 'everysec' && fsyncedSize !== incrSize && t > lastFsyncSec && !syncInProgress) &&
        !(fsyncPolicy === 'always' && fsyncedSize !== incrSize)) {
      if (fsyncPolicy !== 'always') A.publishDurable(writtenOffset);
      return;
    }
  } else {
    if (fsyncPolicy === 'everysec' && !force && syncInProgress) {
      // The data waits in memory (aof_buf), the replies do not (Redis replies after beforeSleep).
      if (postponedStart === 0) {
        postponedStart = t;
        A.publishDurable(reader.offset);
        return;
      } else if (t - postponedStart < 2) {
        A.publishDurable(reader.offset);
        return;
      }
      A.f64[F_DELAYED_FSYNC] += 1;
      log('notice', 'Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.');
    }
    postponedStart = 0;
    // DEBUG AOF-FLUSH-SLEEP (tests): a slow disk.
    const sleepUs = A.get(A_FLUSH_SLEEP_US);
    if (sleepUs > 0) Atomics.wait(sleepWord, 0, 0, sleepUs / 1000);
    if (!writeOut()) {
      // Not always (that exits): the data stays in memory for the next try, the replies go and
      // later writes get -MISCONF.
      A.f64[F_BUFFER_LENGTH] = pendingBytes;
      A.publishDurable(reader.offset);
      return;
    }
    A.f64[F_BUFFER_LENGTH] = pendingBytes;
  }
  // no-appendfsync-on-rewrite: no fsync while a rewrite writes its base (replies still go).
  if (noFsyncOnRewrite && rewriting()) {
    A.publishDurable(writtenOffset);
    return;
  }
  if (fsyncPolicy === 'always' && deferFsync && fsyncedSize !== incrSize) {
    alwaysDue = true;
    dueSize = incrSize;
    dueOffset = writtenOffset;
  } else if (fsyncPolicy === 'always') {
    try {
      // Nothing new in the file (only dropped PINGs/GETACKs were consumed): nothing to sync.
      if (fsyncedSize !== incrSize) fs.fdatasyncSync(fd);
    } catch (e) {
      fatal(`Can't persist AOF for fsync error when the AOF fsync policy is 'always': ${strerror(e)}. Exiting...`);
    }
    fsyncedSize = incrSize;
    lastFsyncSec = t;
    A.publishDurable(writtenOffset);
  } else {
    A.publishDurable(writtenOffset);
    if (fsyncPolicy === 'everysec' && t > lastFsyncSec && !oldFileSync) {
      if (!syncInProgress) backgroundFsync();
      lastFsyncSec = t;
    }
  }
}

function backgroundFsync(): void {
  syncInProgress = true;
  A.set(A_PENDING_FSYNC, 1);
  const target = fd;
  const size = incrSize;
  fs.fdatasync(target, (err) => {
    syncInProgress = false;
    A.set(A_PENDING_FSYNC, 0);
    if (err !== null) {
      if ((err as NodeJS.ErrnoException).code === 'EBADF') return; // the file was switched and closed
      log('warning', `Fail to fsync the AOF file: ${strerror(err)}`);
      A.set(A_WRITE_ERR, errnoOf(err));
      return;
    }
    // Stopped: this thread may be terminated at any moment, so it takes no lock (see 'stop').
    if (stopping) return;
    lock();
    if (target === fd && size > fsyncedSize) fsyncedSize = size;
    unlock();
  });
}

/** Take everything the stream holds now into `pending` and let writers reuse the ring. */
function drainStream(): boolean {
  let got = false;
  for (;;) {
    const start = reader.offset;
    const chunk = reader.read(4 << 20);
    if (chunk === null) break;
    const from = pending.length;
    filter.timestamps = A.get(A_TIMESTAMPS) !== 0;
    feedAof(stream, filter, chunk, start, pending, side);
    for (let k = from; k < pending.length; k++) pendingBytes += pending[k].buf.length;
    got = true;
  }
  if (got) {
    reader.release();
    // The records taken are copied into pending: free their room.
    if (side.tail !== stream.sideTail()) stream.sideFree(side.tail);
  }
  return got;
}

/** The rewrite's base is on disk (tmp): name it, make it the base, the older files history. */
function installBase(m: Extract<WriterMessage, { type: 'install-base' }>): void {
  // Everything before the switch point must be in the old INCR file first.
  drainStream();
  flush(true);
  if (m.switchSeq === -1) {
    installFirstBase(m);
    return;
  }
  if (A.get(A_SWITCH_DONE) !== m.switchSeq || !switchOk) {
    port.postMessage({ type: 'installed', id: m.id, ok: false, error: 'the new INCR file could not be opened' });
    return;
  }
  const next = cloneManifest(manifest);
  const base = newBaseName(next, wd.filename, m.rdbPreamble);
  // markRewrittenIncrAofAsHistory: every INCR but the one being written now.
  const keep = next.incr.pop() as (typeof next.incr)[number];
  for (const i of next.incr.reverse()) next.history.unshift({ ...i, type: 'h' });
  next.incr = [keep];
  try {
    fs.renameSync(m.tmp, path.join(dir, base.name));
    fsyncDir(dir);
    writeManifest(dir, wd.filename, next);
  } catch (e) {
    log('warning', `Error trying to rename the temporary AOF file ${path.basename(m.tmp)} into ${base.name}: ${strerror(e)}`);
    try {
      fs.unlinkSync(path.join(dir, base.name));
    } catch {
      /* not renamed */
    }
    port.postMessage({ type: 'installed', id: m.id, ok: false, error: (e as Error).message });
    return;
  }
  manifest = next;
  let baseSize = 0;
  try {
    baseSize = fs.statSync(path.join(dir, base.name)).size;
  } catch {
    /* just renamed */
  }
  A.f64[F_BASE_SIZE] = baseSize;
  A.f64[F_CURRENT_SIZE] = baseSize + incrSize;
  delHistory();
  port.postMessage({ type: 'installed', id: m.id, ok: true, baseSize });
}

/**
 * The first rewrite after CONFIG SET appendonly yes: its base, and the temp INCR file (what was
 * written since the snapshot's point in time) becomes the first INCR file; whatever the manifest
 * named before is history.
 */
function installFirstBase(m: Extract<WriterMessage, { type: 'install-base' }>): void {
  const next = cloneManifest(manifest);
  const base = newBaseName(next, wd.filename, m.rdbPreamble);
  for (const i of next.incr) next.history.push({ ...i, type: 'h' });
  next.incr = [];
  const incr = newIncrName(next, wd.filename);
  try {
    fs.fdatasyncSync(fd);
    fs.renameSync(m.tmp, path.join(dir, base.name));
    fs.renameSync(path.join(dir, tempIncr), path.join(dir, incr.name));
    fsyncDir(dir);
    writeManifest(dir, wd.filename, next);
  } catch (e) {
    log('warning', `Error trying to rename the temporary AOF file ${path.basename(m.tmp)} into ${base.name}: ${strerror(e)}`);
    port.postMessage({ type: 'installed', id: m.id, ok: false, error: (e as Error).message });
    return;
  }
  temp = false;
  manifest = next;
  const baseSize = statSize(base.name);
  A.f64[F_BASE_SIZE] = baseSize;
  A.f64[F_CURRENT_SIZE] = baseSize + incrSize;
  delHistory();
  port.postMessage({ type: 'installed', id: m.id, ok: true, baseSize });
}

function statSize(name: string): number {
  try {
    return fs.statSync(path.join(dir, name)).size;
  } catch {
    return 0;
  }
}

/** aofDelHistoryFiles. */
function delHistory(): void {
  if (disableAutoGc || manifest.history.length === 0) return;
  for (const h of manifest.history) {
    log('notice', `Removing the history file ${h.name} in the background`);
    fs.unlink(path.join(dir, h.name), () => undefined);
  }
  manifest = cloneManifest(manifest);
  manifest.history = [];
  try {
    writeManifest(dir, wd.filename, manifest);
  } catch (e) {
    log('warning', `Can't persist the AOF manifest: ${strerror(e)}`);
  }
}

/** The answer to 'stop', sent once the write lock is released; after it the lock is never taken again. */
let stoppedReply: Record<string, unknown> | null = null;

port.on('message', (m: WriterMessage) => {
  if (stoppedReply !== null) return;
  lock();
  try {
    onMessage(m);
  } finally {
    unlock();
  }
  if (stoppedReply !== null) {
    port.postMessage(stoppedReply);
    port.close();
  }
});

function onMessage(m: WriterMessage): void {
  switch (m.type) {
    case 'config': {
      const was = fsyncPolicy;
      fsyncPolicy = m.fsync;
      noFsyncOnRewrite = m.noFsyncOnRewrite;
      publishPolicy();
      if (m.disableAutoGc !== disableAutoGc) {
        disableAutoGc = m.disableAutoGc;
        if (!disableAutoGc) delHistory();
      }
      if (was !== fsyncPolicy) {
        // Into always: sync what is there before replies depend on it.
        if (fsyncPolicy === 'always') flush(true);
      }
      if (m.id !== undefined) port.postMessage({ type: 'configured', id: m.id, ok: true });
      break;
    }
    case 'install-base':
      installBase(m);
      break;
    case 'flush':
      drainStream();
      flush(true);
      if (pending.length === 0) {
        try {
          fs.fdatasyncSync(fd);
          fsyncedSize = incrSize;
        } catch {
          /* reported through A_WRITE_ERR by the next write */
        }
      }
      port.postMessage({ type: 'flushed', id: m.id, ok: pending.length === 0 });
      break;
    case 'stop':
      stopping = true;
      drainStream();
      flush(true);
      try {
        fs.fdatasyncSync(fd);
      } catch (e) {
        log('warning', `Fail to fsync the AOF file: ${strerror(e)}`);
      }
      fs.closeSync(fd);
      if (temp && m.discardTemp) {
        log('notice', `Removing the temp incr aof file ${tempIncr} in the background`);
        try {
          fs.unlinkSync(path.join(dir, tempIncr));
        } catch {
          /* already gone */
        }
      }
      reader.detach();
      A.set(A_HOLD, 0);
      A.publishDurable(writtenOffset);
      // Answered only after the write lock is released (port.on('message')): the main thread
      // terminates this thread on the answer, and a thread terminated holding the lock would
      // leave the next writer waiting for it forever.
      stoppedReply = { type: 'stopped', id: m.id, manifest };
      break;
  }
}

async function loop(): Promise<void> {
  while (!stopping) {
    // Wake on new data, or every 100 ms for the once-a-second fsync and postponed writes.
    // What workers wrote (aof-inline.ts; under always fsynced too) is not waited for.
    const off = A.f64[F_AOF_OFF];
    if (off > reader.offset && pending.length === 0) reader.skipTo(off);
    await reader.waitAsync(100, true);
    if (stopping) break;
    lock();
    try {
      drainStream();
      flush(false, true);
    } finally {
      unlock();
    }
    // Group commit: each fsync covers everything written when it starts, by any thread (the
    // lock is free meanwhile: workers go on writing, or write and fsync themselves).
    while (alwaysDue) {
      alwaysDue = false;
      try {
        fs.fdatasyncSync(fd);
      } catch (e) {
        fatal(`Can't persist AOF for fsync error when the AOF fsync policy is 'always': ${strerror(e)}. Exiting...`);
      }
      lock();
      try {
        if (dueSize > fsyncedSize) fsyncedSize = dueSize;
        lastFsyncSec = nowSec();
        A.publishDurable(dueOffset);
        drainStream();
        flush(false, true);
      } finally {
        unlock();
      }
    }
  }
}

void loop();
