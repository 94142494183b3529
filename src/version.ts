// shardis's own version: package.json's, put in by the build (scripts/build.mjs). Unbundled
// (unit tests) it reads package.json itself.
export const SHARDIS_VERSION: string = process.env.SHARDIS_VERSION_BUILD ?? (require('../package.json') as { version: string }).version;
