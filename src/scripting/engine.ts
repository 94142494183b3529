// The Lua engine of one worker thread: the native addon (native/lua, Lua 5.1 as Redis embeds it),
// the script cache and function libraries as this thread holds them, and how a script runs:
// with the slot locks of its declared keys, its redis.call()s going through the command table.
//
// Scripts and libraries are the same on every thread: whoever adds one (EVAL, SCRIPT LOAD,
// FUNCTION LOAD...) broadcasts it and every thread records the body; a thread compiles a script
// the first time it runs it there.
//
// Atomicity: a script with declared keys (numkeys > 0, or FCALL's keys) locks the slots of those
// keys (ascending, as every multi-key command) and runs; other slots stay free, so scripts on
// different slots run in parallel on different threads. A script that declares no key runs with
// every slot locked. A script that touches an undeclared key: the slot is taken with a try-lock
// (never waiting while holding others, so no deadlock); if it is busy and the script has not
// written yet, the run is aborted (uncatchable) and repeated with every slot locked, and the
// script is remembered as one that needs all slots. If it had already written, the script gets an
// error for that call (rare: only a script's first runs, and only under contention).
import { aclDeniedInScript } from '../server/acl';
import { LOCK_BUSY } from '../server/coordinator';
import { MISC_BUSY_SCRIPT, type Store } from '../store/keyspace';
import type { Client } from '../server/client';
import type { CommandSpec } from '../commands/types';
import type { ThreadServer } from '../server/context';
import { lookupCommand, resolveSubcommand, commandKeys, statBase } from '../commands/registry';
import { feedMonitors, monitorsActive } from '../server/monitor';
import { OutOfMemoryError } from '../store/heap';
import { MISC_MASTER_LINK, MISC_REPLICA } from '../store/keyspace';
import { F_MAY_REPLICATE, F_NOSCRIPT, F_STALE, F_NO_PROPAGATE, F_WALKS, F_WRITE, LOCK_ALL, LOCK_KEYS } from '../commands/flags';
import { overMaxmemory } from '../server/evict';
import { log } from '../server/log';
import { fdOf } from '../server/listeners';
import { S_ERRORS } from '../server/context';
import { rememberScriptKeys } from '../server/tracking';
import { createHash } from 'crypto';
import * as path from 'path';
import { readSync, writeSync } from 'fs';
import { performance as perf } from 'perf_hooks';
import { BufferView } from '../protocol/bufview';
import { E_NOREPLICAS, replGate, tooFewReplicas } from '../replication/master';
import { diskWriteError } from '../persistence/disk-error';

const busyBuf = Buffer.allocUnsafe(65536);

interface LuaAddon {
  init(call: (argv?: Buffer[]) => Buffer | undefined, busy: (elapsedMs: number) => boolean, log: (level: number, msg: string) => void, ctl: Int32Array, stage: Uint8Array): void;
  reset(): void;
  setConfig(busyMs: number, loadTimeoutMs: number, verbosity: number): void;
  compile(key: string, body: Buffer, skip: number): string | null;
  drop(key: string): void;
  has(key: string): boolean;
  run(key: string, keys: Buffer[], args: Buffer[], resp: number, isEval: boolean, funcname: string): Buffer | null;
  /** run() of an EVAL under the Lua debugger, which talks to the client on fd (native/lua/src/ldb.c). */
  runDebug(key: string, keys: Buffer[], args: Buffer[], resp: number, funcname: string, fd: number, src: Buffer, hint: string | null): Buffer | null;
  /** Debugger sessions stop waiting for their clients (a shutdown: true), or may wait again (false). */
  ldbStopAll(stop: boolean): void;
  /** A number for the function under key (-1: none); runStaged runs it without strings. */
  bind(key: string, funcname: string): number;
  unbind(id: number): void;
  /** KEYS and ARGV from the stage; the reply's length in the stage, a Buffer (too big), or null. */
  runStaged(id: number, nkeys: number, nargs: number, resp: number, isEval: boolean): number | Buffer | null;
  loadLibrary(code: Buffer, tag: string): string | Array<[string, string | null, number]>;
  kill(): void;
  memory(): number;
  scriptResp(): number;
  ignoreStats(): boolean;
}

let addon: LuaAddon | null = null;
let addonError = '';
/** quiet: no warning when it cannot be loaded (a caller that only acts if scripts can exist). */
function loadAddon(quiet = false): LuaAddon | null {
  if (addon !== null || addonError !== '') return addon;
  const candidates = [
    path.join(__dirname, '..', 'native', 'lua', 'build', 'Release', 'shardis_lua.node'),
    path.join(__dirname, '..', '..', 'native', 'lua', 'build', 'Release', 'shardis_lua.node'),
  ];
  for (const p of candidates) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      addon = require(p) as LuaAddon;
      return addon;
    } catch (e) {
      addonError = (e as Error).message;
    }
  }
  if (!quiet) log('warning', `Lua scripting is unavailable: the native addon (native/lua) could not be loaded: ${addonError.split('\n')[0]}`);
  return null;
}

export const NO_ENGINE = 'ERR Lua scripting is not available: the native Lua engine (native/lua) was not built on this machine';

// Script flags (shebang / register_function), as Redis's SCRIPT_FLAG_*
export const F_NO_WRITES = 1;
export const F_ALLOW_OOM = 2;
export const F_ALLOW_STALE = 4;
export const F_NO_CLUSTER = 8;
export const F_ALLOW_CROSS_SLOT = 16;
export const F_EVAL_COMPAT = 32;
export const FLAG_NAMES = ['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'];

/** What run() needs of a script or function: its number in the engine (bind) and lock mode. */
export interface Runnable {
  needsAll: boolean;   // touched undeclared keys: run with every slot locked
  /** Declared no keys: 0 not seen touching a key, 1 seen touching one slot per run, 2 more. */
  keylessSlots: number;
  runId: number;       // the engine's number for it (bind), valid while runGen is the engine's gen
  runGen: number;
}

