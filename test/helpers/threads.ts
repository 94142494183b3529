// Connections placed on chosen worker threads: connect until enough landed on each (the OS
// hands connections to threads; INFO threads tells where one landed).
import { RawClient } from './resp';
import { info } from './replication';

/**
 * `counts[t - 1]` connections on thread t. `on[t - 1]` holds them; `all` every connection opened
 * (the caller closes them). Throws when 64 tries did not fill every count.
 */
export async function connectOnThreads(port: number, counts: number[]): Promise<{ on: RawClient[][]; all: RawClient[] }> {
  const on: RawClient[][] = counts.map(() => []);
  const all: RawClient[] = [];
  for (let i = 0; i < 64 && on.some((l, t) => l.length < counts[t]); i++) {
    const c = await RawClient.connect(port);
    all.push(c);
    const t = Number((await info(c, 'threads')).this_thread) - 1;
    if (t >= 0 && t < counts.length && on[t].length < counts[t]) on[t].push(c);
  }
  if (on.some((l, t) => l.length < counts[t])) {
    for (const c of all) await c.close();
    throw new Error(`connections did not land on the threads asked for (${counts.join(', ')})`);
  }
  return { on, all };
}
