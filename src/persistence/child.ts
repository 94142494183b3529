// The process that stands for a background save's fork child. Redis forks for BGSAVE, an AOF
// rewrite and a replica's full sync, and operators (and Redis's own tests) act on that child: they
// see it in `ps`, name temp files by its pid, `kill -9` it to stop a save (the save then ends
// "terminated by signal 9" and its status is an error), and count on it exiting when the server is
// killed. shardis saves from its own threads (copy-before-write, no fork), so a small process
// takes the child's place for the save's lifetime: `cat` reading a pipe only the server holds
// (native/madvise spawnStandIn; posix_spawn, no page tables copied). Killing it ends the save as
// killing Redis's child does; the server dying closes the pipe and it exits. Without the addon
// there is no stand-in: pid is the server's own and only the server ends the save.
import * as fs from 'fs';
import { sysAddon } from '../store/sysaddon';

/** Called with each stand-in's pid as it starts (its oom_score_adj: server/oom.ts). */
let onStart: ((pid: number) => void) | null = null;
export function onSaveChildStart(fn: (pid: number) => void): void {
  onStart = fn;
}

/** How often its end is looked for, as Redis's serverCron checkChildrenDone (hz 10 .. 20). */
const POLL_MS = 50;

export class SaveChild {
  /** The stand-in's pid, or this process's when none could be started. */
  readonly pid: number;
  /**
   * How it ended while the save ran: 0 running (or stopped by the server), 1-255 the exit code,
   * 256 + the signal that killed it.
   */
  status = 0;
  /** Resolves when it ends on its own (killed), never when the server stops it. */
  readonly ended: Promise<void>;
  private fd: number;
  private timer: NodeJS.Timeout | null = null;
  private onEnd: () => void = () => undefined;

  private constructor(pid: number, fd: number) {
    this.pid = pid;
    this.fd = fd;
    this.ended = new Promise((resolve) => (this.onEnd = resolve));
    if (fd >= 0) {
      this.timer = setInterval(() => this.poll(), POLL_MS);
      this.timer.unref();
    }
  }

  /** Start one titled `title` (its argv[0], what `ps` shows). */
  static start(title: string): SaveChild {
    const spawn = sysAddon?.spawnStandIn;
    if (spawn === undefined || sysAddon?.waitpid === undefined) return new SaveChild(process.pid, -1);
    const [pid, fd] = spawn(title);
    if (pid > 0) onStart?.(pid);
    return pid > 0 ? new SaveChild(pid, fd) : new SaveChild(process.pid, -1);
  }

  /** The signal that killed it (0: none). */
  get signal(): number {
    return this.status > 256 ? this.status - 256 : 0;
  }

  private poll(): void {
    const st = (sysAddon as { waitpid(pid: number): number }).waitpid(this.pid);
    if (st === -1) return;
    this.release();
    // -2: reaped elsewhere, gone all the same (as if killed). An exit on its own, even with 0,
    // is before the save finished: an error.
    this.status = st === -2 ? 256 + 9 : st === 0 ? 1 : st;
    this.onEnd();
  }

  /** The save is over (or abandoned): the stand-in goes and is reaped. Idempotent. */
  stop(): void {
    if (this.fd < 0) return;
    const pid = this.pid;
    this.release();
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone: reaped below all the same */
    }
    const wait = sysAddon as { waitpid(pid: number): number };
    let tries = 0;
    const reap = (): void => {
      if (wait.waitpid(pid) === -1 && ++tries < 200) setTimeout(reap, 5).unref();
    };
    reap();
  }

  private release(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.fd >= 0) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* closed */
      }
    }
    this.fd = -1;
  }
}

/** Thrown by a save whose stand-in child ended (was killed) while it ran. */
export class ChildEnded extends Error {
  constructor(readonly child: SaveChild) {
    super(`child ${child.pid} ended`);
  }
}