export interface ScriptEntry extends Runnable {
  sha: string;
  key: string;         // its name in the engine's registry: f_<sha>
  body: Buffer;
  flags: number;
  skip: number;        // shebang bytes not compiled (the line feed is kept for line numbers)
  compiled: boolean;
}

export interface LibFunction extends Runnable { name: string; desc: string | null; flags: number; lib: string }
export interface Library { name: string; code: Buffer; tag: string; functions: LibFunction[]; compiled: boolean }

// Busy-script words in the shared misc area (one busy script is tracked server-wide).
const M_BUSY_THREAD = MISC_BUSY_SCRIPT; // thread id + 1 of the thread whose script is past the threshold
const M_BUSY_KIND = 49;    // 1 EVAL, 2 FCALL
const M_BUSY_DIRTY = 50;   // it has written
const M_BUSY_KILL = 51;    // SCRIPT/FUNCTION KILL asked it to stop
/** DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call noscript commands. */
export const M_DISABLE_DENY_SCRIPTS = 52;
// The busy script's description (JSON: name, command, start) in a shared heap block, for
// FUNCTION STATS on any thread: its address in 8-byte units (heap addresses may pass 2^32), and
// its length.
const M_BUSY_INFO_OFF = 53;
const M_BUSY_INFO_LEN = 54;

interface RunCtx {
  c: Client;
  ro: boolean;
  flags: number;
  dirty: boolean;
  lockAll: boolean;
  retry: boolean;
  oomAtStart: boolean;
  isEval: boolean;
  name: string;
  startMs: number;     // wall clock, set once the script is past the busy threshold
  busy: boolean;
  argv: Buffer[];
  keys: Buffer[];
  remembered: boolean;
  /** Declared no keys and runs without slot locks: its first call that needs a slot re-runs it with every slot locked. */
  keyless: boolean;
  /** Ran a command with effects outside the keyspace (PUBLISH): a re-run would repeat them. */
  sideEffects: boolean;
  /** A keyless script's slots: the first it touched (-1 none), whether it touched another. */
  firstSlot: number;
  multiSlot: boolean;
  /** The retry is for contention, not for what the script touches: needsAll stays as it is. */
  retryOnce: boolean;
  entry: Runnable;
}

const NSLOTS = 16384;
const ARENA = 64 * 1024;
const KEYLESS_GROUPS = new Set(['connection', 'pubsub', 'transactions', 'scripting', 'server']);

export class ScriptEngine {
  readonly scripts = new Map<string, ScriptEntry>();
  readonly libraries = new Map<string, Library>();
  readonly functions = new Map<string, LibFunction>();
  private lua: LuaAddon | null = null;
  private ready = false;
  private cur: RunCtx | null = null;
  /** When the run's last redis.call ended (or the run started): the next call's start. */
  private callClock = 0;
  private readonly held = new Uint8Array(NSLOTS);
  private readonly heldList: number[] = [];
  private nextTag = 1;
  /** Bumped when the Lua state is replaced: every bound number (Runnable.runId) is void. */
  private gen = 0;
  lastRunName = '';
  /** The server-wide library list's version this thread's registry matches (functions.ts). */
  fnVersion = 0;

  constructor(public srv: ThreadServer) {}

  get available(): boolean {
    return this.engine() !== null;
  }

  get running(): RunCtx | null {
    return this.cur;
  }

  engine(): LuaAddon | null {
    if (this.ready) return this.lua;
    this.ready = true;
    const a = loadAddon();
    if (a === null) return null;
    const s = this.srv.store;
    a.init(this.onCall, this.onBusy, this.onLog, new Int32Array(s.i32.buffer, (s.L.misc + M_BUSY_THREAD) * 4, 4), this.stageAll);
    this.lua = a;
    this.applyConfig();
    this.srv.configListeners.push((name) => {
      if (name === 'busy-reply-threshold' || name === 'lua-time-limit' || name === 'loglevel') this.applyConfig();
    });
    return a;
  }

  private applyConfig(): void {
    if (this.lua === null) return;
    const levels: Record<string, number> = { debug: 0, verbose: 1, notice: 2, warning: 3 };
    this.lua.setConfig(this.srv.config.num('busy-reply-threshold'), 500, levels[this.srv.config.str('loglevel')] ?? 2);
  }

  memory(): number {
    return this.lua === null ? 0 : this.lua.memory();
  }

  // ---- registry (the same on every thread) ---------------------------------------------------

  // EVALSHA looks its script up twice (its command flags, then the run), and clients send the
  // same sha again and again: the last hit is kept with the 40 bytes as they were sent, so a
  // repeat costs a byte compare instead of a string, a lower-casing and a hash.
  private readonly shaMemoBytes = new Uint8Array(40);
  private shaMemoEntry: ScriptEntry | undefined = undefined;
  private shaMemoArg: Buffer | null = null;

  /** EVALSHA's script by its sha argument (40 hex digits, any case), or undefined. */
  scriptBySha(arg: Buffer): ScriptEntry | undefined {
    // The same argument again (the command's flags, then its run): no compare at all.
    if (arg === this.shaMemoArg && this.shaMemoEntry !== undefined) return this.shaMemoEntry;
    if (arg.length !== 40) return undefined;
    const m = this.shaMemoBytes;
    if (this.shaMemoEntry !== undefined) {
      let i = 0;
      while (i < 40 && m[i] === arg[i]) i++;
      if (i === 40) {
        this.shaMemoArg = arg;
        return this.shaMemoEntry;
      }
    }
    const e = this.scripts.get(arg.latin1Slice(0, 40).toLowerCase());
    if (e !== undefined) {
      for (let i = 0; i < 40; i++) m[i] = arg[i];
      this.shaMemoEntry = e;
      this.shaMemoArg = arg;
    }
    return e;
  }

