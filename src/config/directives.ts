// The table of configuration directives, modelled on Redis 7.0.15's
// static_configs[] (config.c), with the same names, aliases, bounds, flags and
// defaults, plus the per-type parsing/formatting rules and their exact error
// texts. Every value is kept in its canonical CONFIG GET string form; the
// functions here turn directive arguments into that form (or an error).
//
// Left out on purpose: the tls-* directives (Redis built without TLS has none).
// Added: `threads` (shardis), `set-max-listpack-entries/value` (Redis 7.2
// names, accepted so 7.2-style config files load); both are HIDDEN like Redis's
// debug configs, so `CONFIG GET *` lists exactly 7.0's non-TLS names.

import { statSync, accessSync, realpathSync, constants as fsConstants } from 'fs';
import { resolve as resolvePath } from 'path';

/** Directive flags (subset of Redis's config flags). */
export const IMMUTABLE = 1; // CONFIG SET refuses: "can't set immutable config"
export const PROTECTED = 2; // CONFIG SET needs enable-protected-configs
export const DENY_LOADING = 4; // CONFIG SET refused with -LOADING while loading
export const SENSITIVE = 8; // value must be redacted from slowlog/monitor
export const HIDDEN = 16; // CONFIG GET shows it only for an exact name
export const MULTI_ARG = 32; // takes several arguments (save, bind, ...)

/** Numeric formatting flags. */
export const MEMORY = 1; // accepts 1gb/100mb/1k..., reported unsigned, in bytes
export const PERCENT = 2; // accepts "10%" (stored negative, like Redis)
export const OCTAL = 4; // parsed and reported in base 8

const INT_MIN = -2147483648n;
const INT_MAX = 2147483647n;
const UINT_MAX = 4294967295n;
const LONG_MAX = 9223372036854775807n; // LP64: long == long long
const LLONG_MAX = LONG_MAX;
const ULLONG_MAX = 18446744073709551615n;
const SSIZE_MAX = LONG_MAX;

/** C integer type behind a numeric config: decides signed/unsigned checks. */
export type NumericKind =
  | 'int' | 'uint' | 'long' | 'ulong' | 'll' | 'ull' | 'size_t' | 'ssize_t' | 'time_t' | 'off_t';

export type Validator<T> = (v: T) => string | null;

interface Common {
  readonly name: string;
  readonly alias?: string;
  readonly flags: number;
}
export interface BoolDirective extends Common {
  readonly type: 'bool';
  readonly def: boolean;
  readonly validate?: Validator<boolean>;
}
export interface StringDirective extends Common {
  readonly type: 'string';
  readonly def: string;
  readonly validate?: Validator<string>;
}
export interface EnumDirective extends Common {
  readonly type: 'enum';
  /** name → value; several names may share a value (first one is reported). */
  readonly values: ReadonlyArray<readonly [string, number]>;
  readonly def: number;
  readonly validate?: Validator<number>;
}
export interface NumericDirective extends Common {
  readonly type: 'numeric';
  readonly kind: NumericKind;
  readonly min: bigint;
  readonly max: bigint;
  readonly def: bigint;
  readonly fmt: number; // MEMORY | PERCENT | OCTAL, 0 for a plain integer
}
/** State a special directive's setter may need besides its arguments. */
export interface SetContext {
  /** Current canonical value. */
  readonly current: string;
  /** `save` only: append to the current rules instead of replacing them. */
  readonly append: boolean;
  /** Directory relative paths resolve against (the `dir` value). */
  readonly cwd: string;
}
export interface SpecialDirective extends Common {
  readonly type: 'special';
  readonly def: () => string;
  readonly set: (argv: string[], ctx: SetContext) => SetResult;
}
export type Directive = BoolDirective | StringDirective | EnumDirective | NumericDirective | SpecialDirective;
export type SetResult = { ok: string } | { err: string };

// ---------------------------------------------------------------------------
// C library behaviour needed for exact parsing.

/** C-locale isspace(). */
export function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** C strtoll(): returns the clamped value and the index where parsing stopped
 *  (0 when no digits were found, as endptr = nptr). */
export function strtoll(s: string, base: 8 | 10 = 10): { value: bigint; end: number; erange: boolean } {
  let i = 0;
  while (i < s.length && isSpace(s[i])) i++;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') {
    neg = s[i] === '-';
    i++;
  }
  const digitsStart = i;
  let v = 0n;
  const b = BigInt(base);
  while (i < s.length) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d >= base) break;
    v = v * b + BigInt(d);
    i++;
  }
  if (i === digitsStart) return { value: 0n, end: 0, erange: false };
  if (neg) v = -v;
  if (v > LLONG_MAX) return { value: LLONG_MAX, end: i, erange: true };
  if (v < -LLONG_MAX - 1n) return { value: -LLONG_MAX - 1n, end: i, erange: true };
  return { value: v, end: i, erange: false };
}

/** Redis string2ll(): strict decimal, no spaces/'+'/leading zeros, fits int64. */
export function string2ll(s: string): bigint | null {
  if (s.length === 0 || s.length >= 21) return null;
  if (s === '0') return 0n;
  let i = 0;
  let neg = false;
  if (s[0] === '-') {
    neg = true;
    i = 1;
    if (s.length === 1) return null;
  }
  if (!(s[i] >= '1' && s[i] <= '9')) return null;
  for (let j = i; j < s.length; j++) if (!isDigit(s[j])) return null;
  const v = BigInt(s.slice(i));
  if (neg) return v > LLONG_MAX + 1n ? null : -v;
  return v > LLONG_MAX ? null : v;
}

/** Redis memtoull(): "<digits>[b|k|kb|m|mb|g|gb]" (units case-insensitive).
 *  Like C, digit overflow saturates and the multiplication wraps mod 2^64. */
