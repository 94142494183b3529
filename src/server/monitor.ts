// MONITOR (replicationFeedMonitors): every command a client runs, on any thread, is shown to the
// monitoring clients as `+<secs>.<usecs> [<db> <addr>] "arg" "arg"...`, after it ran, except
// admin commands and AUTH's secrets. A shared count of monitors keeps the cost for everybody else
// at one atomic load per command. Lines of one event-loop turn go out together: to this thread's
// monitors directly, to other threads' through the main thread (a debugging tool, as costly in
// Redis: it roughly halves throughput there too).
import type { Client } from './client';
import type { ThreadServer } from './context';
import { M_MONITORS } from './context';
import type { CommandSpec } from '../commands/types';
import { performance } from 'perf_hooks';
import { redactedArgs } from './redact';

const local = new Set<Client>();
let parts: Buffer[] = [];
let bytes = 0;
let queued = false;
let installed: ThreadServer | null = null;

/** Any monitor on any thread? (One atomic load: the dispatcher asks before every command.) */
export function monitorsActive(srv: ThreadServer): boolean {
  return Atomics.load(srv.store.i32, srv.store.L.misc + M_MONITORS) > 0;
}

/** MONITOR: c sees every command from now on (already monitoring: nothing, as Redis). */
export function startMonitor(c: Client): boolean {
  if (local.has(c)) return false;
  local.add(c);
  if (!c.flagChars.includes('O')) c.flagChars += 'O';
  Atomics.add(c.store.i32, c.store.L.misc + M_MONITORS, 1);
  c.onClose.push(stopMonitor);
  return true;
}

/** RESET, or the connection is gone. */
export function stopMonitor(c: Client): void {
  if (!local.delete(c)) return;
  c.flagChars = c.flagChars.replace('O', '');
  Atomics.sub(c.store.i32, c.store.L.misc + M_MONITORS, 1);
}

/** Is c a monitor? */
export function isMonitor(c: Client): boolean {
  return local.has(c);
}

/** Lines posted by another thread (through the main thread): for this thread's monitors. */
export function onRemoteLines(b: Uint8Array): void {
  if (local.size === 0) return;
  const out = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (const m of local) m.deliver(out);
}

/** Show c's command (it just ran in db). Call only when monitorsActive(). */
export function feedMonitors(c: Client, spec: CommandSpec, argv: Buffer[], db: number, from: string = c.addr): void {
  if (spec.flags.includes('admin') || spec.flags.includes('skip_monitor')) return;
  feedMonitorLine(c, argv, db, from);
}

/**
 * The line itself, whatever the command's flags: EVAL, EVALSHA and FCALL (skip_monitor) show
 * themselves as they start, so that the calls of the script, shown as `[db lua]`, come after them.
 */
export function feedMonitorLine(c: Client, argv: Buffer[], db: number, from: string = c.addr): void {
  const now = performance.timeOrigin + performance.now();
  const secs = Math.floor(now / 1000);
  const usecs = Math.floor((now - secs * 1000) * 1000);
  let line = `+${secs}.${String(usecs).padStart(6, '0')} [${db} ${from}]`;
  const hidden = redactedArgs(argv);
  for (let i = 0; i < argv.length; i++) line += hidden !== null && hidden[i] ? ' "(redacted)"' : ` ${repr(argv[i])}`;
  line += '\r\n';
  const b = Buffer.from(line, 'latin1');
  parts.push(b);
  bytes += b.length;
  if (!queued) {
    queued = true;
    installed = c.srv;
    setImmediate(flush);
  }
}

function flush(): void {
  queued = false;
  const srv = installed;
  if (srv === null || parts.length === 0) return;
  const out = parts.length === 1 ? parts[0] : Buffer.concat(parts, bytes);
  parts = [];
  bytes = 0;
  for (const m of local) m.deliver(out);
  // Monitors elsewhere: the main thread relays to the other workers.
  if (Atomics.load(srv.store.i32, srv.store.L.misc + M_MONITORS) > local.size) srv.toMain({ type: 'monitor', lines: out });
}

/** sdscatrepr: a quoted string with C escapes for what is not printable. */
export function repr(b: Uint8Array): string {
  let s = '"';
  for (let i = 0; i < b.length; i++) {
    const ch = b[i];
    switch (ch) {
      case 0x5c: s += '\\\\'; break;
      case 0x22: s += '\\"'; break;
      case 0x0a: s += '\\n'; break;
      case 0x0d: s += '\\r'; break;
      case 0x09: s += '\\t'; break;
      case 0x07: s += '\\a'; break;
      case 0x08: s += '\\b'; break;
      default:
        if (ch >= 0x20 && ch <= 0x7e) s += String.fromCharCode(ch);
        else s += `\\x${ch.toString(16).padStart(2, '0')}`;
    }
  }
  return s + '"';
}