  /** Forget a script (one that failed to compile); SCRIPT FLUSH is flushScripts. */
  dropScript(sha: string): void {
    this.scripts.delete(sha);
    this.shaMemoEntry = undefined;
  }

  addScript(sha: string, body: Buffer, flags: number, skip: number): ScriptEntry {
    let e = this.scripts.get(sha);
    if (e === undefined) {
      e = { sha, key: `f_${sha}`, body, flags, skip, compiled: false, needsAll: false, keylessSlots: 0, runId: -1, runGen: -1 };
      this.scripts.set(sha, e);
    }
    return e;
  }

  /** SCRIPT FLUSH: a fresh Lua state (as scriptingReset), with the function libraries reloaded. */
  flushScripts(): void {
    this.scripts.clear();
    this.shaMemoEntry = undefined;
    const lua = this.lua;
    if (lua === null) return;
    lua.reset();
    this.gen++;
    for (const lib of this.libraries.values()) {
      const tag = `L${this.nextTag++}`;
      const body = lib.code.subarray(lib.code.indexOf(10));
      if (typeof lua.loadLibrary(body, tag) !== 'string') lib.tag = tag;
    }
  }

  compile(sha: string, e: ScriptEntry): string | null {
    const lua = this.engine();
    if (lua === null) return NO_ENGINE;
    if (e.compiled) return null;
    const err = lua.compile(e.key, e.body, e.skip);
    if (err === null) e.compiled = true;
    return err;
  }

  /** Run a library's code: returns its functions or an error text. Registers nothing. */
  loadLibraryCode(code: Buffer, body: Buffer): { tag: string; fns: Array<[string, string | null, number]> } | string {
    const lua = this.engine();
    if (lua === null) return NO_ENGINE;
    const tag = `L${this.nextTag++}`;
    const r = lua.loadLibrary(body, tag);
    if (typeof r === 'string') return r;
    void code;
    return { tag, fns: r };
  }

  dropLibrary(lib: Library): void {
    if (this.lua !== null) {
      for (const f of lib.functions) {
        this.lua.drop(`${lib.tag}:${f.name}`);
        if (f.runGen === this.gen) this.lua.unbind(f.runId);
        f.runGen = -1;
      }
    }
    for (const f of lib.functions) if (this.functions.get(f.name.toLowerCase())?.lib === lib.name) this.functions.delete(f.name.toLowerCase());
    this.libraries.delete(lib.name);
  }

  // ---- running -------------------------------------------------------------------------------

  /**
   * Run a compiled script or function (`key` in the engine's registry, reported as `name`) for
   * client c and write its reply. argv is the EVAL/FCALL command: keys at argv[3 .. 3+nk) (their
   * slots are locked for the run), arguments after them.
   */
  run(c: Client, key: string, argv: Buffer[], nk: number, isEval: boolean, name: string, flags: number, ro: boolean, entry: Runnable): void {
    const lua = this.lua as LuaAddon;
    if (entry.runGen !== this.gen) {
      entry.runId = lua.bind(key, name);
      entry.runGen = this.gen;
    }
    const keys = argv.slice(3, 3 + nk);
    const s = c.store;
    const coord = this.srv.coord;
    const outerLocked = coord.allLocked;
    // A script that declares no keys starts holding no slot (locking all 16384 cost ~360 us per
    // call): many touch none (PING, TIME, pure Lua, PUBLISH). Its first call that needs a slot
    // comes before any write (writes need slots), so that run is abandoned and made again with
    // every slot locked, noting the slots it touches. One that touched a single slot then runs
    // taking its slot when it first needs it (keylessSlots 1); if a later run needs a second
    // slot before it writes, it goes back to every slot for good (keylessSlots 2).
    // Under the debugger the script holds every slot from the start: a run is never repeated
    // (the client would see its session start over), and Redis's server is blocked meanwhile.
    const ldb = c.ldbSession;
    let lockAll = outerLocked || entry.needsAll || ldb !== null;
    const savedDb = c.db;
    const savedExec = c.inExec;
    const ctx: RunCtx = {
      c, ro, flags, dirty: false, lockAll, retry: false, isEval, name,
      oomAtStart: overMaxmemory(s), startMs: 0, busy: false, argv,
      keys, remembered: false, keyless: nk === 0, sideEffects: false,
      firstSlot: -1, multiSlot: false, retryOnce: false, entry,
    };
    for (;;) {
      ctx.lockAll = lockAll;
      ctx.retry = false;
      ctx.dirty = false;
      ctx.sideEffects = false;
      ctx.firstSlot = -1;
      ctx.multiSlot = false;
      ctx.retryOnce = false;
      if (!outerLocked && !(lockAll ? coord.lockAllYielding(!ro) : this.lockDeclared(keys, !ro))) {
        // A slot it waited for is held by a script past busy-reply-threshold: BUSY, as for any
        // command (the other script may have just ended: then try again).
        const kind = busyKind(this.srv);
        if (kind !== 0) return c.refuseBusy(null, argv, kind);
        continue;
      }
      this.cur = ctx;
      this.callClock = perf.now();
      c.inExec = true;
      c.inScript = true;
      let out: Buffer | number | null;
      try {
        // KEYS and ARGV go through the stage (redis.call overwrites it: staged again on a retry).
        if (ldb !== null) {
          ldb.ran = true;
          out = lua.runDebug(key, keys, argv.slice(3 + nk), c.resp, name, ldb.fd, ldb.src, ldb.hint);
        } else {
          out = entry.runId >= 0 && this.stageArgs(argv, 3) ? lua.runStaged(entry.runId, nk, argv.length - 3 - nk, c.resp, isEval)
            : lua.run(key, keys, argv.slice(3 + nk), c.resp, isEval, name);
        }
      } finally {
        this.cur = null;
        c.inExec = savedExec;
        c.inScript = false;
        c.db = savedDb;
        if (!outerLocked) {
          // The script's effects reach the stream before its locks go: a client served on
          // another thread from a list this script pushed must come after it in the stream.
          this.srv.prop.flush();
          if (lockAll) coord.unlockAll();
          else this.unlockHeld();
        }
        if (ctx.busy) this.clearBusy();
      }
      if (ctx.retry) {
        if (!ctx.retryOnce) entry.needsAll = true;
        lockAll = true;
        continue;
      }
      if (ctx.keyless && lockAll && !outerLocked && entry.keylessSlots === 0 && ctx.firstSlot >= 0) {
        // The first run with every slot locked of a keyless script that touches keys.
        if (ctx.multiSlot) entry.keylessSlots = 2;
        else {
          entry.keylessSlots = 1;
          entry.needsAll = false;
        }
      }
      if (out === null) c.w.error('ERR Function not found');
      else {
        // The reply: its length in the stage, or (bigger than the stage) a Buffer.
        const buf = typeof out === 'number' ? this.stage : out;
        const n = typeof out === 'number' ? out : out.length;
        if (n > 0 && buf[0] === 0x2d) {
          if (lua.ignoreStats()) {
            // A command's error the script passed on: it was counted when the command failed
            // (errorstats, total_error_replies); the dispatcher will count EVAL's failed call.
            c.w.rawRange(buf, n);
            this.srv.addStat(S_ERRORS, -1);
          } else {
            // Error replies go through the writer's error path (INFO errorstats counts them).
            c.w.error(buf.latin1Slice(1, n - 2));
          }
        } else c.w.rawRange(buf, n);
      }
      return;
    }
  }