export function memtoull(p: string): bigint | null {
  if (p[0] === '-') return null;
  let u = 0;
  while (u < p.length && isDigit(p[u])) u++;
  const unit = p.slice(u).toLowerCase();
  const mul = MEM_UNITS[unit];
  if (mul === undefined) return null;
  if (u >= 128) return null;
  const digits = p.slice(0, u);
  let val = digits === '' ? 0n : BigInt(digits);
  if (val > ULLONG_MAX) val = ULLONG_MAX; // strtoull ERANGE is not treated as an error
  return BigInt.asUintN(64, val * mul);
}
const MEM_UNITS: Record<string, bigint> = {
  '': 1n, b: 1n, k: 1000n, kb: 1024n, m: 1000000n, mb: 1048576n, g: 1000000000n, gb: 1073741824n,
};

/** Redis string2d() over strtod(): full-string decimal/hex/inf, no NaN, no
 *  leading space, no overflow/underflow. */
function string2d(s: string): number | null {
  if (s.length === 0 || isSpace(s[0])) return null;
  const m = /^([+-]?)(?:(inf|infinity)|0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?|(\d*\.?\d*(?:[eE][+-]?\d+)?))$/i.exec(s);
  if (!m) return null;
  const sign = m[1] === '-' ? -1 : 1;
  if (m[2] !== undefined) return sign * Infinity;
  let v: number;
  let nonZeroDigits: boolean;
  if (m[6] === undefined) {
    const int = m[3] ?? '';
    const frac = m[4] ?? '';
    if (int === '' && frac === '') return null;
    v = parseInt(int || '0', 16);
    for (let i = 0; i < frac.length; i++) v += parseInt(frac[i], 16) / 16 ** (i + 1);
    v *= 2 ** Number(m[5] ?? '0');
    nonZeroDigits = /[1-9a-fA-F]/.test(int + frac);
  } else {
    const body = m[6];
    if (!/\d/.test(body.split(/[eE]/)[0])) return null;
    v = Number(body);
    nonZeroDigits = /[1-9]/.test(body.split(/[eE]/)[0]);
  }
  if (!Number.isFinite(v) || (v === 0 && nonZeroDigits)) return null; // ERANGE
  return sign * v;
}

/** printf("%f") then trimDoubleString(). */
function formatPercentile(v: number): string {
  let s = Object.is(v, -0) ? '-0.000000' : v.toFixed(6);
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

function eqi(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  ENOTDIR: 'Not a directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  EROFS: 'Read-only file system',
  EMFILE: 'Too many open files',
  ENOSPC: 'No space left on device',
  EEXIST: 'File exists',
};

/** C strerror() text for a Node fs error. */
export function strerror(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code !== undefined && STRERROR[code] !== undefined) return STRERROR[code];
  return e instanceof Error ? e.message : String(e);
}

// ---------------------------------------------------------------------------
// Per-type setters. Each returns the new canonical string or an error text.

export function formatEnum(d: EnumDirective, value: number): string {
  const bitflags = (d.flags & MULTI_ARG) !== 0;
  const names: string[] = [];
  let unmatched = value;
  for (const [name, v] of d.values) {
    if (value === v) return name;
    if (bitflags && v !== 0 && v === (unmatched & v)) {
      names.push(name);
      unmatched &= ~v;
    }
  }
  return names.length === 0 || unmatched !== 0 ? 'unknown' : names.join(' ');
}

export function parseEnum(d: EnumDirective, argv: string[]): number | null {
  const bitflags = (d.flags & MULTI_ARG) !== 0;
  if (argv.length === 0 || (!bitflags && argv.length !== 1)) return null;
  let values = 0;
  for (const a of argv) {
    let matched = false;
    for (const [name, v] of d.values) {
      if (eqi(a, name)) {
        values |= v;
        matched = true;
      }
    }
    if (!matched) return null;
  }
  return values;
}

function isUnsignedKind(k: NumericKind): boolean {
  // Redis checks only these three as unsigned (not 'ulong').
  return k === 'ull' || k === 'uint' || k === 'size_t';
}

/** Stored value as Redis reads it back (GET_NUMERIC_TYPE into a long long). */
function storedAsLL(d: NumericDirective, ll: bigint): bigint {
  switch (d.kind) {
    case 'int': return BigInt.asIntN(32, ll);
    case 'uint': return BigInt.asUintN(32, ll);
    default: return BigInt.asIntN(64, ll);
  }
}

export function formatNumeric(d: NumericDirective, value: bigint): string {
  if (d.fmt & PERCENT && value < 0n) return `${-value}%`;
  if (d.fmt & MEMORY) return BigInt.asUintN(64, value).toString();
  if (d.fmt & OCTAL) return BigInt.asUintN(64, value).toString(8);
  return value.toString();
}

function parseNumericArg(d: NumericDirective, value: string): SetResult | bigint {
  if (d.fmt & MEMORY) {
    const m = memtoull(value);
    if (m !== null) return BigInt.asIntN(64, m);
  }
  if (d.fmt & PERCENT && value.length > 1 && value.endsWith('%')) {
    const n = string2ll(value.slice(0, -1));
    if (n !== null && n >= 0n) return -n;
  }
  if (d.fmt & OCTAL) {
    // endptr must reach the end (so "" parses as 0, as in C), no overflow.
    const r = strtoll(value, 8);
    if (!r.erange && r.end === value.length) return r.value;
  }
  if (d.fmt === 0) {
    const n = string2ll(value);
    if (n !== null) return n;
  }
  if (d.fmt & MEMORY && d.fmt & PERCENT) return { err: 'argument must be a memory or percent value' };
  if (d.fmt & MEMORY) return { err: 'argument must be a memory value' };
  if (d.fmt & OCTAL) return { err: "argument couldn't be parsed as an octal number" };
  return { err: "argument couldn't be parsed into an integer" };
}

