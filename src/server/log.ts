// Log lines in Redis's format: "pid:role dd Mon yyyy hh:mm:ss.mmm * message".
import { appendFileSync } from 'fs';
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
  if (file === '') process.stdout.write(line);
  else appendQuietly(line);
}

/** Text as it is, no prefix (Redis's LL_RAW: the bug report's banners). */
export function logRaw(text: string): void {
  if (file === '') process.stdout.write(text);
  else appendQuietly(text);
}

/** serverLog: a log file that cannot be opened (its directory removed, a full disk) drops the line, never the server. */
function appendQuietly(text: string): void {
  try {
    appendFileSync(file, text);
  } catch {
    // As Redis's fopen failing: nothing is written, nothing else happens.
  }
}
