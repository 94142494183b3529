// The listening sockets of a worker thread. The first worker binds them; the others accept on the
// same sockets through descriptors of their own (native dup), so that CONFIG SET port / bind can
// close and rebind them on every thread, as Redis 7.0's changeListenPort / changeBindAddr do.
// Without the native addon the other workers share the first one's descriptor numbers, and
// rebinding is refused on more than one thread (closing a shared number would close it for all).
import * as net from 'net';
import { chmodSync, existsSync, unlinkSync } from 'fs';
import { dirname } from 'path';
import { strerror } from '../config/directives';
import { sysAddon } from '../store/sysaddon';
import type { ThreadServer } from './context';
import { log } from './log';

/** The listening sockets every worker accepts on: TCP (one per bind address) and the Unix one. */
export interface ListenFds {
  tcp: number[];
  /** -1: no unixsocket. */
  unix: number;
}

type Accept = (socket: net.Socket) => void;

let srv: ThreadServer;
let onTcp: Accept;
let onUnix: Accept;
let tcpServers: net.Server[] = [];
let unixServer: net.Server | null = null;

const dup = sysAddon?.dup ?? null;

/** The descriptor under a socket or listening server (Node keeps it in its handle); -1 when none. */
export function fdOf(s: net.Server | net.Socket): number {
  const fd = (s as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

/** A listening server whose accept errors (EMFILE, ECONNABORTED...) are logged, never fatal. */
function listener(accept: Accept): net.Server {
  const s = net.createServer({ noDelay: true, allowHalfOpen: true }, accept);
  s.on('error', (e: NodeJS.ErrnoException) => {
    if (s.listening) log('warning', `Accepting client connection: ${e.message}`);
  });
  return s;
}

/** Listen on a socket another thread bound: on a duplicate of its descriptor where possible. */
function adopt(fd: number, accept: Accept): net.Server {
  const own = dup !== null ? dup(fd) : -1;
  const s = listener(accept);
  s.listen({ fd: own >= 0 ? own : fd });
  return s;
}

function listenAddresses(): string[] {
  const binds = srv.config.str('bind').split(' ').filter((s) => s !== '');
  // `bind ""`: no TCP listener at all, as Redis 7.0's listenToPort.
  if (binds.length === 0) return [];
  if ((binds.includes('*') && binds.every((b) => b === '*' || b === '-::*'))) return ['::'];
  return binds.map((b) => (b.startsWith('-') ? b.slice(1) : b)).map((b) => (b === '*' ? '0.0.0.0' : b === '::*' ? '::' : b));
}

/** The Unix socket, as Redis's anetUnixServer: a stale file is removed first, then unixsocketperm. */
async function bindUnix(): Promise<number> {
  const p = srv.config.str('unixsocket');
  try {
    unlinkSync(p);
  } catch {
    /* don't care if this fails (as Redis) */
  }
  const s = listener(onUnix);
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen({ path: p, backlog: srv.config.num('tcp-backlog') }, () => resolve());
    });
    const perm = parseInt(srv.config.str('unixsocketperm'), 8); // kept as its octal text
    if (perm !== 0) chmodSync(p, perm);
  } catch (e) {
    s.close();
    // libuv reports a missing directory as EACCES (Windows compatibility); bind(2) says ENOENT.
    const why = (e as NodeJS.ErrnoException).code === 'EACCES' && !existsSync(dirname(p)) ? 'No such file or directory' : strerror(e);
    throw new Error(`Failed opening Unix socket: bind: ${why}`);
  }
  unixServer = s;
  return fdOf(s);
}

/** Bind every address of `bind` on `port`; all or nothing (what is bound is closed on failure). */
async function bindTcp(): Promise<number[]> {
  const portNo = srv.config.num('port');
  if (portNo === 0) return [];
  const backlog = srv.config.num('tcp-backlog');
  const bound: net.Server[] = [];
  const listen = (s: net.Server, host: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen({ port: portNo, host, backlog, ipv6Only: false }, () => {
        s.removeListener('error', reject);
        resolve();
      });
    });
  for (const host of listenAddresses()) {
    let s = listener(onTcp);
    try {
      await listen(s, host);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (host === '::' && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL')) {
        s = listener(onTcp);
        try {
          await listen(s, '0.0.0.0');
        } catch (e2) {
          for (const b of bound) b.close();
          throw e2;
        }
      } else {
        for (const b of bound) b.close();
        throw new Error(`Could not create server TCP listening socket ${host}:${portNo}: ${err.code === 'EADDRINUSE' ? 'bind: Address already in use' : err.message}`);
      }
    }
    bound.push(s);
  }
  tcpServers = bound;
  return bound.map(fdOf);
}

/**
 * Start this thread's listeners: the first worker binds (fds undefined) and returns what it bound;
 * the others adopt the first one's sockets.
 */
export async function startListeners(server: ThreadServer, fds: ListenFds | undefined, tcp: Accept, unix: Accept): Promise<ListenFds> {
  srv = server;
  onTcp = tcp;
  onUnix = unix;
  srv.requestHandlers.set('listeners-close', () => {
    closeTcp();
    return null;
  });
  srv.requestHandlers.set('listeners-adopt', (args) => {
    if ((args[1] as number) !== srv.threadId) tcpServers = (args[0] as number[]).map((fd) => adopt(fd, onTcp));
    return null;
  });
  if (fds !== undefined) {
    tcpServers = fds.tcp.map((fd) => adopt(fd, onTcp));
    if (fds.unix >= 0) unixServer = adopt(fds.unix, onUnix);
    return fds;
  }
  const tcpFds = await bindTcp();
  const unixFd = srv.config.str('unixsocket') !== '' ? await bindUnix() : -1;
  if (tcpFds.length === 0 && unixFd < 0) throw new Error('Configured to not listen anywhere, exiting.');
  return { tcp: tcpFds, unix: unixFd };
}

function closeTcp(): void {
  for (const s of tcpServers) s.close();
  tcpServers = [];
}

/**
 * The server exits (closeListeningSockets): this thread stops accepting. Once every thread has,
 * the sockets are closed and a new connection is refused, as Redis's are before it exits.
 */
export function closeListeners(): void {
  closeTcp();
  unixServer?.close();
  unixServer = null;
}

/** Can this server close and rebind its TCP listeners (CONFIG SET port / bind)? */
export function canRebind(): boolean {
  return srv.threads === 1 || dup !== null;
}

/**
 * Close every thread's TCP listeners and bind them again under the current `port` and `bind`
 * (Redis closes before it binds, so a new bind list may reuse the port). Resolves with the bind
 * error, after which no TCP listener is open: the caller restores the old settings and calls
 * this again, as Redis's CONFIG SET rollback does.
 */
export async function rebindTcp(): Promise<string | null> {
  await srv.broadcast({ op: 'listeners-close', args: [] });
  let fds: number[];
  try {
    fds = await bindTcp();
  } catch (e) {
    log('warning', (e as Error).message);
    return (e as Error).message;
  }
  await srv.broadcast({ op: 'listeners-adopt', args: [fds, srv.threadId] });
  return null;
}