function numericBoundaryCheck(d: NumericDirective, ll: bigint): string | null {
  if (isUnsignedKind(d.kind)) {
    const ull = BigInt.asUintN(64, ll);
    const lo = BigInt.asUintN(64, d.min);
    const hi = BigInt.asUintN(64, d.max);
    if (ull > hi || ull < lo) {
      return d.fmt & OCTAL
        ? `argument must be between ${lo.toString(8)} and ${hi.toString(8)} inclusive`
        : `argument must be between ${lo} and ${hi} inclusive`;
    }
  } else if (d.fmt & PERCENT && ll < 0n) {
    if (ll < d.min) return `percentage argument must be less or equal to ${-d.min}`;
  } else if (ll > d.max || ll < d.min) {
    return `argument must be between ${d.min} and ${d.max} inclusive`;
  }
  return null;
}

/** Set a directive from its (already split) arguments. */
export function setDirective(d: Directive, argv: string[], ctx: SetContext): SetResult {
  switch (d.type) {
    case 'bool': {
      const a = argv[0] ?? '';
      const yn = eqi(a, 'yes') ? true : eqi(a, 'no') ? false : null;
      if (yn === null) return { err: "argument must be 'yes' or 'no'" };
      const e = d.validate?.(yn);
      if (e) return { err: e };
      return { ok: yn ? 'yes' : 'no' };
    }
    case 'string': {
      const v = argv[0] ?? '';
      const e = d.validate?.(v);
      if (e) return { err: e };
      return { ok: v };
    }
    case 'enum': {
      const v = parseEnum(d, argv);
      if (v === null) {
        const msg = 'argument(s) must be one of the following: ' + d.values.map((x) => x[0]).join(', ');
        return { err: msg.slice(0, 255) }; // copied into a 256-byte buffer in Redis
      }
      const e = d.validate?.(v);
      if (e) return { err: e };
      return { ok: formatEnum(d, v) };
    }
    case 'numeric': {
      const r = parseNumericArg(d, argv[0] ?? '');
      if (typeof r !== 'bigint') return r;
      const e = numericBoundaryCheck(d, r);
      if (e) return { err: e };
      return { ok: formatNumeric(d, storedAsLL(d, r)) };
    }
    case 'special':
      return d.set(argv, ctx);
  }
}

/** Canonical default value of a directive. */
export function defaultValue(d: Directive): string {
  switch (d.type) {
    case 'bool': return d.def ? 'yes' : 'no';
    case 'string': return d.def;
    case 'enum': return formatEnum(d, d.def);
    case 'numeric': return formatNumeric(d, d.def);
    case 'special': return d.def();
  }
}

// ---------------------------------------------------------------------------
// Special directives.

function setSave(argv: string[], ctx: SetContext): SetResult {
  // A single "" means "no save rules", even when appending (config file).
  if (argv.length === 1 && argv[0] === '') return { ok: '' };
  if (argv.length & 1) return { err: 'Invalid save parameters' };
  const parts: string[] = [];
  for (let j = 0; j < argv.length; j++) {
    const r = strtoll(argv[j]);
    // strtoll's endptr must be at the end ("" parses as 0, like C).
    if (r.end !== argv[j].length || ((j & 1) === 0 && r.value < 1n) || ((j & 1) === 1 && r.value < 0n)) {
      return { err: 'Invalid save parameters' };
    }
    // seconds is a time_t, changes an int (truncated like the C assignment).
    parts.push(((j & 1) === 0 ? r.value : BigInt.asIntN(32, r.value)).toString());
  }
  if (ctx.append && ctx.current !== '') return { ok: argv.length ? `${ctx.current} ${parts.join(' ')}` : ctx.current };
  return { ok: parts.join(' ') };
}

export interface SaveRule { seconds: number; changes: number }
export function parseSaveRules(v: string): SaveRule[] {
  const p = v.split(' ').filter((x) => x !== '');
  const out: SaveRule[] = [];
  for (let i = 0; i + 1 < p.length; i += 2) out.push({ seconds: Number(p[i]), changes: Number(p[i + 1]) });
  return out;
}

export type ObufClass = 'normal' | 'replica' | 'pubsub';
export interface ObufLimit { hard: number; soft: number; softSeconds: number }
const OBUF_CLASSES: ReadonlyArray<ObufClass> = ['normal', 'replica', 'pubsub'];
const OBUF_NAMES: Record<ObufClass, string> = { normal: 'normal', replica: 'slave', pubsub: 'pubsub' };

function obufClassByName(n: string): ObufClass | 'master' | null {
  const l = n.toLowerCase();
  if (l === 'normal') return 'normal';
  if (l === 'slave' || l === 'replica') return 'replica';
  if (l === 'pubsub') return 'pubsub';
  if (l === 'master') return 'master';
  return null;
}

/** Parse the canonical client-output-buffer-limit string (bigint precision). */
function parseObufCanonical(v: string): Record<ObufClass, [bigint, bigint, bigint]> {
  const p = v.split(' ');
  const out: Record<ObufClass, [bigint, bigint, bigint]> = { normal: [0n, 0n, 0n], replica: [0n, 0n, 0n], pubsub: [0n, 0n, 0n] };
  for (let i = 0; i + 3 < p.length; i += 4) {
    const c = obufClassByName(p[i]);
    if (c && c !== 'master') out[c] = [BigInt(p[i + 1]), BigInt(p[i + 2]), BigInt(p[i + 3])];
  }
  return out;
}

function formatObuf(o: Record<ObufClass, [bigint, bigint, bigint]>): string {
  return OBUF_CLASSES.map((c) => `${OBUF_NAMES[c]} ${o[c][0]} ${o[c][1]} ${o[c][2]}`).join(' ');
}

