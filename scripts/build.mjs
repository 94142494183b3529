// Bundles the server into dist/: cli.js (main thread) and worker.js (worker threads).
import { build } from 'esbuild';
const debug = process.env.SHARDIS_DEBUG === '1';
await build({
  entryPoints: { cli: 'src/cli.ts', worker: 'src/server/worker.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  sourcemap: true,
  define: { 'process.env.SHARDIS_DEBUG_BUILD': debug ? '"1"' : '"0"' },
  logLevel: 'warning',
});