  /**
   * argv[from ..] into the stage as [u32 length][bytes] each (the layout redis.call uses the
   * other way); false when they do not fit (run() then passes Buffers).
   */
  private stageArgs(argv: Buffer[], from: number): boolean {
    const st = this.stage;
    const cap = st.length;
    let at = 0;
    for (let i = from; i < argv.length; i++) {
      const a = argv[i];
      const n = a.length;
      if (at + 4 + n > cap) return false;
      st[at] = n & 0xff;
      st[at + 1] = (n >>> 8) & 0xff;
      st[at + 2] = (n >>> 16) & 0xff;
      st[at + 3] = n >>> 24;
      at += 4;
      if (n <= 32) {
        for (let j = 0; j < n; j++) st[at + j] = a[j];
      } else {
        st.set(a, at);
      }
      at += n;
    }
    return true;
  }

  /** Lock the declared keys' slots through the coordinator (ascending, each once). */
  private lockDeclared(keys: Buffer[], write: boolean): boolean {
    const coord = this.srv.coord;
    const n = coord.lockSlotsOf(keys, write, true);
    if (n === LOCK_BUSY) return false;
    // The slots just taken, from the coordinator (no second pass over the keys).
    for (let i = 0; i < n; i++) {
      const sl = coord.takenSlot(n, i);
      if (this.held[sl] === 1) continue;
      this.held[sl] = 1;
      this.heldList.push(sl);
    }
    return true;
  }

  /** Release every slot the run took (declared ones and tryLockSlot's), all on the coordinator's stack. */
  private unlockHeld(): void {
    for (const sl of this.heldList) this.held[sl] = 0;
    this.srv.coord.unlockSlots(this.heldList.length);
    this.heldList.length = 0;
  }

  /** A call refused before it ran (scriptCall's checks): counted as Redis's afterErrorReply does. */
  private reject(spec: CommandSpec | undefined, err: string): Buffer {
    const w = this.srv.w;
    const mark = w.mark();
    w.error(err); // errorstats
    w.rewind(mark);
    this.srv.addStat(S_ERRORS, 1);
    if (spec !== undefined) this.srv.store.f64[statBase(this.srv.threadId, spec) + 2] += 1;
    // Refused, not run: the debugger logs it so (native/lua: callInfo[3] read after the call).
    this.callInfo[3] = -2;
    return Buffer.from(`-${err}\r\n`);
  }

  /** Under every slot: which slots a keyless script's call touches (its first run so). */
  private noteKeylessSlots(ctx: RunCtx, spec: CommandSpec, argv: Buffer[]): void {
    const s = this.srv.store;
    if (spec.keys === undefined && spec.firstKey > 0 && spec.lastKey === spec.firstKey) {
      if (argv.length > spec.firstKey) this.noteSlot(ctx, s.slotOf(argv[spec.firstKey]));
      return;
    }
    for (const i of commandKeys(spec, argv)) this.noteSlot(ctx, s.slotOf(argv[i]));
  }

  private noteSlot(ctx: RunCtx, slot: number): void {
    if (ctx.firstSlot < 0) ctx.firstSlot = slot;
    else if (ctx.firstSlot !== slot) ctx.multiSlot = true;
  }

  /**
   * A keyless script's call that needs slots: false makes a script that has not written yet
   * re-run with every slot locked. A script seen touching one slot per run takes that slot
   * here; a second one sends it back to every slot for good. One that wrote (or published)
   * and then needs a second slot can only try for it, as for an undeclared key (takeSlot).
   */
  private keylessSlots(ctx: RunCtx, spec: CommandSpec, argv: Buffer[]): boolean {
    const entry = ctx.entry;
    const clean = !ctx.dirty && !ctx.sideEffects;
    if (entry.keylessSlots !== 1 && clean) return false;
    const first = ctx.firstSlot;
    this.noteKeylessSlots(ctx, spec, argv);
    if (ctx.multiSlot) {
      entry.keylessSlots = 2;
      entry.needsAll = true;
      return clean ? false : this.takeKeySlots(spec, argv);
    }
    if (ctx.firstSlot < 0 || ctx.firstSlot === first) return true;
    if (this.takeSlot(ctx.firstSlot)) return true;
    // Held by another client: this run is made again with every slot (the mode stays).
    ctx.retryOnce = true;
    return false;
  }

