// Collection after big output, on worker threads. The buffers of a burst of big replies are
// garbage once written, but V8 collects them only when this thread next needs memory: a worker
// that went idle after a pipeline of 600 GETs of 1 MB kept ~600 MB resident for good (per thread
// that served such a burst). Once a burst is over (32 MiB or more of big buffers allocated by this
// thread's writers since the last collection, none in the last second: while big output goes on,
// V8 collects as it allocates), a major collection starts, concurrent (V8's incremental marking:
// no pause of note), and one more 5 s later for buffers a slow reader's socket still held.
// Then malloc_trim (native/madvise): glibc's arenas keep freed big buffers otherwise. (Fixing
// glibc's mmap threshold at 1 MiB instead cost 15% on GETs of 200 KB values, -P 16.)
import { setFlagsFromString } from 'v8';
import { runInNewContext } from 'vm';
import { bigOutput } from '../protocol/writer';
import { sysAddon } from '../store/sysaddon';

type Gc = (opts: { type: 'major'; execution: 'async' }) => unknown;

const THRESHOLD = 32 * 1024 * 1024;

export function installOutputGc(): void {
  let gc: Gc | null = null;
  try {
    // The only way to ask V8 for a collection; the flag adds `gc` to contexts made from now on.
    setFlagsFromString('--expose-gc');
    const f: unknown = runInNewContext('gc');
    if (typeof f === 'function') gc = f as Gc;
  } catch {
    gc = null;
  }
  if (gc === null) return;
  const gcAsync = gc;
  const trim = sysAddon?.mallocTrim;
  // Freed backing stores may be released just after the collection ends: trim a little later.
  const collect = (): void => {
    void Promise.resolve(gcAsync({ type: 'major', execution: 'async' })).then(() => {
      if (trim !== undefined) setTimeout(() => trim(), 100).unref();
    });
  };
  let again = 0;
  let seen = 0;
  setInterval(() => {
    const bytes = bigOutput.bytes;
    const busy = bytes !== seen;
    seen = bytes;
    if (bytes >= THRESHOLD && !busy) {
      seen = 0;
      bigOutput.bytes = 0;
      collect();
      again = 5;
    } else if (again > 0 && --again === 0) {
      collect();
    }
  }, 1000).unref();
}
