// native/madvise (built beside the bundle by scripts/build.mjs): the few system calls Node lacks.
// Optional: null where it could not be built or loaded, and every user has a fallback.
export interface SysAddon {
  /** madvise(MADV_DONTNEED) the whole pages inside [offset, offset + length) of the view's memory. */
  release(view: Uint8Array, offset: number, length: number): number;
  /** Where the view's memory starts within an OS page. */
  misalign?(view: Uint8Array): number;
  /** A close-on-exec duplicate of a descriptor, or -1. */
  dup?(fd: number): number;
  /** A save's stand-in child (persistence/child.ts): [pid, write end of its stdin], or [-errno, -1]. */
  spawnStandIn?(title: string): [number, number];
  /** waitpid(WNOHANG): -1 running, 0-255 its exit code, 256 + the signal that ended it, -2 not a child. */
  waitpid?(pid: number): number;
  /** One datagram to the AF_UNIX socket at path ('@': abstract), as sd_notify: bytes sent or -errno. */
  notify?(path: string, message: string): number;
  /** The process title as /proc/<pid>/cmdline (ps) shows it, whole (setproctitle): bytes kept, or -errno. */
  setProcTitle?(title: string): number;
  /** glibc's malloc_trim(0): free pages of every arena back to the OS; 1 if any were. */
  mallocTrim?(): number;
}

/**
 * One of the optional addons scripts/build.mjs builds into dist/ (madvise, libm, arrival): beside
 * the bundle, or, from the sources (unit tests), the built one in dist/. Null where it is missing.
 */
export function loadAddon<T>(file: string): T | null {
  for (const at of [[__dirname, file], [__dirname, '..', '..', 'dist', file]]) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(require('path').join(...at)) as T;
    } catch {
      /* try the next place */
    }
  }
  return null;
}

export const sysAddon: SysAddon | null = loadAddon<SysAddon>('madvise.node');
