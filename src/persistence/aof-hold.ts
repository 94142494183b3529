// `appendfsync always` on a worker thread: a reply leaves only once the AOF writer has fsynced
// everything the stream held when the reply was ready (Redis writes and fsyncs the AOF in
// beforeSleep, before any reply of that event-loop turn is sent, reads included). Units are
// appended under their slot locks and the stream's written offset is published before those locks
// are released, so the offset read here covers this client's own writes and every write whose
// effect the reply may show. Replies that must wait go to one FIFO per thread (needs only grow),
// released as the writer publishes the durable offset: one fsync releases every thread's waiting
// replies (group commit). With the AOF off or not `always`, a flush pays one atomic load.
import type { Socket } from 'net';
import { aofShared, errnoText, A_HOLD, A_DURABLE_SEQ, A_WRITE_ERR, A_ENABLED, type AofShared } from './aof-state';
import type { Stream } from '../server/stream';
import { inlineWrite } from './aof-inline';

export interface HoldingClient {
  readonly socket: Socket;
  closed: boolean;
  /** Entries of this client waiting in the queue (later output must queue behind them). */
  aofHeld: number;
}

interface Held {
  c: HoldingClient;
  bytes: Buffer | null;
  need: number;
  close: boolean;
}

type WaitAsync = (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: Promise<unknown> | string };

const queue: Held[] = [];
let head = 0;
let waiting = false;

/** Must this client's output wait for the AOF? (stream: this thread's view of the stream) */
export function mustHold(c: HoldingClient, stream: Stream): boolean {
  const a = aofShared();
  if (a === null) return false;
  if (c.aofHeld > 0) return true;
  if (Atomics.load(a.i32, A_HOLD) === 0) return false;
  return a.pending(stream.written());
}

/** Queue output (and/or the close after it) until the durable offset passes what is written now. */
export function hold(c: HoldingClient, bytes: Buffer | null, close: boolean, stream: Stream): void {
  queue.push({ c, bytes, need: stream.written(), close });
  c.aofHeld++;
  arm(aofShared() as AofShared);
}

function release(a: AofShared): void {
  const on = Atomics.load(a.i32, A_HOLD) !== 0;
  while (head < queue.length) {
    const h = queue[head];
    if (on && a.pending(h.need)) break;
    queue[head] = undefined as unknown as Held;
    head++;
    const c = h.c;
    c.aofHeld--;
    if (c.socket.destroyed) continue;
    if (h.bytes !== null) c.socket.write(h.bytes);
    if (h.close) c.socket.destroySoon();
  }
  if (head === queue.length) {
    queue.length = 0;
    head = 0;
  } else if (head > 4096) {
    queue.splice(0, head);
    head = 0;
  }
}

function arm(a: AofShared): void {
  if (waiting) return;
  const seq = Atomics.load(a.i32, A_DURABLE_SEQ);
  release(a);
  if (head === queue.length) return;
  waiting = true;
  const r = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(a.i32, A_DURABLE_SEQ, seq, 1000);
  const p = typeof r.value === 'string' ? Promise.resolve() : r.value;
  void p.then(() => {
    waiting = false;
    arm(a);
  });
}

/**
 * A worker's end of an event-loop turn in which it appended (Stream.turnHook): write the AOF here
 * when the writer thread is idle (aof-inline.ts) and send the replies it made durable at once.
 */
export function installAofTurn(stream: Stream): void {
  stream.turnHook = () => {
    const a = aofShared();
    if (a === null || Atomics.load(a.i32, A_HOLD) === 0) return false;
    return inlineWrite(a, stream, () => {
      if (head < queue.length) release(a);
    });
  };
}

/** writeCommandsDeniedByDiskError's AOF half: the strerror text of the last failed write, or null. */
export function aofWriteError(): string | null {
  const a = aofShared();
  if (a === null) return null;
  const e = Atomics.load(a.i32, A_WRITE_ERR);
  if (e === 0 || Atomics.load(a.i32, A_ENABLED) === 0) return null;
  return errnoText(e);
}