export function parseObufLimits(v: string): Record<ObufClass, ObufLimit> {
  const o = parseObufCanonical(v);
  const conv = (x: [bigint, bigint, bigint]): ObufLimit => ({ hard: Number(x[0]), soft: Number(x[1]), softSeconds: Number(x[2]) });
  return { normal: conv(o.normal), replica: conv(o.replica), pubsub: conv(o.pubsub) };
}

function setObufLimit(argv: string[], ctx: SetContext): SetResult {
  if (argv.length % 4) return { err: 'Wrong number of arguments in buffer limit configuration.' };
  const cur = parseObufCanonical(ctx.current);
  // Validate everything first: all classes are accepted or none.
  for (let j = 0; j < argv.length; j += 4) {
    const c = obufClassByName(argv[j]);
    if (c === null || c === 'master') return { err: 'Invalid client class specified in buffer limit configuration.' };
    const hard = memtoull(argv[j + 1]);
    const soft = memtoull(argv[j + 2]);
    const s = strtoll(argv[j + 3]);
    const secs = BigInt.asIntN(32, s.value); // assigned to an int in Redis
    if (hard === null || soft === null || secs < 0n || s.end !== argv[j + 3].length) {
      return { err: 'Error in hard, soft or soft_seconds setting in buffer limit configuration.' };
    }
    cur[c] = [hard, soft, secs];
  }
  return { ok: formatObuf(cur) };
}

function setOomScoreAdjValues(argv: string[]): SetResult {
  if (argv.length !== 3) return { err: 'wrong number of arguments' };
  const vals: bigint[] = [];
  for (const a of argv) {
    const r = strtoll(a);
    if (r.end !== a.length || r.value < -2000n || r.value > 2000n) {
      return { err: 'Invalid oom-score-adj-values, elements must be between -2000 and 2000.' };
    }
    vals.push(r.value);
  }
  return { ok: vals.join(' ') };
}

/** notify-keyspace-events class characters → flags (notify.c). */
export const NOTIFY_KEYSPACE = 1 << 0;
export const NOTIFY_KEYEVENT = 1 << 1;
export const NOTIFY_GENERIC = 1 << 2;
export const NOTIFY_STRING = 1 << 3;
export const NOTIFY_LIST = 1 << 4;
export const NOTIFY_SET = 1 << 5;
export const NOTIFY_HASH = 1 << 6;
export const NOTIFY_ZSET = 1 << 7;
export const NOTIFY_EXPIRED = 1 << 8;
export const NOTIFY_EVICTED = 1 << 9;
export const NOTIFY_STREAM = 1 << 10;
export const NOTIFY_KEY_MISS = 1 << 11;
export const NOTIFY_LOADED = 1 << 12;
export const NOTIFY_MODULE = 1 << 13;
export const NOTIFY_NEW = 1 << 14;
export const NOTIFY_ALL =
  NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET |
  NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE;

const NOTIFY_CHARS: Record<string, number> = {
  A: NOTIFY_ALL, g: NOTIFY_GENERIC, $: NOTIFY_STRING, l: NOTIFY_LIST, s: NOTIFY_SET, h: NOTIFY_HASH,
  z: NOTIFY_ZSET, x: NOTIFY_EXPIRED, e: NOTIFY_EVICTED, K: NOTIFY_KEYSPACE, E: NOTIFY_KEYEVENT,
  t: NOTIFY_STREAM, m: NOTIFY_KEY_MISS, d: NOTIFY_MODULE, n: NOTIFY_NEW,
};

export function keyspaceEventsStringToFlags(classes: string): number {
  let flags = 0;
  for (const c of classes) {
    const f = NOTIFY_CHARS[c];
    if (f === undefined) return -1;
    flags |= f;
  }
  return flags;
}

export function keyspaceEventsFlagsToString(flags: number): string {
  let r = '';
  if ((flags & NOTIFY_ALL) === NOTIFY_ALL) {
    r += 'A';
  } else {
    const order: Array<[number, string]> = [
      [NOTIFY_GENERIC, 'g'], [NOTIFY_STRING, '$'], [NOTIFY_LIST, 'l'], [NOTIFY_SET, 's'],
      [NOTIFY_HASH, 'h'], [NOTIFY_ZSET, 'z'], [NOTIFY_EXPIRED, 'x'], [NOTIFY_EVICTED, 'e'],
      [NOTIFY_STREAM, 't'], [NOTIFY_MODULE, 'd'], [NOTIFY_NEW, 'n'],
    ];
    for (const [f, c] of order) if (flags & f) r += c;
  }
  if (flags & NOTIFY_KEYSPACE) r += 'K';
  if (flags & NOTIFY_KEYEVENT) r += 'E';
  if (flags & NOTIFY_KEY_MISS) r += 'm';
  return r;
}

function setNotifyKeyspaceEvents(argv: string[]): SetResult {
  if (argv.length !== 1) return { err: 'wrong number of arguments' };
  const f = keyspaceEventsStringToFlags(argv[0]);
  if (f === -1) return { err: "Invalid event class character. Use 'Ag$lshzxeKEtmdn'." };
  return { ok: keyspaceEventsFlagsToString(f) };
}

const CONFIG_BINDADDR_MAX = 16;
function setBind(argv: string[]): SetResult {
  if (argv.length > CONFIG_BINDADDR_MAX) return { err: 'Too many bind addresses specified.' };
  if (argv.length === 1 && argv[0] === '') argv = [];
  return { ok: argv.join(' ') };
}

function setReplicaOf(argv: string[]): SetResult {
  if (argv.length !== 2) return { err: 'wrong number of arguments' };
  if (eqi(argv[0], 'no') && eqi(argv[1], 'one')) return { ok: '' };
  const r = strtoll(argv[1]); // strtol into an int
  const port = BigInt.asIntN(32, r.value);
  if (port < 0n || port > 65535n || r.end !== argv[1].length) return { err: 'Invalid master port' };
  return { ok: `${argv[0]} ${port}` };
}