  /** takeSlot for every key of a redis.call (false: one could not be taken). */
  private takeKeySlots(spec: CommandSpec, argv: Buffer[]): boolean {
    const s = this.srv.store;
    if (spec.keys === undefined && spec.firstKey > 0 && spec.lastKey === spec.firstKey) {
      // One key (most commands): no index array.
      return argv.length <= spec.firstKey || this.takeSlot(s.slotOf(argv[spec.firstKey]));
    }
    for (const i of commandKeys(spec, argv)) if (!this.takeSlot(s.slotOf(argv[i]))) return false;
    return true;
  }

  /** Take a slot the script did not declare, without waiting while holding others. */
  private takeSlot(slot: number): boolean {
    if (this.held[slot] === 1) return true;
    const coord = this.srv.coord;
    const write = this.cur !== null && !this.cur.ro;
    for (let i = 0; i < 200; i++) {
      if (coord.tryLockSlot(slot, write)) {
        this.held[slot] = 1;
        this.heldList.push(slot);
        return true;
      }
    }
    // Nothing written yet: the caller re-runs the script with every slot locked instead.
    if (this.cur === null || (!this.cur.dirty && !this.cur.sideEffects)) return false;
    // It wrote: keep trying for up to a second (the holder may be a thread the OS descheduled;
    // lock-all scripts never hold while waiting), then give up (a plain command holding that
    // slot may be waiting for one of ours).
    const s = this.srv.store;
    const deadline = perf.now() + 1000;
    while (perf.now() < deadline) {
      Atomics.wait(s.i32, s.L.locks + slot, 1, 1);
      if (coord.tryLockSlot(slot, write)) {
        this.held[slot] = 1;
        this.heldList.push(slot);
        return true;
      }
    }
    return false;
  }

  private readonly onLog = (level: number, msg: string): void => {
    log((['debug', 'verbose', 'notice', 'warning'] as const)[level] ?? 'notice', msg);
  };

  /** The script is past busy-reply-threshold: let other threads answer BUSY; true = kill it. */
  private readonly onBusy = (elapsedMs: number): boolean => {
    const ctx = this.cur;
    if (ctx === null) return false;
    const s = this.srv.store;
    const base = s.L.misc;
    if (!ctx.busy) {
      if (Atomics.compareExchange(s.i32, base + M_BUSY_THREAD, 0, this.srv.threadId + 1) !== 0) return false;
      ctx.busy = true;
      // The engine times the run; its wall-clock start is only needed from here on (FUNCTION
      // STATS), so no run reads the clock for it.
      ctx.startMs = Date.now() - Math.round(elapsedMs);
      Atomics.store(s.i32, base + M_BUSY_KIND, ctx.isEval ? 1 : 2);
      Atomics.store(s.i32, base + M_BUSY_DIRTY, ctx.dirty ? 1 : 0);
      Atomics.store(s.i32, base + M_BUSY_KILL, 0);
      const info = Buffer.from(JSON.stringify({ name: ctx.name, command: ctx.argv.map((a) => a.toString('latin1')), start: ctx.startMs }), 'latin1');
      const off = s.heap.alloc(info.length);
      s.heap.u8.set(info, off);
      Atomics.store(s.i32, base + M_BUSY_INFO_OFF, off / 8);
      Atomics.store(s.i32, base + M_BUSY_INFO_LEN, info.length);
      log('warning', `Slow script detected: still in execution after ${Date.now() - ctx.startMs} milliseconds. You can try killing the script using the ${ctx.isEval ? 'SCRIPT KILL' : 'FUNCTION KILL'} command. Script name is: ${ctx.name}.`);
    }
    this.serveWhileBusy(ctx.c);
    const kill = Atomics.load(s.i32, base + M_BUSY_KILL);
    if (kill !== 0) {
      log('warning', kill === 2 ? 'Script stopped: the server is shutting down.' : 'Lua script killed by user with SCRIPT KILL.');
      return true;
    }
    return false;
  };

  /**
   * processEventsWhileBlocked for this thread: the event loop cannot turn while the script runs,
   * so read what this thread's other clients sent straight from their sockets and answer it
   * (BUSY, or SCRIPT KILL / FUNCTION KILL / FUNCTION STATS... which are allowed while busy).
   * Only clients with nothing queued for writing are served, so their replies stay in order.
   */
  private serveWhileBusy(running: Client): void {
    const w = this.srv.w;
    for (const c of this.srv.clients.values()) {
      if (c === running || c.closed || c.paused) continue;
      const fd = fdOf(c.socket);
      if (fd < 0 || c.socket.writableLength > 0) continue;
      // Input read before the script began, set aside for the end of that poll phase, comes first.
      let chunk = c.claimBatched();
      if (chunk === null) {
        let n = 0;
        try {
          n = readSync(fd, busyBuf, 0, busyBuf.length, null);
        } catch {
          continue; // EAGAIN: nothing to read
        }
        // A replica that went away is dropped now, as Redis frees it here: the script may be
        // waiting for INFO to show it gone (and min-replicas-to-write counts it). Other clients
        // the event loop closes after the script.
        if (n === 0 && c.replica) c.close();
        if (n <= 0) continue;
        chunk = Buffer.from(busyBuf.subarray(0, n));
      }
      const mark = w.mark();
      try {
        c.parser.feed(chunk, (argv) => {
          c.execute(argv);
          return !c.closed;
        });
      } catch {
        w.rewind(mark);
        continue;
      }
      const out = Buffer.from(w.since(mark));
      w.rewind(mark);
      if (out.length > 0) {
        try {
          writeSync(fd, out);
        } catch {
          // the peer went away: the event loop will see it
        }
      }
    }
  }

