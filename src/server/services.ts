// Per-worker background duties: publishing statistics, closing idle clients.
import type { ThreadServer } from './context';

export function installWorkerServices(srv: ThreadServer): void {
  const hz = Math.max(1, Math.min(500, srv.config.num('hz')));
  const timer = setInterval(() => {
    srv.publishStats();
    const timeout = srv.config.num('timeout');
    if (timeout > 0) {
      const limit = Date.now() - timeout * 1000;
      for (const c of srv.clients.values()) {
        // Redis never times out blocked or subscribed clients, nor replicas.
        if (c.lastInteraction < limit && !c.paused && c.subscriptions + c.psubscriptions + c.ssubscriptions === 0) c.close();
      }
    }
  }, 1000 / hz);
  timer.unref();
}