function setLatencyPercentiles(argv: string[]): SetResult {
  if (argv.length === 1 && argv[0] === '') return { ok: '' };
  const out: string[] = [];
  for (const a of argv) {
    const v = string2d(a);
    if (v === null) return { err: 'Invalid latency-tracking-info-percentiles parameters' };
    if (v > 100 || v < 0) return { err: 'latency-tracking-info-percentiles parameters should sit between [0.0,100.0]' };
    out.push(formatPercentile(v));
  }
  return { ok: out.join(' ') };
}

function setDir(argv: string[], ctx: SetContext): SetResult {
  if (argv.length !== 1) return { err: 'wrong number of arguments' };
  // Redis chdir()s right away and reports getcwd(). We only resolve and check
  // it (worker threads can't chdir); the server chdirs on start-up / onChange.
  if (argv[0] === '') return { err: STRERROR.ENOENT };
  const p = resolvePath(ctx.cwd, argv[0]);
  try {
    if (!statSync(p).isDirectory()) return { err: STRERROR.ENOTDIR };
    accessSync(p, fsConstants.X_OK);
    return { ok: realpathSync(p) };
  } catch (e) {
    return { err: strerror(e) };
  }
}

function currentDir(): string {
  try {
    return realpathSync(process.cwd());
  } catch {
    return process.cwd();
  }
}

// ---------------------------------------------------------------------------
// Validators.

function pathIsBaseName(p: string): boolean {
  return !p.includes('/') && !p.includes('\\');
}

const PROC_TITLE_VARS = new Set(['title', 'listen-addr', 'server-mode', 'config-file', 'port', 'tls-port', 'unixsocket']);
/** validateProcTitleTemplate(): known {variables}, non-empty once expanded
 *  with an empty title (listen-addr, config-file and ports are never empty). */
function validProcTitle(t: string): boolean {
  let res = '';
  let p = 0;
  while (p < t.length) {
    const sv = t.indexOf('{', p);
    if (sv < 0) {
      res += t.slice(p);
      break;
    }
    res += t.slice(p, sv);
    if (sv + 1 >= t.length) return false;
    if (t[sv + 1] === '{') {
      res += '{';
      p = sv + 2;
      continue;
    }
    const ev = t.indexOf('}', sv + 1);
    if (ev < 0) return false;
    const name = t.slice(sv + 1, ev);
    if (!PROC_TITLE_VARS.has(name)) return false;
    if (name === 'listen-addr' || name === 'config-file' || name === 'port' || name === 'tls-port') res += 'x';
    p = ev + 1;
  }
  return res.replace(/^ +| +$/g, '').length > 0;
}

// ---------------------------------------------------------------------------
// The table.

function bool(name: string, alias: string | undefined, flags: number, def: boolean, validate?: Validator<boolean>): BoolDirective {
  return { type: 'bool', name, alias, flags, def, validate };
}
function str(name: string, alias: string | undefined, flags: number, def: string, validate?: Validator<string>): StringDirective {
  return { type: 'string', name, alias, flags, def, validate };
}
function enm(name: string, alias: string | undefined, flags: number, values: ReadonlyArray<readonly [string, number]>, def: number, validate?: Validator<number>): EnumDirective {
  return { type: 'enum', name, alias, flags, values, def, validate };
}
function num(name: string, alias: string | undefined, flags: number, kind: NumericKind, min: bigint, max: bigint, def: bigint, fmt = 0): NumericDirective {
  return { type: 'numeric', name, alias, flags, kind, min, max, def, fmt };
}
function special(name: string, alias: string | undefined, flags: number, def: () => string, set: (argv: string[], ctx: SetContext) => SetResult): SpecialDirective {
  return { type: 'special', name, alias, flags, def, set };
}

const MAXMEMORY_POLICIES: ReadonlyArray<readonly [string, number]> = [
  ['volatile-lru', 1], ['volatile-lfu', 258], ['volatile-random', 768], ['volatile-ttl', 512],
  ['allkeys-lru', 1029], ['allkeys-lfu', 1286], ['allkeys-random', 1540], ['noeviction', 1792],
];
const SYSLOG_FACILITIES: ReadonlyArray<readonly [string, number]> = [
  ['user', 8], ['local0', 128], ['local1', 136], ['local2', 144], ['local3', 152],
  ['local4', 160], ['local5', 168], ['local6', 176], ['local7', 184],
];
const LOGLEVELS: ReadonlyArray<readonly [string, number]> = [['debug', 0], ['verbose', 1], ['notice', 2], ['warning', 3]];
const SUPERVISED: ReadonlyArray<readonly [string, number]> = [['upstart', 3], ['systemd', 2], ['auto', 1], ['no', 0]];
const AOF_FSYNC: ReadonlyArray<readonly [string, number]> = [['everysec', 2], ['always', 1], ['no', 0]];
const SHUTDOWN_ON_SIG: ReadonlyArray<readonly [string, number]> = [['default', 0], ['save', 1], ['nosave', 2], ['now', 4], ['force', 8]];
const REPL_DISKLESS_LOAD: ReadonlyArray<readonly [string, number]> = [['disabled', 0], ['on-empty-db', 1], ['swapdb', 2]];
const OOM_SCORE_ADJ: ReadonlyArray<readonly [string, number]> = [['no', 0], ['yes', 1], ['relative', 1], ['absolute', 2]];
const ACL_PUBSUB_DEFAULT: ReadonlyArray<readonly [string, number]> = [['allchannels', 8], ['resetchannels', 0]];
const SANITIZE_DUMP: ReadonlyArray<readonly [string, number]> = [['no', 0], ['yes', 1], ['clients', 2]];
const PROTECTED_ACTION: ReadonlyArray<readonly [string, number]> = [['no', 0], ['yes', 1], ['local', 2]];
const CLUSTER_ENDPOINT: ReadonlyArray<readonly [string, number]> = [['ip', 0], ['hostname', 1], ['unknown-endpoint', 2]];
const PROPAGATION_ERR: ReadonlyArray<readonly [string, number]> = [['ignore', 0], ['panic', 1], ['panic-on-replicas', 2]];

