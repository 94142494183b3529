// Log lines in Redis's format: "pid:role dd Mon yyyy hh:mm:ss.mmm * message".
import { appendFileSync, writeSync } from 'fs';
import { threadId } from 'worker_threads';

const LEVELS: Record<string, number> = { debug: 0, verbose: 1, notice: 2, warning: 3 };
const MARK = ['.', '-', '*', '#'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let minLevel = 2;
let file = '';
let role = 'M';

export function configureLog(level: string, logfile: string, r = 'M'): void {
  minLevel = LEVELS[level] ?? 2;
  file = logfile;
  role = r;
}

export function log(level: 'debug' | 'verbose' | 'notice' | 'warning', msg: string): void {
  const l = LEVELS[level];
  if (l < minLevel) return;
  const d = new Date();
  const p2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
  const ms = String(d.getMilliseconds()).padStart(3, '0');
  const r = threadId === 0 ? role : 'T';
  const line = `${process.pid}:${r} ${p2(d.getDate())} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${ms} ${MARK[l]} ${msg}\n`;
  if (file === '') toStdout(line);
  else appendQuietly(line);
}

/** Text as it is, no prefix (Redis's LL_RAW: the bug report's banners). */
export function logRaw(text: string): void {
  if (file === '') toStdout(text);
  else appendQuietly(text);
}

/**
 * A worker thread's process.stdout hands each write to the main thread, which writes it when it
 * gets to it: a line could reach the log after the reply to the command that logged it (a test
 * reading the log at once misses it), or never, if the process exits first. Workers write fd 1
 * themselves, as Redis's serverLog writes before it returns (the main thread's stdout is already
 * synchronous for files and pipes). A pipe someone set non-blocking and full: the rest goes the
 * old way.
 */
function toStdout(text: string): void {
  if (threadId !== 0) {
    const b = Buffer.from(text);
    let off = 0;
    try {
      while (off < b.length) off += writeSync(1, b, off);
      return;
    } catch {
      process.stdout.write(b.subarray(off));
      return;
    }
  }
  process.stdout.write(text);
}

/** serverLog: a log file that cannot be opened (its directory removed, a full disk) drops the line, never the server. */
function appendQuietly(text: string): void {
  try {
    appendFileSync(file, text);
  } catch {
    // As Redis's fopen failing: nothing is written, nothing else happens.
  }
}
