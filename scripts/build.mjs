// Bundles the server into dist/: cli.js (main thread) and worker.js (worker threads), and builds
// the optional native addons (native/<name>/, node-gyp). An addon that cannot be built leaves
// its feature off at run time (scripting answers an error), it does not fail the build.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
// The version operators see (--version, INFO shardis_version) comes from package.json.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const debug = process.env.SHARDIS_DEBUG === '1';
await build({
  entryPoints: { cli: 'src/cli.ts', worker: 'src/server/worker.ts', 'stream-capture': 'src/server/stream-capture.ts', 'repl-thread': 'src/replication/repl-thread.ts', 'aof-writer': 'src/persistence/aof-writer.ts', 'migrate-io': 'src/server/migrate-io.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  sourcemap: true,
  define: {
    'process.env.SHARDIS_DEBUG_BUILD': debug ? '"1"' : '"0"',
    'process.env.SHARDIS_VERSION_BUILD': JSON.stringify(version),
  },
  logLevel: 'warning',
});

function newestMtime(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

function buildAddon(name, output) {
  const dir = join('native', name);
  const out = join(dir, 'build', 'Release', output);
  const sources = Math.max(newestMtime(join(dir, 'src')), statSync(join(dir, 'binding.gyp')).mtimeMs);
  if (existsSync(out) && statSync(out).mtimeMs >= sources) return;
  let gyp;
  try {
    gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    console.warn(`native/${name}: node-gyp is not installed; ${name} stays off`);
    return;
  }
  // Node's own headers, installed beside the binary (Debian /usr, the node images /usr/local).
  const nodedir = dirname(dirname(process.execPath));
  const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) {
    console.warn(`native/${name}: build failed; ${name} stays off (install liblua5.1-0-dev lua-cjson-dev lua-bitop-dev)\n${(r.stderr ?? '').split('\n').filter((l) => /error/i.test(l)).slice(0, 10).join('\n')}`);
  }
}

if (process.env.SHARDIS_NO_NATIVE !== '1') buildAddon('lua', 'shardis_lua.node');

// The one-C-file addons, plain N-API (ABI-stable, no node-gyp): one build serves Node 20 and 24.
// Each is optional: without a C compiler or Node's headers the server runs without it (`without`
// says how). Built next to the bundle (dist/).
//   madvise: gives freed heap pages back to the OS, and the few system calls Node lacks;
//   libm: the C library's sin/cos/asin for GEO (bit-identical distances with redis-server);
//   arrival: unread input of other threads, for the arrival fence (needs libuv's uv.h, beside node_api.h).
function buildPlain(name, without, libs = []) {
  const src = `native/${name}/${name}.c`;
  const out = join('dist', `${name}.node`);
  const include = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node']
    .find((d) => existsSync(join(d, 'node_api.h')));
  if (include === undefined) {
    console.warn(`native/${name} not built: no node_api.h found (${without})`);
    return;
  }
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) return;
  const r = spawnSync(process.env.CC ?? 'cc', ['-O2', '-shared', '-fPIC', '-I', include, src, '-o', out, ...libs], { encoding: 'utf8' });
  if (r.status !== 0) console.warn(`native/${name} not built (${without}): ${String(r.stderr ?? r.error?.message ?? '').trim()}`);
}
if (process.env.SHARDIS_NO_NATIVE !== '1') {
  buildPlain('madvise', 'freed memory stays resident');
  buildPlain('libm', 'GEO uses Math.sin/cos/asin', ['-lm']);
  buildPlain('arrival', 'commands are not ordered by input other threads have not read');
}
