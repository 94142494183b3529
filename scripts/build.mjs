// Bundles the server into dist/: cli.js (main thread) and worker.js (worker threads).
import { build } from 'esbuild';
import { readFileSync } from 'fs';
// The version operators see (--version, INFO shardis_version) comes from package.json.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const debug = process.env.SHARDIS_DEBUG === '1';
await build({
  entryPoints: { cli: 'src/cli.ts', worker: 'src/server/worker.ts', 'stream-capture': 'src/server/stream-capture.ts' },
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
