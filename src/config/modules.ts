// Redis modules are shared objects written against Redis's C module API: shardis, on Node.js,
// cannot load them. MODULE LOAD / LOADEX and `loadmodule` fail as Redis's moduleLoad() fails,
// with the same log line for what it would have found first (a missing file, no execute
// permission), else saying why.
import { statSync } from 'fs';

/** moduleLoad()'s log line for `path` (Redis: "Module <path> failed to load: <dlerror()>"). */
export function moduleLoadFailure(path: string): string {
  try {
    const st = statSync(path);
    if ((st.mode & 0o111) === 0) return `Module ${path} failed to load: It does not have execute permissions.`;
  } catch {
    // dlopen() of a path that is not there: dlerror()'s text.
    return `Module ${path} failed to load: ${path}: cannot open shared object file: No such file or directory`;
  }
  return `Module ${path} failed to load: shardis cannot load Redis modules (their API is C, inside redis-server)`;
}