const M = 0; // MODIFIABLE_CONFIG
const I = IMMUTABLE;

const noDefrag: Validator<boolean> = (v) =>
  v
    ? 'Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution'
    : null;
const noCluster: Validator<boolean> = (v) => (v ? 'cluster mode is not supported by shardis' : null);
const dbFilename: Validator<string> = (v) => (pathIsBaseName(v) ? null : "dbfilename can't be a path, just a filename");
const aofFilename: Validator<string> = (v) =>
  v === '' ? "appendfilename can't be empty" : pathIsBaseName(v) ? null : "appendfilename can't be a path, just a filename";
const aofDirname: Validator<string> = (v) =>
  v === '' ? "appenddirname can't be empty" : pathIsBaseName(v) ? null : "appenddirname can't be a path, just a dirname";
const shutdownFlags: Validator<number> = (v) =>
  v & 2 && v & 1 ? "shutdown options SAVE and NOSAVE can't be used simultaneously" : null;
const announcedHostname: Validator<string> = (v) => {
  if (Buffer.byteLength(v) >= 256) return 'Hostnames must be less than 256 characters';
  if (!/^[A-Za-z0-9.-]*$/.test(v)) return 'Hostnames may only contain alphanumeric characters, hyphens or dots';
  return null;
};
const procTitle: Validator<string> = (v) => (validProcTitle(v) ? null : 'template format is invalid or contains unknown variables');

