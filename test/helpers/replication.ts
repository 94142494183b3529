// Helpers shared by the replication tests: INFO fields and waiting for a condition.
import { RawClient, show, type Reply } from './resp';

/** A bulk or simple reply as text (null bulk: ''); anything else is a test failure. */
export function text(r: Reply): string {
  if (r.t === 'bulk' || r.t === 'simple') return r.v === null ? '' : r.v.toString();
  throw new Error(`unexpected reply ${show(r)}`);
}

/** One INFO section as field -> value. */
export async function info(c: RawClient, section: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const l of text(await c.call('INFO', section)).split('\r\n')) {
    const i = l.indexOf(':');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

/** Poll `fn` every 50 ms until it holds; fail naming `what` after `ms`. */
export async function until(what: string, fn: () => Promise<boolean>, ms = 20000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
