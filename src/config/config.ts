// Server configuration: redis.conf parsing, redis-server style command-line
// directives, CONFIG GET / CONFIG SET semantics. Modelled on Redis 7.0.15's
// config.c and main() so that error texts and edge cases match.
//
// Every value is stored as its canonical CONFIG GET string, keyed by the
// directive's primary name; typed accessors parse on read. That makes the
// whole configuration a plain Record<string, string> (toJSON/fromJSON) that
// can be posted to worker threads.

import { moduleLoadFailure } from './modules';
import { closeSync, lstatSync, openSync, readdirSync, readFileSync } from 'fs';
import { resolve as resolvePath } from 'path';
import {
  ALL_NAMES, DIRECTIVES, DENY_LOADING, Directive, HIDDEN, IMMUTABLE, MULTI_ARG, ObufClass, ObufLimit, PROTECTED,
  SaveRule, defaultValue, keyspaceEventsStringToFlags, lookupDirective, parseEnum, parseObufLimits,
  parseSaveRules, setDirective, strerror,
} from './directives';
import { globMatchStr } from './glob';
import { rewriteConfigFile } from './rewrite';

const REDIS_VERSION = '7.0.15';
const CONFIG_MIN_HZ = 1;
const CONFIG_MAX_HZ = 500;

/** A start-up configuration error. `message` is exactly what Redis prints.
 *  viaLog = false: a FATAL CONFIG FILE ERROR block, to write verbatim to
 *  stderr (it starts and ends with "\n"). viaLog = true: a one-line message
 *  Redis emits through its logger at warning level. Either way: exit(1). */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly viaLog = false,
    readonly line?: number,
    readonly source?: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  /** Does this command exist (for rename-command)? Without it any name is accepted. */
  commandExists?: (name: string) => boolean;
  /** Source of "-" (config from stdin). Default: read fd 0. */
  readStdin?: () => string;
}

export interface SetOptions {
  /** The client is local (for enable-protected-configs local). */
  localClient?: boolean;
  /** The server is loading a dataset (DENY_LOADING configs fail with -LOADING). */
  loading?: boolean;
  /** Skip the immutable/protected checks (internal use, e.g. REPLICAOF). */
  force?: boolean;
}

type Applier = { names: ReadonlySet<string>; fn: () => string | null };

// ---------------------------------------------------------------------------
// sds helpers, byte-exact.

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Token bytes back to a string: UTF-8 when valid, else one char per byte. */
function decodeBytes(b: number[]): string {
  const u = Uint8Array.from(b);
  try {
    return utf8Strict.decode(u);
  } catch {
    return Buffer.from(u).toString('latin1');
  }
}

function isSpaceByte(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function isHexByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

function hexVal(c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10;
}

/** sdssplitargs(): split a line into arguments with "..." (\n \r \t \b \a \xHH
 *  escapes) and '...' quoting. null on unbalanced quotes, or when a closing
 *  quote is not followed by a space or the end. Works on UTF-8 bytes like C;
 *  the input ends at the first NUL (a C string). */
export function splitArgs(line: string): string[] | null {
  const nul = line.indexOf('\0');
  const s = utf8.encode(nul >= 0 ? line.slice(0, nul) : line);
  const n = s.length;
  const at = (i: number): number => (i < n ? s[i] : 0);
  const out: string[] = [];
  let p = 0;
  for (;;) {
    while (p < n && isSpaceByte(s[p])) p++;
    if (p >= n) return out;
    let inq = false;
    let insq = false;
    let done = false;
    const cur: number[] = [];
    while (!done) {
      const c = at(p);
      if (inq) {
        if (c === 0x5c && at(p + 1) === 0x78 && isHexByte(at(p + 2)) && isHexByte(at(p + 3))) {
          cur.push(hexVal(at(p + 2)) * 16 + hexVal(at(p + 3)));
          p += 3;
        } else if (c === 0x5c && at(p + 1) !== 0) {
          p++;
          const e = s[p];
          cur.push(e === 0x6e ? 10 : e === 0x72 ? 13 : e === 0x74 ? 9 : e === 0x62 ? 8 : e === 0x61 ? 7 : e);
        } else if (c === 0x22) {
          if (at(p + 1) !== 0 && !isSpaceByte(at(p + 1))) return null;
          done = true;
        } else if (c === 0) {
          return null; // unterminated quotes
        } else {
          cur.push(c);
        }
      } else if (insq) {
        if (c === 0x5c && at(p + 1) === 0x27) {
          p++;
          cur.push(0x27);
        } else if (c === 0x27) {
          if (at(p + 1) !== 0 && !isSpaceByte(at(p + 1))) return null;
          done = true;
        } else if (c === 0) {
          return null;
        } else {
          cur.push(c);
        }
      } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0) {
        done = true;
      } else if (c === 0x22) {
        inq = true;
      } else if (c === 0x27) {
        insq = true;
      } else {
        cur.push(c);
      }
      if (p < n) p++;
    }
    out.push(decodeBytes(cur));
  }
}

