// What redis-server does around start-up and exit for the operator: daemonize, supervision by
// systemd or upstart, the pid file, the process title, and the loud warnings for features
// accepted but not built.
import { spawn } from 'child_process';
import { unlinkSync, writeFileSync } from 'fs';
import type { Config } from '../config/config';
import { defaultValue, lookupDirective, strerror } from '../config/directives';
import { sysAddon } from '../store/sysaddon';
import { log } from './log';

/** Set in the daemon child so that it does not daemonize again. */
const DAEMON_ENV = 'SHARDIS_DAEMON_CHILD';
/** Redis's CONFIG_DEFAULT_PID_FILE: the pid file of a daemon started without `pidfile`. */
const DEFAULT_PID_FILE = '/var/run/redis.pid';

export function isDaemonChild(): boolean {
  return process.env[DAEMON_ENV] === '1';
}

/**
 * daemonize yes: Node cannot fork, so the process re-spawns itself detached (a new session, no
 * terminal, stdio on /dev/null as Redis's daemonize() leaves it) and exits once the child says it
 * listens, 0, or 1 if the child died first (so `shardis --daemonize yes && redis-cli ping` works
 * and a bad port is not a silent failure). The caller stops its own start-up here.
 */
export function daemonize(): void {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: { ...process.env, [DAEMON_ENV]: '1' },
  });
  child.on('message', (m: { type?: string }) => {
    if (m.type === 'ready') process.exit(0);
  });
  child.on('exit', (code) => {
    process.stderr.write(`shardis: the daemonized server exited during start-up (code ${code}); see its log file.\n`);
    process.exit(1);
  });
  child.on('error', (e) => {
    process.stderr.write(`Can't daemonize: ${e.message}\n`);
    process.exit(1);
  });
}

/** The daemon child is listening: release the parent, then drop the channel (fully detached). */
export function daemonReady(): void {
  if (!isDaemonChild() || process.send === undefined) return;
  process.send({ type: 'ready' }, () => process.disconnect?.());
}

/** Supervision set up at start (Redis's server.supervised): INFO's process_supervised. */
let supervised = false;

/**
 * `supervised` (Redis's redisIsSupervised), before daemonizing: `auto` picks upstart when
 * UPSTART_JOB is set, else systemd when NOTIFY_SOCKET is. Upstart: the process stops itself
 * (SIGSTOP) to say it started. Systemd: it tells NOTIFY_SOCKET it is loading, later READY=1 and
 * STOPPING=1 (notifySystemd). On success the detected mode becomes the config's value, as Redis's
 * supervised_mode; a supervised server does not daemonize. True when supervised.
 */
export function superviseStart(config: Config): boolean {
  let mode = config.str('supervised');
  if (mode === 'auto') {
    if (process.env.UPSTART_JOB) {
      log('verbose', 'Upstart supervision detected.');
      mode = 'upstart';
    } else if (process.env.NOTIFY_SOCKET) {
      log('verbose', 'Systemd supervision detected.');
      mode = 'systemd';
    }
  }
  if (mode === 'upstart') {
    if (!process.env.UPSTART_JOB) {
      log('warning', 'upstart supervision requested, but UPSTART_JOB not found!');
    } else {
      log('notice', 'supervised by upstart, will stop to signal readiness.');
      process.kill(process.pid, 'SIGSTOP');
      delete process.env.UPSTART_JOB;
      supervised = true;
    }
  } else if (mode === 'systemd') {
    if (sysAddon?.notify === undefined) {
      // Redis built without libsystemd says the same and runs unsupervised.
      log('warning', 'systemd supervision requested or auto-detected, but shardis runs without its native addon (native/madvise), which sends the notifications!');
    } else if (communicateSystemd('STATUS=shardis is loading...\n') > 0) {
      log('notice', 'Supervised by systemd. Please make sure you set appropriate values for TimeoutStartSec and TimeoutStopSec in your service unit.');
      supervised = true;
    }
  }
  if (supervised) config.set([['supervised', mode]], { force: true });
  return supervised;
}

/** INFO process_supervised. */
export function supervisionName(config: Config): string {
  return supervised ? config.str('supervised') : 'no';
}

/** sd_notify(0, msg): > 0 sent, 0 no NOTIFY_SOCKET (or no addon), < 0 -errno; failures are logged. */
function communicateSystemd(msg: string): number {
  if (sysAddon?.notify === undefined) return 0;
  const at = process.env.NOTIFY_SOCKET;
  if (at === undefined || at === '') {
    log('warning', 'systemd supervision error: NOTIFY_SOCKET not found!');
    return 0;
  }
  const r = sysAddon.notify(at, msg);
  if (r < 0) log('warning', `systemd supervision error: sd_notify: ${r}`);
  return r;
}

