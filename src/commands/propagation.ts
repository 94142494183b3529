// Arguments of the commands writes are propagated as when they are not propagated as themselves
// (Redis 7.0's rewriteClientCommandVector / alsoPropagate forms): see src/server/propagate.ts
// and docs/CONTRIBUTING-commands.md.
const b = (s: string): Buffer => Buffer.from(s, 'latin1');

export const P_SET = b('SET');
export const P_PXAT = b('PXAT');
export const P_KEEPTTL = b('KEEPTTL');
export const P_DEL = b('DEL');
export const P_UNLINK = b('UNLINK');
export const P_PEXPIREAT = b('PEXPIREAT');
export const P_PERSIST = b('PERSIST');
export const P_HSET = b('HSET');
export const P_SREM = b('SREM');
export const P_LPOP = b('LPOP');
export const P_RPOP = b('RPOP');
export const P_LMOVE = b('LMOVE');
export const P_RPOPLPUSH = b('RPOPLPUSH');
export const P_ZPOPMIN = b('ZPOPMIN');
export const P_ZPOPMAX = b('ZPOPMAX');
export const P_LEFT = b('LEFT');
export const P_RIGHT = b('RIGHT');

/** An integer argument (a millisecond timestamp, a count). */
export function msArg(n: number): Buffer {
  return b(String(n));
}
