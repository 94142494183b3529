// Function libraries as one server-wide registry (Redis's functionsLibCtx). Every thread compiles
// the libraries into its own Lua state (src/scripting/engine.ts), but what the server HAS is one
// list of library codes in shared memory, changed only under every slot lock (FUNCTION LOAD /
// DELETE / FLUSH / RESTORE lock all slots; the RDB loaders run under all locks too). So:
//  - a snapshot, which starts under every slot lock, reads exactly the libraries of its point in
//    time (the FUNCTION2 records it writes pair with the stream offset it starts at);
//  - a thread brings its own registry in line with the list lazily (`syncLibraries`, one atomic
//    load when nothing changed) before it uses it (FCALL, FUNCTION ...), so a library loaded on
//    one thread, from an AOF or from an RDB is callable on every thread without a broadcast.
import type { ThreadServer } from '../server/context';
import { scriptEngine, NO_ENGINE, type ScriptEngine, type Library, type LibFunction } from './engine';
import { log } from '../server/log';
import { libraryCodes, setLibraryCodes, functionsVersion } from './library-list';

export { libraryCodes, setLibraryCodes, functionsVersion, clearLibraries } from './library-list';

/** Publish this thread's registry as the server's (after a change made under every slot lock). */
export function publishLibraries(srv: ThreadServer): void {
  const eng = scriptEngine(srv);
  setLibraryCodes(srv.store, [...eng.libraries.values()].map((l) => l.code));
  eng.fnVersion = functionsVersion(srv.store);
}

/**
 * Bring this thread's libraries in line with the server's list: one atomic load when nothing
 * changed. Libraries whose code is unchanged keep their compiled functions.
 */
export function syncLibraries(srv: ThreadServer): void {
  const eng = scriptEngine(srv);
  const s = srv.store;
  const ver = functionsVersion(s);
  if (ver === eng.fnVersion) return;
  if (!eng.available) {
    eng.fnVersion = ver;
    return;
  }
  const codes = libraryCodes(s);
  const want = new Set<string>();
  for (const code of codes) {
    const md = libMetadata(code);
    if (typeof md === 'string') continue;
    want.add(md.name);
    const cur = eng.libraries.get(md.name);
    if (cur !== undefined && cur.code.equals(code)) continue;
    // Drop what is replaced first: a function may move from one library to another.
    if (cur !== undefined) eng.dropLibrary(cur);
  }
  for (const lib of [...eng.libraries.values()]) if (!want.has(lib.name)) eng.dropLibrary(lib);
  for (const code of codes) {
    const md = libMetadata(code);
    if (typeof md === 'string' || eng.libraries.has(md.name)) continue;
    const r = createLibrary(srv, code, true);
    if (r.startsWith('ERR ')) log('warning', `Failed loading library ${md.name} on thread ${srv.threadId}: ${r.slice(4)}`);
  }
  eng.fnVersion = ver;
}

// ---- libraries: metadata and creation (functionsCreateWithLibraryCtx) --------------------------

interface LibMeta { name: string; engine: string; code: Buffer }

