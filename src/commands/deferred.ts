// Replies written later: the client is paused until some work settles (a broadcast to the other
// threads, the main thread's persistence, a rebind), then its reply is written and input resumes.
import type { Client } from '../server/client';
import { S_ERRORS } from '../server/context';

/**
 * Pause the client until `work` settles, then let `done` write the reply (cross-thread requests,
 * SAVE, CONFIG SET port...). `work` must not reject. `closed` runs instead when the client has
 * gone meanwhile.
 */
export function replyLater<T>(c: Client, work: Promise<T>, done: (c: Client, value: T) => void, closed?: () => void): void {
  // CLIENT REPLY OFF / SKIP drop this reply too, though it is written later.
  const quiet = c.replyMode !== 0;
  c.pause();
  void work.then((v) => finishLater(c, v, done, quiet, closed));
}

function finishLater<T>(c: Client, value: T, done: (c: Client, value: T) => void, quiet: boolean, closed: (() => void) | undefined): void {
  if (!c.closed && c.replica) {
    // A reply on a replica's link (its own command, answered later): dropped, the link closed.
    c.replicaReplied(c.lastCommand);
  } else if (!c.closed) {
    c.w.resp = c.resp;
    const mark = c.w.mark();
    done(c, value);
    if (c.w.byteAt(mark) === 0x2d) c.srv.addStat(S_ERRORS, 1);
    if (quiet) c.w.rewind(mark);
    c.recordDeferredLatency();
    c.flush();
  } else if (closed !== undefined) {
    closed();
  }
  c.resume();
}
