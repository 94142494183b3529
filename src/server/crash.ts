// Redis's bug report (debug.c): on a fatal signal, an uncaught exception in a worker or in the main
// thread, or DEBUG PANIC, the log gets the report between the START and END banners, then the
// process dies (by the same signal, as Redis re-raises it, or exit 1).
import { log, logRaw } from './log';
import { REDIS_VERSION } from './info';
import { SHARDIS_VERSION } from '../version';

let started = false;
let infoText: () => string = () => '';

/** What the report's INFO OUTPUT section shows (the main thread knows a few fields). */
export function setCrashInfo(fn: () => string): void {
  infoText = fn;
}

function start(): void {
  if (started) return;
  started = true;
  logRaw('\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===\n');
}

function body(stack: string): void {
  logRaw(`\n------ STACK TRACE ------\n${stack}\n`);
  let info = '';
  try {
    info = infoText();
  } catch (e) {
    info = `(INFO not available: ${(e as Error).message})`;
  }
  logRaw(`\n------ INFO OUTPUT ------\n${info}\n`);
}

function end(): void {
  logRaw(
    '\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n\n' +
      '       Please report the crash by opening an issue on the shardis repository,\n' +
      '       with this report and the Redis command that was running.\n\n',
  );
}

const SIGNALS: Record<string, number> = { SIGSEGV: 11, SIGBUS: 7, SIGFPE: 8, SIGILL: 4, SIGABRT: 6 };

/** sigsegvHandler(): the report, then the default action of the same signal (core, exit status). */
export function installCrashHandlers(): void {
  for (const [name, num] of Object.entries(SIGNALS)) {
    const sig = name as NodeJS.Signals;
    const handler = (): void => {
      start();
      log('warning', `shardis ${SHARDIS_VERSION} (Redis ${REDIS_VERSION}) crashed by signal: ${num}, si_code: 0`);
      body(new Error(`signal ${name}`).stack ?? '');
      end();
      process.removeListener(sig, handler);
      process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
  process.on('uncaughtException', (e) => panic(`${e.message}`, e.stack ?? String(e)));
}

/** _serverPanic(): an internal error (a worker's or this thread's uncaught exception, DEBUG PANIC). */
export function panic(msg: string, stack: string): never {
  start();
  log('warning', '------------------------------------------------');
  log('warning', '!!! Software Failure. Press left mouse button to continue');
  log('warning', `Guru Meditation: ${msg} #${firstFrame(stack)}`);
  body(stack);
  end();
  process.exit(1);
}

function firstFrame(stack: string): string {
  const m = /\n\s+at .*?\(?([^()\s]+:\d+):\d+\)?/.exec(stack);
  return m !== null ? m[1] : '?:0';
}
