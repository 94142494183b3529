// String commands (t_string.c): GET, SET and family.
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { def } from './def';
import { Store, T_STRING } from '../store/keyspace';
import { E_SYNTAX, E_WRONGTYPE, E_NOT_INT, is, parseI64 } from './args';

function get(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const e = s.findRead(c.db, argv[1]);
  if (e === 0) return c.w.nil();
  if (s.type(e) !== T_STRING) return c.w.error(E_WRONGTYPE);
  const off = s.strOffset(e);
  c.w.bulkRange(s.u8, off, off + s.strLen(e));
}

const F_NX = 1;
const F_XX = 2;
const F_GET = 4;
const F_KEEPTTL = 8;

/**
 * Parse SET-style options from argv[from..]: returns [flags, expireAt ms (0 none)] or an error
 * string. Expiry options: EX/PX/EXAT/PXAT; `allowed` restricts which flags may appear.
 */
export function parseExpireOptions(
  argv: Buffer[],
  from: number,
  now: number,
  cmd: string,
  allowSetFlags: boolean,
): { flags: number; expireAt: number; persist: boolean } | string {
  let flags = 0;
  let unit = '';
  let expireAt = 0;
  let persist = false;
  for (let i = from; i < argv.length; i++) {
    const a = argv[i];
    const hasNext = i + 1 < argv.length;
    if (allowSetFlags && is(a, 'nx') && !(flags & F_XX)) flags |= F_NX;
    else if (allowSetFlags && is(a, 'xx') && !(flags & F_NX)) flags |= F_XX;
    else if (allowSetFlags && is(a, 'get')) flags |= F_GET;
    else if (allowSetFlags && is(a, 'keepttl') && unit === '' && !persist) flags |= F_KEEPTTL;
    else if (!allowSetFlags && is(a, 'persist') && unit === '') persist = true;
    else if ((is(a, 'ex') || is(a, 'px') || is(a, 'exat') || is(a, 'pxat')) && unit === '' && !(flags & F_KEEPTTL) && !persist && hasNext) {
      unit = a.toString().toLowerCase();
      const v = parseI64(argv[++i]);
      if (v === null) return E_NOT_INT;
      const n = typeof v === 'bigint' ? Number(v) : v;
      const invalid = `ERR invalid expire time in '${cmd}' command`;
      if (n <= 0) return invalid;
      if ((unit === 'ex' || unit === 'exat') && n > 9223372036854775807 / 1000) return invalid;
      let ms = unit === 'ex' || unit === 'exat' ? n * 1000 : n;
      if (unit === 'ex' || unit === 'px') ms += now;
      if (ms > 9223372036854775807) return invalid;
      expireAt = ms;
    } else {
      return E_SYNTAX;
    }
  }
  return { flags, expireAt, persist };
}

function set(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const o = parseExpireOptions(argv, 3, s.now, 'set', true);
  if (typeof o === 'string') return c.w.error(o);
  const key = argv[1];
  const e = s.find(c.db, key);
  if (o.flags & F_GET) {
    if (e !== 0 && s.type(e) !== T_STRING) return c.w.error(E_WRONGTYPE);
  }
  const exists = e !== 0;
  if ((o.flags & F_NX && exists) || (o.flags & F_XX && !exists)) {
    if (o.flags & F_GET) {
      if (e === 0) c.w.nil();
      else c.w.bulk(s.strView(e));
    } else c.w.nil();
    return;
  }
  if (o.flags & F_GET) {
    if (e === 0) c.w.nil();
    else c.w.bulk(s.strView(e));
  }
  const val = argv[2];
  s.setString(c.db, key, val, Store.stringEncoding(val), o.expireAt, (o.flags & F_KEEPTTL) !== 0);
  if (!(o.flags & F_GET)) c.w.ok();
}

export const commands: CommandSpec[] = [
  def('get', 2, 'readonly fast', [1, 1, 1], 'string', 'Get the value of a key', get, { acl: ['read', 'string', 'fast'] }),
  def('set', -3, 'write denyoom', [1, 1, 1], 'string', 'Set the string value of a key', set, { acl: ['write', 'string', 'slow'] }),
];