/** sdscatrepr(): quote an argument the way redis-server does when it turns
 *  command-line options into config lines. */
export function reprArg(arg: string): string {
  let r = '"';
  for (const c of utf8.encode(arg)) {
    if (c === 0x5c || c === 0x22) r += '\\' + String.fromCharCode(c);
    else if (c === 0x0a) r += '\\n';
    else if (c === 0x0d) r += '\\r';
    else if (c === 0x09) r += '\\t';
    else if (c === 0x07) r += '\\a';
    else if (c === 0x08) r += '\\b';
    else if (c >= 0x20 && c <= 0x7e) r += String.fromCharCode(c);
    else r += '\\x' + c.toString(16).padStart(2, '0');
  }
  return r + '"';
}

/** sdstolower(): ASCII only. */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** sdstrim(s, " \t\r\n"). */
function trimLine(s: string): string {
  let a = 0;
  let b = s.length;
  const t = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
  while (a < b && t(s[a])) a++;
  while (b > a && t(s[b - 1])) b--;
  return s.slice(a, b);
}

function fatal(err: string, line?: number, text?: string, source?: string): ConfigError {
  let msg = `\n*** FATAL CONFIG FILE ERROR (Redis ${REDIS_VERSION}) ***\n`;
  if (line !== undefined) msg += `Reading the configuration file, at line ${line}\n>>> '${text ?? ''}'\n`;
  msg += `${err}\n`;
  return new ConfigError(msg, false, line, source);
}

/** glob(3) for `include` with wildcards: per path component, dot files only
 *  for patterns starting with '.', sorted. `[!x]` is taken as `[^x]`. */
