// Redis 7.0's multi-part AOF manifest (aof.c): `appenddirname/<appendfilename>.manifest`, one line
// per file: `file <name> seq <n> type b|h|i`, base first, then history, then incr files. Written to
// a temp file, fsynced, renamed, and the directory fsynced (writeAofManifestFile). Synchronous fs
// calls: used by the main thread at start-up (nothing serves writes yet) and by the AOF writer
// thread, which owns the manifest while the server runs.
import * as fs from 'fs';
import * as path from 'path';

export interface AofInfo { name: string; seq: number; type: 'b' | 'h' | 'i' }

export interface AofManifest {
  base: AofInfo | null;
  history: AofInfo[];
  incr: AofInfo[];
  baseSeq: number;
  incrSeq: number;
}

export const MANIFEST_SUFFIX = '.manifest';
export const TEMP_PREFIX = 'temp-';

export class ManifestError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly text: string | null,
  ) {
    super(message);
  }
}

export function emptyManifest(): AofManifest {
  return { base: null, history: [], incr: [], baseSeq: 0, incrSeq: 0 };
}

export function cloneManifest(m: AofManifest): AofManifest {
  return {
    base: m.base === null ? null : { ...m.base },
    history: m.history.map((x) => ({ ...x })),
    incr: m.incr.map((x) => ({ ...x })),
    baseSeq: m.baseSeq,
    incrSeq: m.incrSeq,
  };
}

export function manifestName(filename: string): string {
  return filename + MANIFEST_SUFFIX;
}

/** A string as sdscatrepr quotes it when it needs quoting (aofInfoFormat). */
function formatName(n: string): string {
  if (!/[\s"\\]/.test(n) && !/[^\x21-\x7e]/.test(n)) return n;
  let s = '"';
  for (const ch of Buffer.from(n, 'latin1')) {
    if (ch === 0x5c) s += '\\\\';
    else if (ch === 0x22) s += '\\"';
    else if (ch === 10) s += '\\n';
    else if (ch === 13) s += '\\r';
    else if (ch === 9) s += '\\t';
    else if (ch === 7) s += '\\a';
    else if (ch === 8) s += '\\b';
    else if (ch >= 0x20 && ch < 0x7f) s += String.fromCharCode(ch);
    else s += '\\x' + ch.toString(16).padStart(2, '0');
  }
  return s + '"';
}

export function formatManifest(m: AofManifest): string {
  let s = '';
  const line = (a: AofInfo): string => `file ${formatName(a.name)} seq ${a.seq} type ${a.type}\n`;
  if (m.base !== null) s += line(m.base);
  for (const h of m.history) s += line(h);
  for (const i of m.incr) s += line(i);
  return s;
}

/** sdssplitargs, enough for manifest lines: words, "double quoted" with escapes, 'single'. */
function splitArgs(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i])) i++;
    if (i >= line.length) break;
    let cur = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return null;
        const c = line[i];
        if (c === '\\' && i + 1 < line.length) {
          const n = line[i + 1];
          if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
            cur += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
            i += 4;
            continue;
          }
          cur += n === 'n' ? '\n' : n === 'r' ? '\r' : n === 't' ? '\t' : n === 'b' ? '\b' : n === 'a' ? '\x07' : n;
          i += 2;
          continue;
        }
        if (c === '"') {
          i++;
          if (i < line.length && !/\s/.test(line[i])) return null;
          break;
        }
        cur += c;
        i++;
      }
    } else if (line[i] === "'") {
      i++;
      for (;;) {
        if (i >= line.length) return null;
        if (line[i] === '\\' && line[i + 1] === "'") {
          cur += "'";
          i += 2;
          continue;
        }
        if (line[i] === "'") {
          i++;
          if (i < line.length && !/\s/.test(line[i])) return null;
          break;
        }
        cur += line[i++];
      }
    } else {
      while (i < line.length && !/\s/.test(line[i])) cur += line[i++];
    }
    out.push(cur);
  }
  return out;
}