  private clearBusy(): void {
    const s = this.srv.store;
    const base = s.L.misc;
    const len = Atomics.load(s.i32, base + M_BUSY_INFO_LEN);
    if (len > 0) {
      s.heap.free((Atomics.load(s.i32, base + M_BUSY_INFO_OFF) >>> 0) * 8, len);
      Atomics.store(s.i32, base + M_BUSY_INFO_LEN, 0);
    }
    Atomics.store(s.i32, base + M_BUSY_KILL, 0);
    Atomics.store(s.i32, base + M_BUSY_DIRTY, 0);
    Atomics.store(s.i32, base + M_BUSY_KIND, 0);
    Atomics.store(s.i32, base + M_BUSY_THREAD, 0);
  }

  /**
   * Shared with C: redis.call's arguments ([u32 length][bytes] each; see engine.c) and its reply
   * going back; a run's KEYS and ARGV and its reply. Passing bytes here instead of Buffers and
   * strings saves N-API a backing store (malloc) per value crossing.
   */
  private readonly stageAll = Buffer.allocUnsafeSlow(256 * 1024);
  private readonly stage = this.stageAll.subarray(0, this.stageAll.length - CALL_INFO_BYTES);
  /**
   * The stage's last CALL_INFO_BYTES (engine.c Eng.callInfo), for each redis.call: [0] how many
   * arguments are staged (-1: they come as an array of Buffers), [1] the script's RESP version,
   * [2] set here to the reply's length in the stage (left -1 when a Buffer is returned), [3] the
   * script's redis.set_repl() flags (1 AOF, 2 replicas, 3 both, 0 neither).
   */
  private readonly callInfo = new Int32Array(this.stageAll.buffer, this.stageAll.byteOffset + this.stageAll.length - CALL_INFO_BYTES, CALL_INFO_BYTES / 4);

  // redis.call's arguments are copied out of the stage into this arena (views of it are handed
  // to the command): a command may keep a view of an argument past the next redis.call. A new
  // arena replaces a full one; the old one lives as long as views of it do.
  private arena = new Uint8Array(ARENA);
  private arenaAb: ArrayBufferLike = this.arena.buffer; // .buffer is a runtime call per read
  private arenaPos = 0;

  /**
   * The staged arguments as Buffers (views of the arena). An argument that is one of the run's
   * KEYS comes as its index with the top bit set and no bytes (engine.c keyIndex): the EVAL's
   * own key Buffer is passed.
   */
  private unstage(argc: number): Buffer[] {
    const st = this.stage;
    const argv = new Array<Buffer>(argc);
    let at = 0;
    let first = 0;
    // The command name as the last call spelled it: the memo's own Buffer (never written after
    // it is made, so a command that keeps it keeps those bytes), not a new view.
    const n0 = argc > 0 ? st[0] | (st[1] << 8) | (st[2] << 16) | (st[3] << 24) : -1;
    if (n0 === this.memoNameLen) {
      const m = this.memoName;
      let i = 0;
      while (i < n0 && m[i] === st[4 + i]) i++;
      if (i === n0) {
        argv[0] = this.memoNameBuf as Buffer;
        at = 4 + n0;
        first = 1;
      }
    }
    // KEYS first (no bytes to copy); then, only if some argument came as bytes, those bytes.
    const keys = this.cur !== null ? this.cur.keys : NO_KEYS;
    let raw = false;
    let end = at;
    for (let j = first; j < argc; j++) {
      const n = st[end] | (st[end + 1] << 8) | (st[end + 2] << 16) | (st[end + 3] << 24);
      if (n < 0) {
        argv[j] = keys[n & 0x7fffffff];
        end += 4;
      } else {
        raw = true;
        end += 4 + n;
      }
    }
    if (!raw) return argv;
    const total = end - at;
    let base = this.arenaPos;
    if (base + total > this.arena.length) {
      this.arena = new Uint8Array(Math.max(ARENA, total));
      this.arenaAb = this.arena.buffer;
      base = 0;
    }
    const ar = this.arena;
    if (total <= 64) for (let i = 0; i < total; i++) ar[base + i] = st[at + i];
    else ar.set(st.subarray(at, end), base);
    this.arenaPos = (base + total + 7) & ~7;
    const ab = this.arenaAb;
    for (let j = first, p = at; j < argc; j++) {
      const n = st[p] | (st[p + 1] << 8) | (st[p + 2] << 16) | (st[p + 3] << 24);
      if (n < 0) {
        p += 4;
        continue;
      }
      argv[j] = new BufferView(ab, base + (p - at) + 4, n);
      p += 4 + n;
    }
    return argv;
  }

  // Scripts call the same command again and again: the last name looked up (its bytes as
  // given) and its command. The table only changes at start-up (rename-command).
  private readonly memoName = new Uint8Array(32);
  private memoNameLen = -1;
  private memoNameBuf: Buffer | null = null;
  private memoSpec: CommandSpec | undefined = undefined;

  private lookupMemo(name: Buffer): CommandSpec | undefined {
    if (name === this.memoNameBuf) return this.memoSpec;
    const n = name.length;
    const m = this.memoName;
    if (n === this.memoNameLen) {
      let i = 0;
      while (i < n && m[i] === name[i]) i++;
      if (i === n) return this.memoSpec;
    }
    const spec = lookupCommand(name);
    if (spec !== undefined && n <= m.length) {
      for (let i = 0; i < n; i++) m[i] = name[i];
      this.memoNameLen = n;
      this.memoNameBuf = Buffer.from(name);
      this.memoSpec = spec;
    }
    return spec;
  }

  /**
   * redis.set_repl() of the running script, as of its latest redis.call: where the call's own
   * effect propagates (the propagator's T_AOF and T_REPLICAS bits; 0 nowhere, as Redis).
   */
  private replFlags = 3;