/** A notification to systemd (READY=1, STATUS=..., STOPPING=1) when `supervised` is systemd. */
export function notifySystemd(config: Config, msg: string): void {
  if (config.str('supervised') === 'systemd') communicateSystemd(msg);
}

/** The pid file path in use ('' for none): `pidfile`, or Redis's default when daemonized. */
export function pidFilePath(config: Config): string {
  const p = config.str('pidfile');
  if (p !== '') return p;
  return config.bool('daemonize') && !supervised ? DEFAULT_PID_FILE : '';
}

/** createPidFile(): best effort, as Redis. */
export function createPidFile(config: Config): void {
  const p = pidFilePath(config);
  if (p === '') return;
  try {
    writeFileSync(p, `${process.pid}\n`);
  } catch (e) {
    log('warning', `Failed to write PID file: ${strerror(e)}`);
  }
}

/** prepareForShutdown()'s pid file removal. */
export function removePidFile(config: Config): void {
  const p = pidFilePath(config);
  if (p === '') return;
  log('notice', 'Removing the pid file.');
  try {
    unlinkSync(p);
  } catch {
    /* as Redis: unlink's result is not checked */
  }
}

/** Redis's expandProcTitleTemplate() (the template is validated by CONFIG). */
export function expandProcTitle(config: Config, title: string): string {
  const tpl = config.str('proc-title-template');
  const port = config.num('port');
  const binds = config.bindAddresses();
  const vars: Record<string, string> = {
    title,
    'listen-addr': port !== 0 ? `${binds.length > 0 ? binds[0] : '*'}:${port}` : `unixsocket:${config.str('unixsocket')}`,
    'server-mode': '',
    'config-file': config.configFile ?? '-',
    port: String(port),
    'tls-port': '0',
    unixsocket: config.str('unixsocket'),
  };
  const out = tpl.replace(/\{\{|\{([^}]*)\}/g, (m: string, name: string | undefined) => (m === '{{' ? '{' : vars[name as string] ?? ''));
  return out.replace(/^ +| +$/g, '');
}

/**
 * set-proc-title: `ps` shows the expanded template, as Redis's setproctitle: whole, through
 * native/madvise (which also uses the environment strings' room, as Redis does); without the
 * addon, Node's process.title, which cuts a title longer than the original command line.
 */
export function setProcTitle(config: Config): void {
  if (!config.bool('set-proc-title')) return;
  try {
    // {title} is the name shardis was run as (bin/shardis passes its $0), as redis-server's argv[0].
    const title = expandProcTitle(config, process.env.SHARDIS_EXEC_NAME || 'shardis');
    const kept = sysAddon?.setProcTitle?.(title) ?? -1;
    if (kept < 0) process.title = title;
  } catch {
    /* not supported on this platform: Redis builds without USE_SETPROCTITLE do nothing either */
  }
}

/**
 * Directives accepted so that redis.conf files load, whose feature shardis does not have. Set to
 * anything but their default, each is a loud warning (at start-up, and on CONFIG SET), so that no
 * operator believes it took effect.
 */
const IGNORED: ReadonlyArray<readonly [string, string]> = [
  ['syslog-enabled', 'the log goes to the logfile or stdout only'],
  ['syslog-ident', 'the log goes to the logfile or stdout only'],
  ['syslog-facility', 'the log goes to the logfile or stdout only'],
  ['io-threads', 'every worker thread does its own I/O; the number of threads is `threads`'],
  ['io-threads-do-reads', 'every worker thread does its own I/O; the number of threads is `threads`'],
  ['crash-log-enabled', 'the crash report is always written'],
  ['socket-mark-id', 'sockets get no mark'],
  ['maxmemory-eviction-tenacity', 'eviction always frees enough memory in the command that needs it'],
  ['active-expire-effort', 'active expiry runs with a fixed effort'],
];

/** Warn about an ignored directive set away from its default (all of them when name is omitted). */
export function warnIgnored(config: Config, name?: string): void {
  for (const [n, why] of IGNORED) {
    if (name !== undefined && n !== name) continue;
    const d = lookupDirective(n);
    const v = config.get(n) ?? '';
    if (d === undefined || v === defaultValue(d)) continue;
    log('warning', `WARNING '${n} ${v}' is accepted for compatibility but has no effect in shardis: ${why}.`);
  }
}
