// Connections placed on chosen worker threads: connect until enough landed on each (the OS
// hands connections to threads; INFO threads tells where one landed).
import { RawClient } from './resp';
import { info } from './replication';

/**
 * `counts[t - 1]` connections on thread t. `on[t - 1]` holds them; `all` every connection opened
 * (the caller closes them). Throws when 64 tries did not fill every count.
 *
 * Every thread polls the one listening socket, and the first awake accepts: a thread busier than
 * the others may get almost none for a while. After 16 tries, a thread that already has its
 * share is put to sleep (DEBUG THREAD-SLEEP, when the server allows DEBUG) while the next
 * connection is made, so that one lands elsewhere.
 */
export async function connectOnThreads(port: number, counts: number[]): Promise<{ on: RawClient[][]; all: RawClient[] }> {
  const on: RawClient[][] = counts.map(() => []);
  const all: RawClient[] = [];
  for (let i = 0; i < 64 && on.some((l, t) => l.length < counts[t]); i++) {
    const full = on.findIndex((l, t) => l.length >= counts[t] && l.length > 0);
    let sleeping: Promise<unknown> | null = null;
    if (i >= 16 && full >= 0) {
      sleeping = on[full][0].call('DEBUG', 'THREAD-SLEEP', '0.2');
      await new Promise((r) => setTimeout(r, 20));
    }
    const c = await RawClient.connect(port);
    all.push(c);
    const t = Number((await info(c, 'threads')).this_thread) - 1;
    if (sleeping !== null) await sleeping;
    if (t >= 0 && t < counts.length && on[t].length < counts[t]) on[t].push(c);
  }
  if (on.some((l, t) => l.length < counts[t])) {
    for (const c of all) await c.close();
    throw new Error(`connections did not land on the threads asked for (${counts.join(', ')})`);
  }
  return { on, all };
}
