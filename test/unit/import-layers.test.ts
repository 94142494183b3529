// The import graph goes one way (issue 9): socket -> parser -> command table -> coordinator ->
// store -> writer. The runtime (main, worker, client) imports the command table; command bodies
// import the services they call (notify, blocking, pause, monitor, pub/sub, tracking, INFO, the
// scripting engine) and the registry; nothing below the runtime imports the runtime or the table
// of every family back. Checked on the graph esbuild bundles (value imports only: `import type`
// is erased, so it may point anywhere).
import { describe, it, expect, beforeAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';

const ROOT = path.resolve(__dirname, '../..');
const ENTRIES = ['src/cli.ts', 'src/server/worker.ts', 'src/server/stream-capture.ts'];
/** The runtime: what only the entry points may import. */
const RUNTIME = ['src/server/main.ts', 'src/server/worker.ts', 'src/server/client.ts', 'src/commands/table.ts'];
/** Besides the runtime, what runs commands through a Client and the table: the AOF loader and a replica's link. */
const DRIVERS = ['src/cli.ts', 'src/persistence/aof-load.ts', 'src/replication/replica.ts'];

let graph: Map<string, string[]>;

/** Strongly connected components with more than one module (Tarjan). */
function cycles(g: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return out;
}

beforeAll(async () => {
  const r = await build({
    absWorkingDir: ROOT,
    entryPoints: ENTRIES,
    bundle: true,
    platform: 'node',
    write: false,
    metafile: true,
    outdir: 'dist-import-graph',
    logLevel: 'silent',
    external: ['*.node'],
  });
  graph = new Map();
  for (const [file, v] of Object.entries(r.metafile.inputs)) {
    if (file.startsWith('src/')) graph.set(file, v.imports.map((i) => i.path).filter((p) => p.startsWith('src/')));
  }
});

describe('import layers', () => {
  it('sees the whole server', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get('src/commands/table.ts')).toContain('src/commands/strings.ts');
  });

  it('has no import cycle across directories (server, commands, scripting, persistence, store...)', () => {
    const dir = (f: string): string => path.dirname(f);
    const crossing = cycles(graph).filter((c) => new Set(c.map(dir)).size > 1);
    expect(crossing).toEqual([]);
  });

  it('has no import cycle in src/server or src/commands', () => {
    const inLayer = cycles(graph).filter((c) => c.some((f) => f.startsWith('src/server/') || f.startsWith('src/commands/')));
    expect(inLayer).toEqual([]);
  });

  it('keeps src/store free of src/commands, and registers every collection type from src/store', () => {
    const up: string[] = [];
    for (const [file, deps] of graph) if (file.startsWith('src/store/')) for (const d of deps) if (d.startsWith('src/commands/')) up.push(`${file} -> ${d}`);
    expect(up).toEqual([]);
    // The main thread frees, copies and checks values of every type without importing commands.
    const registering = [...graph.keys()].filter((f) => f !== 'src/store/keyspace.ts' && fs.readFileSync(path.join(ROOT, f), 'utf8').includes('registerObjectType('));
    expect(registering.filter((f) => !f.startsWith('src/store/'))).toEqual([]);
    expect(registering.length).toBeGreaterThanOrEqual(4);
    for (const f of registering) expect(graph.get('src/store/types.ts')).toContain(f);
    expect(graph.get('src/server/main.ts')).toContain('src/store/types.ts');
    expect(graph.get('src/server/worker.ts')).toContain('src/store/types.ts');
  });

  it('imports the runtime (main, worker, client) and the table of every family only from the runtime and the command drivers', () => {
    const bad: string[] = [];
    for (const [file, deps] of graph) {
      if (RUNTIME.includes(file) || DRIVERS.includes(file)) continue;
      for (const d of deps) if (RUNTIME.includes(d)) bad.push(`${file} -> ${d}`);
    }
    expect(bad).toEqual([]);
  });
});
