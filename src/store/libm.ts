// native/libm (built beside the bundle by scripts/build.mjs): the C library's sin, cos and asin,
// so GEO distances are the same doubles redis-server computes (V8's differ in the last bit for a
// few percent of arguments). Math's functions where the addon could not be built or loaded.
interface Libm {
  sin(x: number): number;
  cos(x: number): number;
  asin(x: number): number;
}

function load(): Libm | null {
  // Beside the bundle (dist/), or, from the sources (unit tests), the built one in dist/.
  for (const at of [[__dirname, 'libm.node'], [__dirname, '..', '..', 'dist', 'libm.node']]) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(require('path').join(...at)) as Libm;
    } catch {
      /* try the next place */
    }
  }
  return null;
}

const libm = load();
export const libmLoaded = libm !== null;
export const sin: (x: number) => number = libm !== null ? libm.sin : Math.sin;
export const cos: (x: number) => number = libm !== null ? libm.cos : Math.cos;
export const asin: (x: number) => number = libm !== null ? libm.asin : Math.asin;