  /** redis.call / redis.pcall: the command's reply as RESP, in the stage (its length in callInfo[2]) or a Buffer. */
  private readonly onCall = (passed?: Buffer[]): Buffer | undefined => {
    const info = this.callInfo;
    const resp = info[1];
    this.replFlags = info[3];
    const argv = passed === undefined ? this.unstage(info[0]) : passed;
    const ctx = this.cur;
    if (ctx === null) return Buffer.from('-ERR redis.call/pcall can only be called inside a script invocation\r\n');
    const c = ctx.c;
    let spec: CommandSpec | undefined = this.lookupMemo(argv[0]);
    if (spec !== undefined && spec.subcommands !== undefined && argv.length >= 2) spec = resolveSubcommand(spec, argv[1]);
    // redis.acl_check_cmd (the addon asks with RESP 0): may the caller's user run this command?
    if (resp === 0) {
      if (spec === undefined) return Buffer.from('-ERR Invalid command passed to redis.acl_check_cmd()\r\n');
      return Buffer.from(c.user.unrestricted || c.user.check(spec, argv) === 0 ? '#t\r\n' : '#f\r\n');
    }
    if (spec === undefined) return this.reject(undefined, 'ERR Unknown Redis command called from script');
    if ((spec.arity > 0 && argv.length !== spec.arity) || argv.length < -spec.arity) return this.reject(spec, 'ERR Wrong number of args calling Redis command from script');
    const bits = spec.bits as number;
    const s = c.store;
    // Flag words are read plainly (a stale value only reorders with a concurrent change, as an
    // atomic load would): Atomics.load is a builtin call per read.
    const i32 = s.i32;
    const misc = s.L.misc;
    if ((bits & F_NOSCRIPT) !== 0 && i32[misc + M_DISABLE_DENY_SCRIPTS] === 0) return this.reject(spec, 'ERR This Redis command is not allowed from script');
    // scriptVerifyACL: the calling user's permissions apply to every redis.call.
    if (!c.user.unrestricted) {
      const denied = aclDeniedInScript(c, spec, argv);
      if (denied !== null) return this.reject(spec, denied);
    }
    // scriptVerifyAllowStale: a replica cut from its master with replica-serve-stale-data no
    // runs only commands flagged stale (the script itself had to be allow-stale to start).
    if ((bits & F_STALE) === 0 && i32[misc + MISC_REPLICA] !== 0 && i32[misc + MISC_MASTER_LINK] === 0 &&
        !c.srv.config.bool('replica-serve-stale-data')) {
      return this.reject(spec, 'ERR Can not execute the command on a stale replica');
    }
    const write = (bits & F_WRITE) !== 0;
    if (ctx.ro && (write || (bits & F_MAY_REPLICATE) !== 0)) return this.reject(spec, 'ERR Write commands are not allowed from read-only scripts.');
    // scriptVerifyWriteCommandAllow: a read-only replica refuses a script's first write (not its master's).
    if (write && !ctx.dirty && c.masterHook === null && i32[misc + MISC_REPLICA] !== 0 && c.srv.config.bool('replica-read-only')) {
      return this.reject(spec, "READONLY You can't write against a read only replica.");
    }
    // Writes need min-replicas-to-write good replicas (scriptVerifyWriteCommandAllow).
    // Once the script has written, the server's state can no longer fail it (a script is atomic):
    // these two hold only before its first write, as scriptVerifyWriteCommandAllow.
    if (write && !ctx.dirty && replGate.minToWrite !== 0 && tooFewReplicas(s)) return this.reject(spec, E_NOREPLICAS);
    // Nor while the server cannot persist (on a master; not the master's own stream).
    if (write && !ctx.dirty && c.masterHook === null && i32[misc + MISC_REPLICA] === 0) {
      const diskErr = diskWriteError(s, c.srv.config);
      if (diskErr !== null) return this.reject(spec, diskErr);
    }
    if (!(ctx.flags & F_ALLOW_OOM) && !ctx.dirty && ctx.oomAtStart && spec.denyoom === true) {
      return this.reject(spec, "OOM command not allowed when used memory > 'maxmemory'.");
    }
    if (this.srv.coord.allLocked) {
      if (ctx.keyless && ctx.lockAll && !ctx.multiSlot) this.noteKeylessSlots(ctx, spec, argv);
    } else {
      const mode = spec.lockFor !== undefined ? (spec.lockFor(argv) === 'all' ? LOCK_ALL : LOCK_KEYS) : (spec.lockMode as number);
      let ok = true;
      if ((bits & F_WALKS) !== 0) {
        // Walkers lock slot by slot and would wait while the script holds others.
        ok = false;
      } else if (ctx.keyless && mode === LOCK_KEYS) {
        ok = this.keylessSlots(ctx, spec, argv);
      } else if (mode === LOCK_KEYS) {
        ok = this.takeKeySlots(spec, argv);
      } else if (mode === LOCK_ALL || !KEYLESS_GROUPS.has(spec.group)) {
        ok = false;
      }
      if (!ok) {
        if (!ctx.dirty && !ctx.sideEffects) {
          // Nothing written yet: abort this run and run again with every slot locked.
          ctx.retry = true;
          (this.lua as LuaAddon).kill();
          return errBuf('script restarted with every slot locked');
        }
        return errBuf('shardis: this script wrote (or published) and then touched a key it did not declare whose slot another client holds; declare every key the script uses in KEYS');
      }
    }
    if ((bits & F_MAY_REPLICATE) !== 0) ctx.sideEffects = true;
    if (write) {
      ctx.dirty = true;
      if (ctx.busy) Atomics.store(s.i32, s.L.misc + M_BUSY_DIRTY, 1);
    }
    const w = c.w;
    const savedResp = c.resp;
    c.resp = resp;
    w.resp = c.resp;
    const mark = w.mark();
    // Time stands still inside a script (as Redis's scriptTimeSnapshot): store.now stays the
    // EVAL's start, so a key cannot expire between two calls of one script.
    // Effects propagation (Redis 7.0): each call that changed the dataset is staged as itself in
    // the EVAL's unit (EVAL/FCALL are never propagated themselves); call() commits the unit,
    // wrapped in MULTI/EXEC when it holds more than one effect.
    const prop = this.srv.prop;
    prop.beforeCommand();
    const db = c.db;
    const dirty0 = s.dirty;
    try {
      spec.handler(c, argv);
    } catch (e) {
      w.rewind(mark);
      if (e instanceof OutOfMemoryError) w.error("OOM command not allowed when used memory > 'maxmemory'.");
      else w.error(`ERR ${(e as Error).message}`);
    }
    if (prop.on()) prop.afterCommand(db, argv, s.dirty !== dirty0 && (bits & F_NO_PROPAGATE) === 0, this.replFlags);
    // MONITOR shows the call as the script's (`[db lua]`), as Redis's call() for its Lua client.
    if (monitorsActive(this.srv)) feedMonitors(c, spec, argv, c.db, 'lua');
    c.resp = savedResp;
    w.resp = savedResp;
    const base = statBase(this.srv.threadId, spec);
    const f = s.f64;
    f[base] += 1;
    // The calls of a run chain their clocks, as commands of one socket chunk do (clock.ts): a
    // call's time runs from the end of the previous one (the run's start for the first), so the
    // Lua between two calls counts to the second. One clock read per call, not two: a read costs
    // ~45 ns on a VM's kvm-clock, about a tenth of a 10-INCR script's CPU.
    const t1 = perf.now();
    f[base + 1] += (t1 - this.callClock) * 1000;
    this.callClock = t1;
    if (w.byteAt(mark) === 0x2d) {
      f[base + 3] += 1;
      this.srv.addStat(S_ERRORS, 1);
    }
    // Client-side caching: a script that reads makes its caller track the declared keys.
    if (!ctx.remembered && spec.readonly === true && c.tracking !== 0) {
      ctx.remembered = true;
      rememberScriptKeys(c, ctx.keys);
    }
    const n = w.copySince(mark, this.stage);
    let out: Buffer | undefined;
    if (n >= 0) info[2] = n;
    else out = w.since(mark); // C copies it before anything is written
    w.rewind(mark);
    return out;
  };
}

