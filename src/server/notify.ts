// Keyspace notifications (notify.c): for an event of a class enabled by notify-keyspace-events,
// publish `__keyspace@<db>__:<key>` <event> (K) and `__keyevent@<db>__:<event>` <key> (E).
//
// Command code calls notifyKeyspaceEvent() where Redis 7.0 calls it, with the same event names
// and classes, in the same order. When notifications are off (the default) a call costs one
// check of a cached number: the flags are recomputed only when the setting changes.
//
// Events raised inside the store (lazy expiry "expired", key creation "new", lookup misses
// "keymiss") come through Store hooks that are installed only while their class is enabled.
// On the main thread (active expiry) events go through a MainPublisher (src/server/pubsub.ts).
import {
  NOTIFY_EXPIRED, NOTIFY_KEYEVENT, NOTIFY_KEYSPACE, NOTIFY_KEY_MISS, NOTIFY_NEW,
} from '../config/directives';
import { DEL_EXPIRED, type Store } from '../store/keyspace';
import type { Client } from './client';

export {
  NOTIFY_GENERIC, NOTIFY_STRING, NOTIFY_LIST, NOTIFY_SET, NOTIFY_HASH, NOTIFY_ZSET, NOTIFY_EXPIRED,
  NOTIFY_KEY_MISS, NOTIFY_NEW,
} from '../config/directives';

/** Delivers one message on a channel; `from` is the client whose command raised it, if any. */
export type Publisher = (from: Client | null, channel: Buffer, message: Buffer) => void;

/** The enabled classes, 0 unless K or E is set too (then nothing would be published). */
let active = 0;
let publisher: Publisher | null = null;

/**
 * The client whose command runs now (set by the dispatcher and the blocking serve path): a RESP3
 * client subscribed to its own keys gets events raised by store hooks inside its reply stream.
 */
let current: Client | null = null;

export function setNotifyClient(c: Client | null): void {
  current = c;
}

export function notifyClient(): Client | null {
  return current;
}

/** Is any class of events enabled (a cheap test for callers that must build a key first)? */
export function notifyOn(type: number): boolean {
  return (active & type) !== 0;
}

/**
 * Apply notify-keyspace-events flags (NOTIFY_*) for this thread: cache them and install or remove
 * the store hooks. Called at start and after every CONFIG SET.
 */
export function configureNotify(flags: number, store: Store, publish: Publisher): void {
  active = flags > 0 && (flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT)) !== 0 ? flags : 0;
  publisher = publish;
  if ((active & NOTIFY_EXPIRED) !== 0) store.listen('deleted', onDeleted);
  else store.unlisten('deleted', onDeleted);
  if ((active & NOTIFY_NEW) !== 0) store.listen('new', onNew);
  else store.unlisten('new', onNew);
  store.onKeyMiss = (active & NOTIFY_KEY_MISS) !== 0 ? onKeyMiss : null;
}

function onDeleted(db: number, key: Uint8Array, reason: number): void {
  if (reason === DEL_EXPIRED) notifyKeyspaceEvent(current, NOTIFY_EXPIRED, 'expired', key, db);
}

function onNew(db: number, key: Uint8Array): void {
  notifyKeyspaceEvent(current, NOTIFY_NEW, 'new', key, db);
}

function onKeyMiss(db: number, key: Uint8Array): void {
  notifyKeyspaceEvent(current, NOTIFY_KEY_MISS, 'keymiss', key, db);
}

/** notifyKeyspaceEvent(type, event, key, dbid) of notify.c. `key` is read before returning. */
export function notifyKeyspaceEvent(c: Client | null, type: number, event: string, key: Uint8Array, db: number): void {
  if ((active & type) === 0) return;
  publishEvent(c, event, key, db);
}

const eventNames = new Map<string, Buffer>();
const PREFIX_SPACE = Buffer.from('__keyspace@', 'latin1');
const PREFIX_EVENT = Buffer.from('__keyevent@', 'latin1');

function publishEvent(c: Client | null, event: string, key: Uint8Array, db: number): void {
  const publish = publisher;
  if (publish === null) return;
  let ev = eventNames.get(event);
  if (ev === undefined) {
    ev = Buffer.from(event, 'latin1');
    eventNames.set(event, ev);
  }
  const dbs = String(db);
  if (active & NOTIFY_KEYSPACE) publish(c, channel(PREFIX_SPACE, dbs, key), ev);
  if (active & NOTIFY_KEYEVENT) publish(c, channel(PREFIX_EVENT, dbs, ev), Buffer.from(key));
}

/** `<prefix><db>__:<name>` */
function channel(prefix: Buffer, db: string, name: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + db.length + 3 + name.length);
  prefix.copy(out, 0);
  let p = prefix.length;
  p += out.latin1Write(db, p);
  out[p++] = 0x5f;
  out[p++] = 0x5f;
  out[p++] = 0x3a;
  out.set(name, p);
  return out;
}
