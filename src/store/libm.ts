// native/libm (built beside the bundle by scripts/build.mjs): the C library's sin, cos and asin,
// so GEO distances are the same doubles redis-server computes (V8's differ in the last bit for a
// few percent of arguments). Math's functions where the addon could not be built or loaded.
import { loadAddon } from './sysaddon';

interface Libm {
  sin(x: number): number;
  cos(x: number): number;
  asin(x: number): number;
}

const libm = loadAddon<Libm>('libm.node');
export const libmLoaded = libm !== null;
export const sin: (x: number) => number = libm !== null ? libm.sin : Math.sin;
export const cos: (x: number) => number = libm !== null ? libm.cos : Math.cos;
export const asin: (x: number) => number = libm !== null ? libm.asin : Math.asin;