export {};

const NO_KEYS: Buffer[] = [];
/** engine.c CALL_INFO_BYTES. */
const CALL_INFO_BYTES = 16;

function errBuf(msg: string): Buffer {
  return Buffer.from(`-ERR ${msg}\r\n`);
}

export function sha1hex(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('hex');
}

/** Redis's busy words: is a script past the threshold on another thread? (0: none) */
export function busyKind(srv: ThreadServer): number {
  const s = srv.store;
  if (Atomics.load(s.i32, s.L.misc + M_BUSY_THREAD) === 0) return 0;
  return Atomics.load(s.i32, s.L.misc + M_BUSY_KIND);
}

/** The script past the busy threshold (on any thread), for FUNCTION STATS. */
export function busyInfo(srv: ThreadServer): { name: string; command: string[]; start: number } | null {
  const s = srv.store;
  if (Atomics.load(s.i32, s.L.misc + M_BUSY_THREAD) === 0) return null;
  const len = Atomics.load(s.i32, s.L.misc + M_BUSY_INFO_LEN);
  if (len === 0) return null;
  const off = (Atomics.load(s.i32, s.L.misc + M_BUSY_INFO_OFF) >>> 0) * 8;
  try {
    return JSON.parse(Buffer.from(s.heap.u8.subarray(off, off + len)).toString('latin1')) as { name: string; command: string[]; start: number };
  } catch {
    return null;
  }
}

/** SCRIPT KILL / FUNCTION KILL: the reply text, or null when the kill was requested. */
export function requestKill(srv: ThreadServer, isEval: boolean): string | null {
  const s = srv.store;
  const base = s.L.misc;
  if (Atomics.load(s.i32, base + M_BUSY_THREAD) === 0) return 'NOTBUSY No scripts in execution right now.';
  const kind = Atomics.load(s.i32, base + M_BUSY_KIND);
  if (Atomics.load(s.i32, base + M_BUSY_DIRTY) !== 0) {
    return 'UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.';
  }
  if (isEval && kind === 2) return 'BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.';
  if (!isEval && kind === 1) return 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.';
  Atomics.store(s.i32, base + M_BUSY_KILL, 1);
  return null;
}

/**
 * SHUTDOWN (NOSAVE) under a busy script, killable or not: the script stops at its next hook, so
 * its thread returns to JS and can be terminated (a thread inside Lua never would). Its writes
 * go nowhere: the AOF is closed by then, as Redis exits from under the script. Returns whether
 * one was busy.
 */
export function stopBusyScriptForShutdown(s: Store): boolean {
  endDebugSessions();
  if (Atomics.load(s.i32, s.L.misc + M_BUSY_THREAD) === 0) return false;
  Atomics.store(s.i32, s.L.misc + M_BUSY_KILL, 2);
  return true;
}

/**
 * The server is shutting down: Lua debugger sessions stop waiting for their clients (Redis's
 * blocking read is interrupted by the signal), so the scripts run on without stopping and their
 * threads come back.
 */
export function endDebugSessions(): void {
  loadAddon(true)?.ldbStopAll(true);
}

/** The shutdown was cancelled (SHUTDOWN ABORT, a failed save): later debugger sessions wait for their clients again. */
export function allowDebugSessions(): void {
  loadAddon(true)?.ldbStopAll(false);
}

/** A debugging session whose script never ran ends with its mark all the same (ldbEndSession). */
export function sendEndSession(fd: number): void {
  try {
    writeSync(fd, '*1\r\n+<endsession>\r\n');
  } catch {
    // the client is gone; its reply goes nowhere either
  }
}

let engines: ScriptEngine | null = null;
export function scriptEngine(srv: ThreadServer): ScriptEngine {
  if (engines === null) engines = new ScriptEngine(srv);
  // The main thread has more than one context (the AOF's loading client, the RDB loader's
  // library checks): the engine serves the one that calls it.
  else if (engines.srv !== srv) engines.srv = srv;
  return engines;
}