/** aofLoadManifestFromFile: strict; throws ManifestError with Redis's texts. */
export function parseManifest(text: string): AofManifest {
  const m = emptyManifest();
  let maxSeq = 0;
  const rawLines = text.split('\n');
  // A final line without '\n' is "too long" in Redis (fgets found no newline).
  const complete = text.endsWith('\n');
  if (text.length === 0) throw new ManifestError('Found an empty AOF manifest', 0, null);
  let n = 0;
  for (let li = 0; li < rawLines.length; li++) {
    const raw = rawLines[li];
    if (li === rawLines.length - 1 && raw === '') break;
    n++;
    if (raw.startsWith('#')) continue;
    if (li === rawLines.length - 1 && !complete) throw new ManifestError('The AOF manifest file contains too long line', n, raw.trim());
    if (raw.length > 1024) throw new ManifestError('The AOF manifest file contains too long line', n, raw.trim());
    const line = raw.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
    if (line.length === 0) throw new ManifestError('Invalid AOF manifest file format', n, line);
    const argv = splitArgs(line);
    if (argv === null || argv.length < 6 || argv.length % 2 !== 0) throw new ManifestError('Invalid AOF manifest file format', n, line);
    let name: string | null = null;
    let seq = 0;
    let type = '';
    for (let i = 0; i < argv.length; i += 2) {
      const k = argv[i].toLowerCase();
      if (k === 'file') {
        name = argv[i + 1];
        if (name.includes('/') || name.includes('\\')) throw new ManifestError("File can't be a path, just a filename", n, line);
      } else if (k === 'seq') {
        seq = parseInt(argv[i + 1], 10) || 0;
      } else if (k === 'type') {
        type = argv[i + 1][0] ?? '';
      }
    }
    if (name === null || name === '' || seq === 0 || type === '') throw new ManifestError('Invalid AOF manifest file format', n, line);
    if (type === 'b') {
      if (m.base !== null) throw new ManifestError('Found duplicate base file information', n, line);
      m.base = { name, seq, type: 'b' };
      m.baseSeq = seq;
    } else if (type === 'h') {
      m.history.push({ name, seq, type: 'h' });
    } else if (type === 'i') {
      if (seq <= maxSeq) throw new ManifestError('Found a non-monotonic sequence number', n, line);
      m.incr.push({ name, seq, type: 'i' });
      m.incrSeq = seq;
      maxSeq = seq;
    } else {
      throw new ManifestError('Unknown AOF file type', n, line);
    }
  }
  return m;
}

/** The manifest in `dir`, or null when the directory or the manifest file does not exist. */
export function readManifest(dir: string, filename: string): AofManifest | null {
  let text: string;
  try {
    if (!fs.statSync(dir).isDirectory()) return null;
  } catch {
    return null;
  }
  try {
    text = fs.readFileSync(path.join(dir, manifestName(filename)), 'latin1');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return parseManifest(text);
}

export function fsyncDir(dir: string): void {
  let fd = -1;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* a directory that cannot be fsynced: the rename stands */
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/** writeAofManifestFile: temp file, fsync, rename, fsync the directory. Throws on error. */
export function writeManifest(dir: string, filename: string, m: AofManifest): void {
  const tmp = path.join(dir, TEMP_PREFIX + manifestName(filename));
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    const b = Buffer.from(formatManifest(m), 'latin1');
    let off = 0;
    while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path.join(dir, manifestName(filename)));
  fsyncDir(dir);
}

export function newIncrName(m: AofManifest, filename: string): AofInfo {
  const a: AofInfo = { name: `${filename}.${++m.incrSeq}.incr.aof`, seq: m.incrSeq, type: 'i' };
  m.incr.push(a);
  return a;
}

/** getNewBaseFileNameAndMarkPreAsHistory. */
export function newBaseName(m: AofManifest, filename: string, rdbPreamble: boolean): AofInfo {
  if (m.base !== null) m.history.unshift({ ...m.base, type: 'h' });
  m.base = { name: `${filename}.${++m.baseSeq}.base.${rdbPreamble ? 'rdb' : 'aof'}`, seq: m.baseSeq, type: 'b' };
  return m.base;
}