/** All directives, in Redis's static_configs[] order. */
export const DIRECTIVES: ReadonlyArray<Directive> = [
  // Bool configs
  bool('rdbchecksum', undefined, I, true),
  bool('daemonize', undefined, I, false),
  bool('io-threads-do-reads', undefined, I, false),
  bool('always-show-logo', undefined, I, false),
  bool('protected-mode', undefined, M, true),
  bool('rdbcompression', undefined, M, true),
  bool('rdb-del-sync-files', undefined, M, false),
  bool('activerehashing', undefined, M, true),
  bool('stop-writes-on-bgsave-error', undefined, M, true),
  bool('set-proc-title', undefined, I, true),
  bool('dynamic-hz', undefined, M, true),
  bool('lazyfree-lazy-eviction', undefined, M, false),
  bool('lazyfree-lazy-expire', undefined, M, false),
  bool('lazyfree-lazy-server-del', undefined, M, false),
  bool('lazyfree-lazy-user-del', undefined, M, false),
  bool('lazyfree-lazy-user-flush', undefined, M, false),
  bool('repl-disable-tcp-nodelay', undefined, M, false),
  bool('repl-diskless-sync', undefined, M, true),
  bool('aof-rewrite-incremental-fsync', undefined, M, true),
  bool('no-appendfsync-on-rewrite', undefined, M, false),
  bool('cluster-require-full-coverage', undefined, M, true),
  bool('rdb-save-incremental-fsync', undefined, M, true),
  bool('aof-load-truncated', undefined, M, true),
  bool('aof-use-rdb-preamble', undefined, M, true),
  bool('aof-timestamp-enabled', undefined, M, false),
  bool('cluster-replica-no-failover', 'cluster-slave-no-failover', M, false),
  bool('replica-lazy-flush', 'slave-lazy-flush', M, false),
  bool('replica-serve-stale-data', 'slave-serve-stale-data', M, true),
  bool('replica-read-only', 'slave-read-only', M, true),
  bool('replica-ignore-maxmemory', 'slave-ignore-maxmemory', M, true),
  bool('jemalloc-bg-thread', undefined, M, true),
  bool('activedefrag', undefined, M, false, noDefrag),
  bool('syslog-enabled', undefined, I, false),
  bool('cluster-enabled', undefined, I, false, noCluster),
  bool('appendonly', undefined, M | DENY_LOADING, false),
  bool('cluster-allow-reads-when-down', undefined, M, false),
  bool('cluster-allow-pubsubshard-when-down', undefined, M, true),
  bool('crash-log-enabled', undefined, M, true),
  bool('crash-memcheck-enabled', undefined, M, true),
  bool('use-exit-on-panic', undefined, M | HIDDEN, false),
  bool('disable-thp', undefined, I, true),
  bool('cluster-allow-replica-migration', undefined, M, true),
  bool('replica-announced', undefined, M, true),
  bool('latency-tracking', undefined, M, true),
  bool('aof-disable-auto-gc', undefined, M, false),
  bool('replica-ignore-disk-write-errors', undefined, M, false),

  // String configs
  str('aclfile', undefined, I, ''),
  str('unixsocket', undefined, I, ''),
  str('pidfile', undefined, I, ''),
  str('replica-announce-ip', 'slave-announce-ip', M, ''),
  str('masteruser', undefined, M | SENSITIVE, ''),
  str('cluster-announce-ip', undefined, M, ''),
  str('cluster-config-file', undefined, I, 'nodes.conf'),
  str('cluster-announce-hostname', undefined, M, '', announcedHostname),
  str('syslog-ident', undefined, I, 'redis'),
  str('dbfilename', undefined, M | PROTECTED, 'dump.rdb', dbFilename),
  str('appendfilename', undefined, I, 'appendonly.aof', aofFilename),
  str('appenddirname', undefined, I, 'appendonlydir', aofDirname),
  str('server_cpulist', undefined, I, ''),
  str('bio_cpulist', undefined, I, ''),
  str('aof_rewrite_cpulist', undefined, I, ''),
  str('bgsave_cpulist', undefined, I, ''),
  str('ignore-warnings', undefined, M, ''),
  str('proc-title-template', undefined, M, '{title} {listen-addr} {server-mode}', procTitle),
  str('bind-source-addr', undefined, M, ''),
  str('logfile', undefined, I, ''),
  str('masterauth', undefined, M | SENSITIVE, ''),
  str('requirepass', undefined, M | SENSITIVE, ''),

  // Enum configs
  enm('supervised', undefined, I, SUPERVISED, 0),
  enm('syslog-facility', undefined, I, SYSLOG_FACILITIES, 128),
  enm('repl-diskless-load', undefined, M | DENY_LOADING, REPL_DISKLESS_LOAD, 0),
  enm('loglevel', undefined, M, LOGLEVELS, 2),
  enm('maxmemory-policy', undefined, M, MAXMEMORY_POLICIES, 1792),
  enm('appendfsync', undefined, M, AOF_FSYNC, 2),
  enm('oom-score-adj', undefined, M, OOM_SCORE_ADJ, 0),
  enm('acl-pubsub-default', undefined, M, ACL_PUBSUB_DEFAULT, 0),
  enm('sanitize-dump-payload', undefined, M, SANITIZE_DUMP, 0),
  enm('enable-protected-configs', undefined, I, PROTECTED_ACTION, 0),
  enm('enable-debug-command', undefined, I, PROTECTED_ACTION, 0),
  enm('enable-module-command', undefined, I, PROTECTED_ACTION, 0),
  enm('cluster-preferred-endpoint-type', undefined, M, CLUSTER_ENDPOINT, 0),
  enm('propagation-error-behavior', undefined, M, PROPAGATION_ERR, 0),
  enm('shutdown-on-sigint', undefined, M | MULTI_ARG, SHUTDOWN_ON_SIG, 0, shutdownFlags),
  enm('shutdown-on-sigterm', undefined, M | MULTI_ARG, SHUTDOWN_ON_SIG, 0, shutdownFlags),

  // Integer configs
  num('databases', undefined, I, 'int', 1n, INT_MAX, 16n),
  num('port', undefined, M, 'int', 0n, 65535n, 6379n),
  num('io-threads', undefined, I, 'int', 1n, 128n, 1n),
  num('auto-aof-rewrite-percentage', undefined, M, 'int', 0n, INT_MAX, 100n),
  num('cluster-replica-validity-factor', 'cluster-slave-validity-factor', M, 'int', 0n, INT_MAX, 10n),
  num('list-max-listpack-size', 'list-max-ziplist-size', M, 'int', INT_MIN, INT_MAX, -2n),
  num('tcp-keepalive', undefined, M, 'int', 0n, INT_MAX, 300n),
  num('cluster-migration-barrier', undefined, M, 'int', 0n, INT_MAX, 1n),
  num('active-defrag-cycle-min', undefined, M, 'int', 1n, 99n, 1n),
  num('active-defrag-cycle-max', undefined, M, 'int', 1n, 99n, 25n),
  num('active-defrag-threshold-lower', undefined, M, 'int', 0n, 1000n, 10n),
  num('active-defrag-threshold-upper', undefined, M, 'int', 0n, 1000n, 100n),
  num('lfu-log-factor', undefined, M, 'int', 0n, INT_MAX, 10n),
  num('lfu-decay-time', undefined, M, 'int', 0n, INT_MAX, 1n),
  num('replica-priority', 'slave-priority', M, 'int', 0n, INT_MAX, 100n),
  num('repl-diskless-sync-delay', undefined, M, 'int', 0n, INT_MAX, 5n),
  num('maxmemory-samples', undefined, M, 'int', 1n, INT_MAX, 5n),
  num('maxmemory-eviction-tenacity', undefined, M, 'int', 0n, 100n, 10n),
  num('timeout', undefined, M, 'int', 0n, INT_MAX, 0n),
  num('replica-announce-port', 'slave-announce-port', M, 'int', 0n, 65535n, 0n),
  num('tcp-backlog', undefined, I, 'int', 0n, INT_MAX, 511n),
  num('cluster-port', undefined, I, 'int', 0n, 65535n, 0n),
  num('cluster-announce-bus-port', undefined, M, 'int', 0n, 65535n, 0n),
  num('cluster-announce-port', undefined, M, 'int', 0n, 65535n, 0n),
  num('cluster-announce-tls-port', undefined, M, 'int', 0n, 65535n, 0n),
  num('repl-timeout', undefined, M, 'int', 1n, INT_MAX, 60n),
  num('repl-ping-replica-period', 'repl-ping-slave-period', M, 'int', 1n, INT_MAX, 10n),
  num('list-compress-depth', undefined, M, 'int', 0n, INT_MAX, 0n),
  num('rdb-key-save-delay', undefined, M | HIDDEN, 'int', INT_MIN, INT_MAX, 0n),
  num('key-load-delay', undefined, M | HIDDEN, 'int', INT_MIN, INT_MAX, 0n),
  num('active-expire-effort', undefined, M, 'int', 1n, 10n, 1n),
  num('hz', undefined, M, 'int', 0n, INT_MAX, 10n),
  num('min-replicas-to-write', 'min-slaves-to-write', M, 'int', 0n, INT_MAX, 0n),
  num('min-replicas-max-lag', 'min-slaves-max-lag', M, 'int', 0n, INT_MAX, 10n),
  num('watchdog-period', undefined, M | HIDDEN, 'int', 0n, INT_MAX, 0n),
  num('shutdown-timeout', undefined, M, 'int', 0n, INT_MAX, 10n),
  num('repl-diskless-sync-max-replicas', undefined, M, 'int', 0n, INT_MAX, 0n),

  // Unsigned int configs
  num('maxclients', undefined, M, 'uint', 1n, UINT_MAX, 10000n),
  num('unixsocketperm', undefined, I, 'uint', 0n, 0o777n, 0n, OCTAL),
  num('socket-mark-id', undefined, I, 'uint', 0n, UINT_MAX, 0n),

  // Unsigned long configs
  num('active-defrag-max-scan-fields', undefined, M, 'ulong', 1n, LONG_MAX, 1000n),
  num('slowlog-max-len', undefined, M, 'ulong', 0n, LONG_MAX, 128n),
  num('acllog-max-len', undefined, M, 'ulong', 0n, LONG_MAX, 128n),

  // Long long configs
  num('busy-reply-threshold', 'lua-time-limit', M, 'll', 0n, LONG_MAX, 5000n),
  num('cluster-node-timeout', undefined, M, 'll', 0n, LLONG_MAX, 15000n),
  num('slowlog-log-slower-than', undefined, M, 'll', -1n, LLONG_MAX, 10000n),
  num('latency-monitor-threshold', undefined, M, 'll', 0n, LLONG_MAX, 0n),
  num('proto-max-bulk-len', undefined, M, 'll', 1024n * 1024n, LONG_MAX, 512n * 1024n * 1024n, MEMORY),
  num('stream-node-max-entries', undefined, M, 'll', 0n, LLONG_MAX, 100n),
  num('repl-backlog-size', undefined, M, 'll', 1n, LLONG_MAX, 1024n * 1024n, MEMORY),

  // Unsigned long long configs
  num('maxmemory', undefined, M, 'ull', 0n, ULLONG_MAX, 0n, MEMORY),
  num('cluster-link-sendbuf-limit', undefined, M, 'ull', 0n, ULLONG_MAX, 0n, MEMORY),

  // size_t configs
  num('hash-max-listpack-entries', 'hash-max-ziplist-entries', M, 'size_t', 0n, LONG_MAX, 512n),
  num('set-max-intset-entries', undefined, M, 'size_t', 0n, LONG_MAX, 512n),
  num('zset-max-listpack-entries', 'zset-max-ziplist-entries', M, 'size_t', 0n, LONG_MAX, 128n),
  num('active-defrag-ignore-bytes', undefined, M, 'size_t', 1n, LLONG_MAX, 100n << 20n, MEMORY),
  num('hash-max-listpack-value', 'hash-max-ziplist-value', M, 'size_t', 0n, LONG_MAX, 64n, MEMORY),
  num('stream-node-max-bytes', undefined, M, 'size_t', 0n, LONG_MAX, 4096n, MEMORY),
  num('zset-max-listpack-value', 'zset-max-ziplist-value', M, 'size_t', 0n, LONG_MAX, 64n, MEMORY),
  num('hll-sparse-max-bytes', undefined, M, 'size_t', 0n, LONG_MAX, 3000n, MEMORY),
  num('tracking-table-max-keys', undefined, M, 'size_t', 0n, LONG_MAX, 1000000n),
  num('client-query-buffer-limit', undefined, M, 'size_t', 1024n * 1024n, LONG_MAX, 1024n * 1024n * 1024n, MEMORY),
  num('maxmemory-clients', undefined, M, 'ssize_t', -100n, SSIZE_MAX, 0n, MEMORY | PERCENT),

  // Other numeric configs
  num('repl-backlog-ttl', undefined, M, 'time_t', 0n, LONG_MAX, 3600n),
  num('auto-aof-rewrite-min-size', undefined, M, 'off_t', 0n, LLONG_MAX, 64n * 1024n * 1024n, MEMORY),
  num('loading-process-events-interval-bytes', undefined, M | HIDDEN, 'off_t', 1024n, INT_MAX, 2n * 1024n * 1024n),

  // Special configs
  special('dir', undefined, M | PROTECTED | DENY_LOADING, currentDir, setDir),
  special('save', undefined, M | MULTI_ARG, () => '3600 1 300 100 60 10000', setSave),
  special('client-output-buffer-limit', undefined, M | MULTI_ARG,
    () => 'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60', setObufLimit),
  special('oom-score-adj-values', undefined, M | MULTI_ARG, () => '0 200 800', setOomScoreAdjValues),
  special('notify-keyspace-events', undefined, M, () => '', setNotifyKeyspaceEvents),
  special('bind', undefined, M | MULTI_ARG, () => '* -::*', setBind),
  special('replicaof', 'slaveof', I | MULTI_ARG, () => '', setReplicaOf),
  special('latency-tracking-info-percentiles', undefined, M | MULTI_ARG, () => '50 99 99.9', setLatencyPercentiles),

  // Not in Redis 7.0 (see the header comment).
  num('set-max-listpack-entries', undefined, M | HIDDEN, 'size_t', 0n, LONG_MAX, 128n),
  num('set-max-listpack-value', undefined, M | HIDDEN, 'size_t', 0n, LONG_MAX, 64n, MEMORY),
  // Worker ids 1..255 (0 is the main thread): the shared heap's per-thread areas hold MAX_THREADS (256).
  num('threads', undefined, I | HIDDEN, 'int', 0n, 255n, 0n),
];

/** Lookup table: lower-cased name or alias → directive. */
const BY_NAME = new Map<string, Directive>();
for (const d of DIRECTIVES) {
  BY_NAME.set(d.name, d);
  if (d.alias) BY_NAME.set(d.alias, d);
}

/** Find a directive by name or alias (case-insensitive, like Redis's dict). */
export function lookupDirective(name: string): Directive | undefined {
  return BY_NAME.get(name.toLowerCase());
}

/** Every registered name (primary names and aliases), in table order, with
 *  the directive each refers to: what `CONFIG GET *` iterates. */
export const ALL_NAMES: ReadonlyArray<readonly [string, Directive]> = DIRECTIVES.flatMap((d) =>
  d.alias ? [[d.name, d] as const, [d.alias, d] as const] : [[d.name, d] as const],
);

/** True if CONFIG SET's value for this directive must be redacted. */
export function isSensitiveConfig(name: string): boolean {
  const d = lookupDirective(name);
  return d !== undefined && (d.flags & SENSITIVE) !== 0;
}