/** sdssplitargs: whitespace separated, "double" (with escapes) and 'single' quotes anywhere in a word. */
export function splitArgs(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const sp = (ch: string | undefined): boolean => ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t' || ch === '\0';
  for (;;) {
    while (i < line.length && sp(line[i])) i++;
    if (i >= line.length) return out;
    let cur = '';
    let inq = 0; // 1 double, 2 single
    for (;;) {
      const ch = line[i];
      if (inq === 1) {
        if (ch === undefined) return null;
        if (ch === '\\' && i + 3 < line.length && line[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
          cur += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 4;
          continue;
        }
        if (ch === '\\' && i + 1 < line.length) {
          const e = line[i + 1];
          cur += e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : e === 'b' ? '\b' : e === 'a' ? '\x07' : e;
          i += 2;
          continue;
        }
        if (ch === '"') {
          if (i + 1 < line.length && !sp(line[i + 1])) return null;
          i++;
          break;
        }
        cur += ch;
        i++;
      } else if (inq === 2) {
        if (ch === undefined) return null;
        if (ch === '\\' && line[i + 1] === "'") {
          cur += "'";
          i += 2;
          continue;
        }
        if (ch === "'") {
          if (i + 1 < line.length && !sp(line[i + 1])) return null;
          i++;
          break;
        }
        cur += ch;
        i++;
      } else {
        if (ch === undefined || sp(ch)) break;
        if (ch === '"') inq = 1;
        else if (ch === "'") inq = 2;
        else cur += ch;
        i++;
      }
    }
    out.push(cur);
  }
}

export function libMetadata(payload: Buffer): LibMeta | string {
  if (payload.length < 2 || payload[0] !== 0x23 || payload[1] !== 0x21) return 'ERR Missing library metadata';
  const nl = payload.indexOf(10);
  if (nl < 0) return 'ERR Invalid library metadata';
  const parts = splitArgs(payload.latin1Slice(0, nl));
  if (parts === null || parts.length === 0) return 'ERR Invalid library metadata';
  const engine = parts[0].slice(2);
  let name: string | null = null;
  for (let i = 1; i < parts.length; i++) {
    if (parts[i].toLowerCase().startsWith('name=')) {
      if (name !== null) return 'ERR Invalid metadata value, name argument was given multiple times';
      name = parts[i].slice(5);
      continue;
    }
    return `ERR Invalid metadata value given: ${parts[i]}`;
  }
  if (name === null) return 'ERR Library name was not given';
  return { name, engine, code: payload.subarray(nl) };
}

export function validName(n: string): boolean {
  return n.length > 0 && /^[A-Za-z0-9_]+$/.test(n);
}

export const E_BAD_NAME = 'ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long';

/**
 * functionsCreateWithLibraryCtx on this thread's registry: load (or, with replace, replace) a
 * library. Returns the library name or an error text ("ERR ...").
 */
export function createLibrary(srv: ThreadServer, payload: Buffer, replace: boolean): string {
  const eng = scriptEngine(srv);
  const md = libMetadata(payload);
  if (typeof md === 'string') return md;
  if (!validName(md.name)) return E_BAD_NAME;
  if (md.engine.toUpperCase() !== 'LUA') return `ERR Engine '${md.engine}' not found`;
  const old = eng.libraries.get(md.name);
  if (old !== undefined && !replace) return `ERR Library '${md.name}' already exists`;
  const r = eng.loadLibraryCode(payload, md.code);
  if (typeof r === 'string') return r === NO_ENGINE ? r : `ERR ${r}`;
  if (r.fns.length === 0) return 'ERR No functions registered';
  for (const [fname] of r.fns) {
    const f = eng.functions.get(fname.toLowerCase());
    if (f !== undefined && f.lib !== md.name) {
      dropTag(eng, r.tag, r.fns);
      return `ERR Function ${fname} already exists`;
    }
  }
  if (old !== undefined) eng.dropLibrary(old);
  const lib: Library = { name: md.name, code: Buffer.from(payload), tag: r.tag, functions: [], compiled: true };
  for (const [fname, desc, flags] of r.fns) {
    const f: LibFunction = { name: fname, desc, flags, lib: md.name, needsAll: false, keylessSlots: 0, runId: -1, runGen: -1 };
    lib.functions.push(f);
    eng.functions.set(fname.toLowerCase(), f);
  }
  eng.libraries.set(md.name, lib);
  return md.name;
}

export function dropTag(eng: ScriptEngine, tag: string, fns: Array<[string, string | null, number]>): void {
  const lua = eng.engine();
  if (lua !== null) for (const [n] of fns) lua.drop(`${tag}:${n}`);
}

/** Drop every library of this thread (FUNCTION FLUSH, before a full load). */
export function dropAllLibraries(srv: ThreadServer): void {
  const eng = scriptEngine(srv);
  for (const lib of [...eng.libraries.values()]) eng.dropLibrary(lib);
}

// ---- loading from an RDB (rdbFunctionLoad), on the main thread -------------------------------

/**
 * One FUNCTION2 record of an RDB being loaded (the loader holds every slot lock): compiled here
 * to check it as Redis does, then added to the server's list. `allowDup` (DEBUG RELOAD MERGE)
 * replaces a library of the same name, else it is an error. Null, or the error text.
 */
export function loadRdbLibrary(srv: ThreadServer, code: Buffer, allowDup: boolean): string | null {
  syncLibraries(srv);
  const r = createLibrary(srv, code, allowDup);
  if (r.startsWith('ERR ')) return r.slice(4);
  if (r === NO_ENGINE) return r;
  publishLibraries(srv);
  return null;
}