function globFiles(pattern: string, cwd: string): string[] {
  const segs = pattern.split('/');
  let bases: string[] = [pattern.startsWith('/') ? '/' : ''];
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    if (seg === '') continue;
    if (!/[*?[]/.test(seg)) {
      bases = bases.map((b) => (b === '' ? seg : b.endsWith('/') ? b + seg : `${b}/${seg}`));
      continue;
    }
    const pat = seg.replace(/\[!/g, '[^');
    const next: string[] = [];
    for (const b of bases) {
      let names: string[];
      try {
        names = readdirSync(resolvePath(cwd, b === '' ? '.' : b));
      } catch {
        continue;
      }
      for (const name of names.sort()) {
        if (name.startsWith('.') && !seg.startsWith('.')) continue;
        if (!globMatchStr(pat, name)) continue;
        next.push(b === '' ? name : b.endsWith('/') ? b + name : `${b}/${name}`);
      }
    }
    bases = next;
  }
  // Literal components after a wildcard must exist for glob() to return them.
  return bases
    .filter((p) => {
      try {
        lstatSync(resolvePath(cwd, p));
        return true;
      } catch {
        return false;
      }
    })
    .sort();
}

/** fopen()+fgets() a config file: a directory reads as empty, as on Linux. */
function readConfigFile(path: string, cwd: string): string {
  try {
    return readFileSync(resolvePath(cwd, path), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EISDIR') return '';
    throw new ConfigError(`Fatal error, can't open config file '${path}': ${strerror(e)}`, true);
  }
}

// ---------------------------------------------------------------------------

/** The value map; any change drops the num() cache. */
class ValueMap extends Map<string, string> {
  onSet: () => void = () => {};
  override set(k: string, v: string): this {
    super.set(k, v);
    this.onSet();
    return this;
  }
}

export class Config {
  /** Canonical values by primary directive name. */
  private readonly values = new ValueMap();
  /** num() results by the name asked for: commands read settings on every call. */
  private readonly numCache = new Map<string, number>();
  private readonly strCache = new Map<string, string>();
  private readonly listeners: Array<(name: string, value: string) => void> = [];
  private readonly appliers: Applier[] = [];
  /** Redis's reading_config_file / save_loaded pair (see applyText). */
  private readingConfigFile = false;
  private saveLoaded = false;
  private commandExists: ((name: string) => boolean) | undefined;
  private readonly renamedAway = new Set<string>();
  private readonly renamedTo = new Set<string>();
  private readonly renames: Array<[string, string]> = [];
  private readonly users: string[][] = [];
  private readonly modules: Array<{ path: string; args: string[] }> = [];
  private readonly moduleConfigs = new Map<string, string>();
  /** notify-keyspace-events as set, in flags: the canonical text drops 'n' next to 'A' (as
   *  Redis's CONFIG GET does), while the flags keep it. */
  private notifyFlags = 0;
  /** Absolute path of the config file given on the command line, if any. */
  configFile: string | undefined;

  private constructor() {
    this.values.onSet = () => {
      this.numCache.clear();
      this.strCache.clear();
    };
    for (const d of DIRECTIVES) this.values.set(d.name, defaultValue(d));
  }

  static defaults(): Config {
    return new Config();
  }

  /**
   * redis-server style start-up: argv = process args after the script. An
   * optional first arg not starting with '-' is the config file; "-" as the
   * first or last arg reads config from stdin; then `--name value...` pairs
   * (a directive's args run until the next `--`, values are quoted with
   * sdscatrepr, and the result is appended to the file text as new lines).
   * -v/--version/-h/--help/--test-memory/--sentinel are the CLI's business.
   * Throws ConfigError with Redis's texts.
   */
  static load(argv: string[], opts: LoadOptions = {}): Config {
    const cfg = new Config();
    cfg.commandExists = opts.commandExists;
    if (argv.length === 0) return cfg;
    let j = 0;
    if (argv[0][0] !== '-') {
      cfg.configFile = resolvePath(argv[0]);
      j = 1;
    }
    let options = '';
    let fromStdin = false;
    let handledLastConfigArg = true;
    const last = argv.length - 1;
    for (; j < argv.length; j++) {
      const a = argv[j];
      if (a === '-' && (j === 0 || j === last)) {
        fromStdin = true;
      } else if (handledLastConfigArg && a.startsWith('--')) {
        if (options.length) options += '\n';
        options += a.slice(2) + ' ';
        const parts = splitArgs(a);
        if (parts !== null && parts.length === 1) {
          // Only an option name: its values follow (even ones starting with --).
          handledLastConfigArg = false;
          const nextIsOpt = j !== last && argv[j + 1].startsWith('--');
          if (nextIsOpt && asciiLower(a) === '--save') {
            // `--save --port 1` means `--save ""` (pre-7.0.1 compatibility).
            options += '""';
            handledLastConfigArg = true;
          } else if (j === last && asciiLower(a) === '--save') {
            options += '""';
          } else if (nextIsOpt && asciiLower(a) === '--sentinel') {
            handledLastConfigArg = true;
          }
        } else {
          // "--port 6380" as one argument: name and value together.
          handledLastConfigArg = true;
        }
      } else {
        options += reprArg(a) + ' ';
        handledLastConfigArg = true;
      }
    }

    let text = '';
    if (cfg.configFile !== undefined) text += readConfigFile(cfg.configFile, cfg.str('dir'));
    if (fromStdin) text += (opts.readStdin ?? (() => readFileSync(0, 'utf8')))();
    text += '\n' + options;
    cfg.applyText(text);

    // What Redis finds after loading: queued module configs / modules.
    if (cfg.modules.length > 0) {
      throw new ConfigError(moduleLoadFailure(cfg.modules[0].path), true);
    }
    if (cfg.moduleConfigs.size > 0) {
      throw new ConfigError('Module Configuration detected without loadmodule directive or no ApplyConfig call: aborting', true);
    }
    return cfg;
  }

  /**
   * Parse config file text (loadServerConfigFromString). Lines are trimmed;
   * '#' comments and blank lines skipped; arguments split like sdssplitargs.
   * `include` paths resolve against the current `dir` (Redis chdir()s on
   * `dir`). sourceName is only recorded in a ConfigError. Throws ConfigError.
   */
  applyText(text: string, sourceName?: string): void {
    this.readingConfigFile = true;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const nul = lines[i].indexOf('\0');
      const line = trimLine(nul >= 0 ? lines[i].slice(0, nul) : lines[i]);
      const fail = (err: string): ConfigError => fatal(err, i + 1, line, sourceName);
      if (line === '' || line[0] === '#') continue;
      const argv = splitArgs(line);
      if (argv === null) throw fail('Unbalanced quotes in configuration line');
      if (argv.length === 0) continue;
      argv[0] = asciiLower(argv[0]);
      const argc = argv.length;

      const d = lookupDirective(argv[0]);
      if (d) {
        const multi = (d.flags & MULTI_ARG) !== 0;
        if (!multi && argc !== 2) throw fail('wrong number of arguments');
        // A multi-arg directive given one non-empty argument is split again,
        // so `--save "900 1 300 10"` works.
        const args = multi && argc === 2 && argv[1] !== '' ? splitArgs(argv[1]) ?? [] : argv.slice(1);
        const r = setDirective(d, args, {
          current: this.values.get(d.name) ?? '',
          append: this.readingConfigFile && this.saveLoaded,
          cwd: this.str('dir'),
        });
        if ('err' in r) throw fail(r.err);
        this.values.set(d.name, r.ok);
        if (d.name === 'notify-keyspace-events') this.notifyFlags = keyspaceEventsStringToFlags(args[0]);
        if (d.name === 'save' && this.readingConfigFile) this.saveLoaded = true;
        continue;
      }
      // Deprecated directives, silently ignored with exactly one argument.
      if (argc === 2 && (argv[0] === 'list-max-ziplist-entries' || argv[0] === 'list-max-ziplist-value' || argv[0] === 'lua-replicate-commands')) {
        continue;
      }

      if (argv[0] === 'include' && argc === 2) {
        this.include(argv[1]);
      } else if (argv[0] === 'rename-command' && argc === 3) {
        const e = this.renameCommand(argv[1], argv[2]);
        if (e) throw fail(e);
      } else if (argv[0] === 'user' && argc >= 2) {
        // Validated by the ACL subsystem when it loads these.
        this.users.push(argv.slice(1));
      } else if (argv[0] === 'loadmodule' && argc >= 2) {
        this.modules.push({ path: argv[1], args: argv.slice(2) });
      } else if (argv[0].includes('.')) {
        if (argc < 2) throw fail('Module config specified without value');
        this.moduleConfigs.set(argv[0], argv.slice(1).join(' '));
      } else if (argv[0] === 'sentinel') {
        // A bare "sentinel" is handled by redis-server's main(); we have no sentinel mode.
        if (argc !== 1) throw fail('sentinel directive while not in sentinel mode');
      } else {
        throw fail('Bad directive or wrong number of arguments');
      }
    }

    const logfile = this.str('logfile');
    if (logfile !== '') {
      // Redis checks the log file can be opened (creating it) right away.
      try {
        closeSync(openSync(resolvePath(this.str('dir'), logfile), 'a'));
      } catch (e) {
        throw fatal(`Can't open the log file: ${strerror(e)}`, undefined, undefined, sourceName);
      }
    }
    this.clampHz();
    // Redis resets this flag at the end of every (also nested, via include)
    // load, so `save` lines after an include replace instead of appending.
    this.readingConfigFile = false;
  }

  private include(path: string): void {
    const cwd = this.str('dir');
    let text = '';
    if (/[*?[]/.test(path)) {
      // With wildcards, no match is not an error (empty conf.d directories);
      // the (empty) text is still "loaded", which matters for the save quirk.
      for (const f of globFiles(path, cwd)) text += readConfigFile(f, cwd);
    } else {
      text = readConfigFile(path, cwd);
    }
    this.applyText(text, path);
  }

  private renameCommand(from: string, to: string): string | null {
    const f = from.toLowerCase();
    const t = to.toLowerCase();
    if (this.commandExists) {
      const exists = (n: string): boolean => this.renamedTo.has(n) || (!this.renamedAway.has(n) && this.commandExists!(n));
      if (!exists(f)) return 'No such command in rename-command';
      this.renamedTo.delete(f);
      this.renamedAway.add(f);
      if (t !== '') {
        if (exists(t)) return 'Target command name already exists';
        this.renamedTo.add(t);
      }
    }
    this.renames.push([from, to]);
    return null;
  }

  private clampHz(): void {
    const hz = Number(this.values.get('hz'));
    if (hz < CONFIG_MIN_HZ) this.values.set('hz', String(CONFIG_MIN_HZ));
    if (hz > CONFIG_MAX_HZ) this.values.set('hz', String(CONFIG_MAX_HZ));
  }

  // -------------------------------------------------------------------------
  // CONFIG GET / SET

  /** Canonical value (as CONFIG GET shows it) by name or alias, any case. */
  get(name: string): string | undefined {
    const d = lookupDirective(name);
    return d ? this.values.get(d.name) : undefined;
  }

  /**
   * CONFIG GET: exact names (no `[*?`) are looked up case-insensitively and
   * reported as typed, hidden ones included; patterns are matched
   * case-insensitively against every name and alias (Redis 7.0 lists aliases
   * such as `slaveof` too), skipping hidden ones. A name is never returned
   * twice (case-insensitive). Order: by pattern, then table order (Redis's
   * is hash order).
   */
  getMatching(patterns: string[]): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    const seen = new Set<string>();
    for (const pat of patterns) {
      if (!/[[*?]/.test(pat)) {
        const key = pat.toLowerCase();
        if (seen.has(key)) continue;
        const d = lookupDirective(pat);
        if (d) {
          seen.add(key);
          out.push([pat, this.values.get(d.name) ?? '']);
        }
        continue;
      }
      for (const [name, d] of ALL_NAMES) {
        if (d.flags & HIDDEN || seen.has(name)) continue;
        if (globMatchStr(pat, name, true)) {
          seen.add(name);
          out.push([name, this.values.get(d.name) ?? '']);
        }
      }
    }
    return out;
  }

  /**
   * CONFIG SET name value [name value ...], all or nothing. Returns null on
   * success, else the error reply without the leading '-'. Multi-argument
   * values are split on single spaces (so `CONFIG SET save "900 1"`). The
   * caller checks arity ("ERR wrong number of arguments for 'config|set'
   * command" / "ERR syntax error" for an odd count).
   */
  set(pairs: Array<[string, string]>, opts: SetOptions = {}): string | null {
    const targets: Directive[] = [];
    for (const [name] of pairs) {
      const d = lookupDirective(name);
      if (!d) return `ERR Unknown option or number of arguments for CONFIG SET - '${name}'`;
      if (!opts.force) {
        if (d.flags & IMMUTABLE) return setFailed(name, "can't set immutable config");
        if (d.flags & PROTECTED && !this.protectedActionAllowed('enable-protected-configs', opts.localClient ?? false)) {
          return setFailed(name, "can't set protected config");
        }
        if (opts.loading && d.flags & DENY_LOADING) return 'LOADING Redis is loading the dataset in memory';
      }
      if (targets.includes(d)) return setFailed(name, 'duplicate parameter');
      targets.push(d);
    }

    const old = targets.map((d) => this.values.get(d.name) ?? '');
    const oldNotify = this.notifyFlags;
    const restore = (): void => {
      targets.forEach((d, i) => this.values.set(d.name, old[i]));
      this.notifyFlags = oldNotify;
    };
    for (let i = 0; i < targets.length; i++) {
      const d = targets[i];
      const value = pairs[i][1];
      // sdssplitlen(value, " "): "" gives no arguments, "a  b" an empty one.
      const args = d.flags & MULTI_ARG ? (value === '' ? [] : value.split(' ')) : [value];
      const r = setDirective(d, args, { current: old[i], append: false, cwd: this.str('dir') });
      if ('err' in r) {
        restore();
        return setFailed(registeredName(d, pairs[i][0]), r.err);
      }
      this.values.set(d.name, r.ok);
      if (d.name === 'notify-keyspace-events') this.notifyFlags = keyspaceEventsStringToFlags(value);
    }

    // Apply step: built-in (hz clamping), then registered appliers, each
    // once, in the order of the first changed config that uses it.
    this.clampHz();
    const changed = targets.filter((d, i) => this.values.get(d.name) !== old[i]);
    const changedNames = new Set(changed.map((d) => d.name));
    const toRun: Array<[Applier, string]> = [];
    for (let i = 0; i < targets.length; i++) {
      const d = targets[i];
      if (!changedNames.has(d.name)) continue;
      for (const a of this.appliers) {
        if (a.names.has(d.name) && !toRun.some(([x]) => x === a)) toRun.push([a, registeredName(d, pairs[i][0])]);
      }
    }
    for (const [a, name] of toRun) {
      const e = a.fn();
      if (e !== null) {
        restore();
        for (const [b] of toRun) b.fn(); // re-apply the restored values
        return setFailed(name, e);
      }
    }
    for (const d of changed) {
      const v = this.values.get(d.name) ?? '';
      for (const l of this.listeners) l(d.name, v);
    }
    return null;
  }

  /** Called after every successful set() with each changed directive's
   *  primary name and new canonical value. */
  onChange(listener: (name: string, value: string) => void): void {
    this.listeners.push(listener);
  }

  /** Like Redis's per-config apply functions: run synchronously inside
   *  set() when any of `names` changed; a non-null return is an error text
   *  and rolls the whole CONFIG SET back (e.g. "Unable to listen on this
   *  port. Check server logs."). */
  registerApply(names: string[], fn: () => string | null): void {
    const set = new Set<string>();
    for (const n of names) {
      const d = lookupDirective(n);
      if (!d) throw new Error(`unknown config '${n}'`);
      set.add(d.name);
    }
    this.appliers.push({ names: set, fn });
  }

  // -------------------------------------------------------------------------
  // Typed reads.

  private directive(name: string): Directive {
    const d = lookupDirective(name);
    if (!d) throw new Error(`unknown config '${name}'`);
    return d;
  }

  /** Integers and memory sizes as numbers (beyond 2^53 precision is lost;
   *  a percentage such as maxmemory-clients "10%" reads as -10, like Redis);
   *  bools as 1/0; enums as their internal value (loglevel: debug 0 ..
   *  warning 3). */
  num(name: string): number {
    const cached = this.numCache.get(name);
    if (cached !== undefined) return cached;
    const v = this.numUncached(name);
    this.numCache.set(name, v);
    return v;
  }

  private numUncached(name: string): number {
    const d = this.directive(name);
    const v = this.values.get(d.name) ?? '';
    switch (d.type) {
      case 'bool':
        return v === 'yes' ? 1 : 0;
      case 'numeric':
        if (v.endsWith('%')) return -Number(v.slice(0, -1));
        return Number(v);
      case 'enum':
        return parseEnum(d, v.split(' ')) ?? 0;
      default:
        throw new Error(`config '${name}' is not numeric`);
    }
  }

  str(name: string): string {
    const cached = this.strCache.get(name);
    if (cached !== undefined) return cached;
    const v = this.values.get(this.directive(name).name) ?? '';
    this.strCache.set(name, v);
    return v;
  }

  bool(name: string): boolean {
    const d = this.directive(name);
    if (d.type !== 'bool') throw new Error(`config '${name}' is not a yes/no option`);
    return this.values.get(d.name) === 'yes';
  }

  saveRules(): Array<{ seconds: number; changes: number }> {
    return parseSaveRules(this.str('save')) satisfies SaveRule[];
  }

  clientOutputBufferLimits(): Record<ObufClass, ObufLimit> {
    return parseObufLimits(this.str('client-output-buffer-limit'));
  }

  /** `bind` addresses (empty: listen nowhere; "-" prefix: optional address). */
  bindAddresses(): string[] {
    const v = this.str('bind');
    return v === '' ? [] : v.split(' ');
  }

  /** `replicaof`, or null when this is a master. */
  replicaOf(): { host: string; port: number } | null {
    const v = this.str('replicaof');
    if (v === '') return null;
    const sp = v.lastIndexOf(' ');
    return { host: v.slice(0, sp), port: Number(v.slice(sp + 1)) };
  }

  /** notify-keyspace-events as NOTIFY_* flags (see directives.ts). */
  notifyKeyspaceEvents(): number {
    return this.notifyFlags;
  }

  /** enable-debug-command / enable-module-command / enable-protected-configs:
   *  "yes", or "local" and the client is local. */
  protectedActionAllowed(name: 'enable-debug-command' | 'enable-module-command' | 'enable-protected-configs', localClient: boolean): boolean {
    const v = this.str(name);
    return v === 'yes' || (v === 'local' && localClient);
  }

  /** CONFIG REWRITE of the config file given at start-up: null, or the error's text. */
  rewrite(userLines: string[] = [], forceAll = false): string | null {
    if (this.configFile === undefined) return 'The server is running without a config file';
    return rewriteConfigFile(this, this.configFile, userLines, forceAll);
  }

  /** rename-command directives in order: [from, to] (to "" = removed). */
  renamedCommands(): Array<[string, string]> {
    return this.renames.map(([a, b]) => [a, b]);
  }

  /** `user` directives' arguments (after "user"), for the ACL subsystem. */
  userDirectives(): string[][] {
    return this.users.map((u) => u.slice());
  }

  // -------------------------------------------------------------------------
  // Transfer to worker threads.

  /** All canonical values by primary name, plus '@'-prefixed entries for
   *  state that is not a CONFIG GET value (config file, renames, users). */
  toJSON(): Record<string, string> {
    const o: Record<string, string> = {};
    for (const [k, v] of this.values) o[k] = v;
    if (this.configFile !== undefined) o['@configfile'] = this.configFile;
    if (this.renames.length) o['@rename-command'] = JSON.stringify(this.renames);
    if (this.users.length) o['@user'] = JSON.stringify(this.users);
    o['@notify-flags'] = String(this.notifyFlags);
    return o;
  }

  static fromJSON(v: Record<string, string>): Config {
    const c = new Config();
    for (const [k, val] of Object.entries(v)) {
      if (k.startsWith('@')) continue;
      const d = lookupDirective(k);
      if (d) c.values.set(d.name, val);
    }
    c.configFile = v['@configfile'];
    if (v['@rename-command']) c.renames.push(...(JSON.parse(v['@rename-command']) as Array<[string, string]>));
    if (v['@user']) c.users.push(...(JSON.parse(v['@user']) as string[][]));
    if (v['@notify-flags']) c.notifyFlags = Number(v['@notify-flags']);
    return c;
  }
}

function setFailed(name: string, err: string): string {
  return `ERR CONFIG SET failed (possibly related to argument '${name}') - ${err}`;
}

/** The name Redis reports for a failed set: the registered name the user
 *  reached it by (the alias if an alias was used), lower-case. */
function registeredName(d: Directive, typed: string): string {
  return d.alias !== undefined && typed.toLowerCase() === d.alias ? d.alias : d.name;
}
