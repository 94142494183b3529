// GEO commands (Redis 7.0's geo.c) on the sorted-set store: a member's score is its 52-bit
// geohash (src/store/geohash.ts). GEOADD is ZADD with computed scores (and propagates as that
// ZADD, as Redis's replaceClientCommandVector makes it); searches scan the score ranges of the
// centre box and its neighbours, filter by the exact shape, sort as Redis does (glibc's stable
// merge sort for a full sort, Redis's pqsort for COUNT), and reply or STORE.
import type { CommandSpec, Handler } from './types';
import type { Client } from '../server/client';
import { def } from './def';
import { T_ZSET } from '../store/keyspace';
import { E_SYNTAX, E_WRONGTYPE, E_NOT_INT, is, parseI64 } from './args';
import { notifyKeyspaceEvent, NOTIFY_ZSET, NOTIFY_GENERIC } from '../server/notify';
import { commandByName } from './registry';
import { parseDouble } from './zsets';
import { ScoreRange, ZIter, zsetFromSorted, zsetScore } from '../store/zset';
import {
  GEO_LAT_MAX, GEO_LAT_MIN, GEO_LONG_MAX, GEO_LONG_MIN, GEO_STEP_MAX, type GeoShape,
  areasByShape, lastEncodedBits, decodeScore, distanceInShape, geohashEncodeWGS84, geohashGetDistance,
  scoresOfBox, standardGeohash,
} from '../store/geohash';

// ---- number formatting ----------------------------------------------------------------------

/** printf("%f"): six decimals, exact, ties to even (glibc). */
export function printfF(d: number): string {
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (Number.isNaN(d)) return d < 0 ? '-nan' : 'nan';
  const neg = d < 0 || Object.is(d, -0);
  const a = Math.abs(d);
  let s: string;
  if (a >= 1e21) s = `${BigInt(a)}.000000`;
  else if (Number.isInteger(a * 128)) {
    // A dyadic value with few fraction bits: a*10^6 may end in exactly .5, where toFixed rounds
    // up and glibc to even. Compute it exactly.
    const v = BigInt(a * 128) * 1000000n;
    let q = v / 128n;
    const r = v % 128n;
    if (r > 64n || (r === 64n && (q & 1n) === 1n)) q++;
    const ds = q.toString().padStart(7, '0');
    s = `${ds.slice(0, -6)}.${ds.slice(-6)}`;
  } else s = a.toFixed(6);
  return neg ? `-${s}` : s;
}

/** fixedpoint_d2string(d, 4): llrint(d * 10^4) (ties to even) as digits with a point. */
function distanceString(d: number): string {
  if (d === 0) return '0.0000';
  const v = d * 10000;
  let r = Math.round(v);
  if (r - v === 0.5 && r % 2 !== 0) r -= 1; // Math.round takes halves up; llrint to even
  const neg = r < 0;
  const s = String(Math.abs(r)).padStart(5, '0');
  return `${neg ? '-' : ''}${s.slice(0, -4)}.${s.slice(-4)}`;
}

/** ld2string(LD_STR_HUMAN) of a double: "%.17Lf" without trailing zeros, "-0" as "0". */
function humanDouble(d: number): string {
  let s: string;
  if (Number.isInteger(d * 262144) && Math.abs(d) < 1e15) {
    // Exactly 18 fraction bits at most: the 17th decimal may be an exact tie; glibc rounds it to
    // even, toFixed up. Exact digits by BigInt.
    const v = BigInt(Math.abs(d) * 262144) * 10n ** 17n;
    let q = v / 262144n;
    const r = v % 262144n;
    if (r > 131072n || (r === 131072n && (q & 1n) === 1n)) q++;
    const ds = q.toString().padStart(18, '0');
    s = `${d < 0 ? '-' : ''}${ds.slice(0, -17)}.${ds.slice(-17)}`;
  } else s = d.toFixed(17);
  let end = s.length;
  while (s.charCodeAt(end - 1) === 0x30) end--;
  if (s.charCodeAt(end - 1) === 0x2e) end--;
  s = s.slice(0, end);
  return s === '-0' ? '0' : s;
}

/** addReplyHumanLongDouble: RESP2 bulk string, RESP3 double, both in ld2string's human form. */
function replyHumanDouble(c: Client, d: number): void {
  const s = humanDouble(d);
  if (c.w.resp === 3) c.w.raw(`,${s}\r\n`);
  else c.w.bulkStr(s);
}

// ---- argument helpers -----------------------------------------------------------------------

const xy = new Float64Array(2);

/** extractLongLatOrReply: longitude then latitude into out; false after replying an error. */
function extractLongLat(c: Client, lonArg: Buffer, latArg: Buffer, out: Float64Array): boolean {
  const lon = parseDouble(lonArg);
  if (lon === null) {
    c.w.error('ERR value is not a valid float');
    return false;
  }
  const lat = parseDouble(latArg);
  if (lat === null) {
    c.w.error('ERR value is not a valid float');
    return false;
  }
  out[0] = lon;
  out[1] = lat;
  if (lon < GEO_LONG_MIN || lon > GEO_LONG_MAX || lat < GEO_LAT_MIN || lat > GEO_LAT_MAX) {
    c.w.error(`ERR invalid longitude,latitude pair ${printfF(lon)},${printfF(lat)}`);
    return false;
  }
  return true;
}

/** extractUnitOrReply: meters per unit, or -1 after replying an error. */
function extractUnit(c: Client, u: Buffer): number {
  if (is(u, 'm')) return 1;
  if (is(u, 'km')) return 1000;
  if (is(u, 'ft')) return 0.3048;
  if (is(u, 'mi')) return 1609.34;
  c.w.error('ERR unsupported unit provided. please use M, KM, FT, MI');
  return -1;
}

/** extractDistanceOrReply into shape.radius / shape.conversion. */
function extractDistance(c: Client, argv: Buffer[], at: number, shape: GeoShape): boolean {
  const d = parseDouble(argv[at]);
  if (d === null) {
    c.w.error('ERR need numeric radius');
    return false;
  }
  if (d < 0) {
    c.w.error('ERR radius cannot be negative');
    return false;
  }
  shape.radius = d;
  const m = extractUnit(c, argv[at + 1]);
  if (m < 0) return false;
  shape.conversion = m;
  return true;
}

/** extractBoxOrReply into shape.width / height / conversion. */
function extractBox(c: Client, argv: Buffer[], at: number, shape: GeoShape): boolean {
  const w = parseDouble(argv[at]);
  if (w === null) {
    c.w.error('ERR need numeric width');
    return false;
  }
  const h = parseDouble(argv[at + 1]);
  if (h === null) {
    c.w.error('ERR need numeric height');
    return false;
  }
  if (h < 0 || w < 0) {
    c.w.error('ERR height or width cannot be negative');
    return false;
  }
  shape.height = h;
  shape.width = w;
  const m = extractUnit(c, argv[at + 2]);
  if (m < 0) return false;
  shape.conversion = m;
  return true;
}

/** The zset at key for reading (0: none), or -1 after a WRONGTYPE reply. */
function lookupZset(c: Client, key: Uint8Array): number {
  const s = c.store;
  const e = s.findRead(c.db, key);
  if (e === 0) return 0;
  if (s.type(e) !== T_ZSET) {
    c.w.error(E_WRONGTYPE);
    return -1;
  }
  return e;
}

function memberScore(c: Client, e: number, m: Uint8Array): number | null {
  const s = c.store;
  return zsetScore(s.heap, s.encoding(e), s.objPtr(e), m);
}

// ---- GEOADD ---------------------------------------------------------------------------------

let zaddHandler: Handler | null = null;
const ZADD = Buffer.from('zadd');

function geoadd(c: Client, argv: Buffer[]): void {
  let xx = false;
  let nx = false;
  let longidx = 2;
  while (longidx < argv.length) {
    const opt = argv[longidx];
    if (is(opt, 'nx')) nx = true;
    else if (is(opt, 'xx')) xx = true;
    else if (!is(opt, 'ch')) break; // CH is ZADD's
    longidx++;
  }
  if ((argv.length - longidx) % 3 !== 0 || (xx && nx)) return c.w.error(E_SYNTAX);
  const elements = (argv.length - longidx) / 3;
  const zargv: Buffer[] = [ZADD];
  for (let i = 1; i < longidx; i++) zargv.push(argv[i]);
  for (let i = 0; i < elements; i++) {
    const at = longidx + i * 3;
    if (!extractLongLat(c, argv[at], argv[at + 1], xy)) return;
    const h = geohashEncodeWGS84(xy[0], xy[1], GEO_STEP_MAX);
    // sdsfromlonglong of the exact 64-bit value (ZADD's strtod then rounds it as Redis's does).
    // (A number below 2^53 is exact; only the range's very edge needs the 64-bit value.)
    let digits: string;
    if (h === null || h.bits === 0) digits = '0';
    else if (h.bits < 9007199254740992) digits = String(h.bits);
    else digits = lastEncodedBits().toString();
    zargv.push(Buffer.from(digits, 'latin1'), argv[at + 2]);
  }
  // The command becomes that ZADD (replaceClientCommandVector): it runs and propagates as it.
  const p = c.srv.prop;
  if (p.on()) p.propagateAs(zargv.map((b) => Buffer.from(b)));
  if (zaddHandler === null) zaddHandler = (commandByName('zadd') as CommandSpec).handler;
  zaddHandler(c, zargv);
}

// ---- GEOPOS / GEOHASH / GEODIST ---------------------------------------------------------------

function geopos(c: Client, argv: Buffer[]): void {
  const e = lookupZset(c, argv[1]);
  if (e < 0) return;
  c.w.array(argv.length - 2);
  for (let j = 2; j < argv.length; j++) {
    const score = e === 0 ? null : memberScore(c, e, argv[j]);
    if (score === null) {
      c.w.nilArray();
      continue;
    }
    decodeScore(score, xy);
    c.w.array(2);
    replyHumanDouble(c, xy[0]);
    replyHumanDouble(c, xy[1]);
  }
}

function geohash(c: Client, argv: Buffer[]): void {
  const e = lookupZset(c, argv[1]);
  if (e < 0) return;
  c.w.array(argv.length - 2);
  for (let j = 2; j < argv.length; j++) {
    const score = e === 0 ? null : memberScore(c, e, argv[j]);
    if (score === null) c.w.nil();
    else c.w.bulkStr(standardGeohash(score));
  }
}

function geodist(c: Client, argv: Buffer[]): void {
  let toMeter = 1;
  if (argv.length === 5) {
    toMeter = extractUnit(c, argv[4]);
    if (toMeter < 0) return;
  } else if (argv.length > 5) return c.w.error(E_SYNTAX);
  const e = lookupZset(c, argv[1]);
  if (e < 0) return;
  if (e === 0) return c.w.nil();
  const s1 = memberScore(c, e, argv[2]);
  const s2 = s1 === null ? null : memberScore(c, e, argv[3]);
  if (s1 === null || s2 === null) return c.w.nil();
  decodeScore(s1, xy);
  const x1 = xy[0];
  const y1 = xy[1];
  decodeScore(s2, xy);
  c.w.bulkStr(distanceString(geohashGetDistance(x1, y1, xy[0], xy[1]) / toMeter));
}

// ---- searches ---------------------------------------------------------------------------------

const RADIUS_COORDS = 1;
const RADIUS_MEMBER = 2;
const RADIUS_NOSTORE = 4;
const GEOSEARCH = 8;
const GEOSEARCHSTORE = 16;

const SORT_NONE = 0;
const SORT_ASC = 1;
const SORT_DESC = 2;

interface GeoPoint {
  lon: number;
  lat: number;
  dist: number;
  score: number;
  member: Buffer;
}

const iter = new ZIter();
const range = new ScoreRange();

/** geoGetPointsInRange: members with min <= score < max inside the shape, appended to out. */
function pointsInRange(c: Client, e: number, min: number, max: number, shape: GeoShape, out: GeoPoint[], limit: number): void {
  const s = c.store;
  range.min = min;
  range.max = max;
  range.minex = false;
  range.maxex = true;
  const z = iter.init(s.heap, s.encoding(e), s.objPtr(e));
  if (!z.firstInRange(range)) return;
  while (z.p !== 0) {
    z.load();
    if (!z.lteMax(range)) break;
    decodeScore(z.score, xy);
    const dist = distanceInShape(shape, xy[0], xy[1]);
    if (dist >= 0) out.push({ lon: xy[0], lat: xy[1], dist, score: z.score, member: z.member() });
    if (out.length !== 0 && limit !== 0 && out.length >= limit) break;
    z.next();
  }
}

/** membersOfAllNeighbors. */
function membersOfAllNeighbors(c: Client, e: number, shape: GeoShape, out: GeoPoint[], limit: number): void {
  const boxes = areasByShape(shape);
  let last = 0;
  for (let i = 0; i < boxes.length; i++) {
    const b = boxes[i];
    if (b.bits === 0n && b.step === 0) continue;
    // Huge radii make adjacent neighbours the same box: skip one equal to the last processed
    // (never compared with the centre box: Redis's last_processed starts at 0, meaning none).
    if (last !== 0 && b.bits === boxes[last].bits && b.step === boxes[last].step) continue;
    if (out.length !== 0 && limit !== 0 && out.length >= limit) break;
    const [min, max] = scoresOfBox(b);
    pointsInRange(c, e, min, max, shape, out, limit);
    last = i;
  }
}

const cmpAsc = (a: GeoPoint, b: GeoPoint): number => (a.dist > b.dist ? 1 : a.dist === b.dist ? 0 : -1);
const cmpDesc = (a: GeoPoint, b: GeoPoint): number => -cmpAsc(a, b);

/**
 * Redis's pqsort (pqsort.c, NetBSD's qsort limited to the ranks lrange..rrange): the same swaps
 * as the C code, so elements of equal distance come out in the same order.
 */
function pqsort(a: GeoPoint[], cmp: (x: GeoPoint, y: GeoPoint) => number, lrange: number, rrange: number): void {
  const swap = (i: number, j: number): void => {
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  };
  const vecswap = (i: number, j: number, n: number): void => {
    for (let k = 0; k < n; k++) swap(i + k, j + k);
  };
  const med3 = (x: number, y: number, z: number): number =>
    cmp(a[x], a[y]) < 0 ? (cmp(a[y], a[z]) < 0 ? y : cmp(a[x], a[z]) < 0 ? z : x) : cmp(a[y], a[z]) > 0 ? y : cmp(a[x], a[z]) < 0 ? x : z;
  const sort = (base: number, n: number): void => {
    for (;;) {
      if (n < 7) {
        for (let pm = base + 1; pm < base + n; pm++) for (let pl = pm; pl > base && cmp(a[pl - 1], a[pl]) > 0; pl--) swap(pl, pl - 1);
        return;
      }
      let pm = base + (n >>> 1);
      if (n > 7) {
        let pl = base;
        let pn = base + n - 1;
        if (n > 40) {
          const d = n >>> 3;
          pl = med3(pl, pl + d, pl + 2 * d);
          pm = med3(pm - d, pm, pm + d);
          pn = med3(pn - 2 * d, pn - d, pn);
        }
        pm = med3(pl, pm, pn);
      }
      swap(base, pm);
      let pa = base + 1;
      let pb = pa;
      let pc = base + n - 1;
      let pd = pc;
      for (;;) {
        let r: number;
        while (pb <= pc && (r = cmp(a[pb], a[base])) <= 0) {
          if (r === 0) swap(pa++, pb);
          pb++;
        }
        while (pb <= pc && (r = cmp(a[pc], a[base])) >= 0) {
          if (r === 0) swap(pc, pd--);
          pc--;
        }
        if (pb > pc) break;
        swap(pb++, pc--);
      }
      const pn = base + n;
      let r = Math.min(pa - base, pb - pa);
      vecswap(base, pb - r, r);
      r = Math.min(pd - pc, pn - pd - 1);
      vecswap(pb, pn - r, r);
      // Recurse only into parts that overlap the wanted ranks.
      if ((r = pb - pa) > 1) {
        const l = base;
        const rr = base + r - 1;
        if (!((lrange < l && rrange < l) || (lrange > rr && rrange > rr))) sort(base, r);
      }
      if ((r = pd - pc) > 1) {
        base = pn - r;
        n = r;
        const l = base;
        const rr = base + r - 1;
        if (!((lrange < l && rrange < l) || (lrange > rr && rrange > rr))) continue;
      }
      return;
    }
  };
  sort(0, a.length);
}

function newShape(): GeoShape {
  return { circle: true, lon: 0, lat: 0, conversion: 0, radius: 0, width: 0, height: 0, bounds: [0, 0, 0, 0] };
}

/** georadiusGeneric: GEORADIUS[BYMEMBER][_RO], GEOSEARCH, GEOSEARCHSTORE. */
function georadiusGeneric(c: Client, argv: Buffer[], srcKeyIndex: number, flags: number): void {
  let storekey: Buffer | null = null;
  let storedist = false;
  const e = lookupZset(c, argv[srcKeyIndex]);
  if (e < 0) return;
  let baseArgs: number;
  const shape = newShape();
  if (flags & RADIUS_COORDS) {
    baseArgs = 6;
    shape.circle = true;
    if (!extractLongLat(c, argv[2], argv[3], xy)) return;
    shape.lon = xy[0];
    shape.lat = xy[1];
    if (!extractDistance(c, argv, baseArgs - 2, shape)) return;
  } else if ((flags & RADIUS_MEMBER) && e === 0) {
    baseArgs = 5;
  } else if (flags & RADIUS_MEMBER) {
    baseArgs = 5;
    shape.circle = true;
    const score = memberScore(c, e, argv[2]);
    if (score === null) return c.w.error('ERR could not decode requested zset member');
    decodeScore(score, xy);
    shape.lon = xy[0];
    shape.lat = xy[1];
    if (!extractDistance(c, argv, baseArgs - 2, shape)) return;
  } else {
    baseArgs = 2;
    if (flags & GEOSEARCHSTORE) {
      baseArgs = 3;
      storekey = argv[1];
    }
  }

  let withdist = false;
  let withhash = false;
  let withcoords = false;
  let frommember = false;
  let fromloc = false;
  let byradius = false;
  let bybox = false;
  let sort = SORT_NONE;
  let any = false;
  let count = 0;
  const remaining = argv.length - baseArgs;
  for (let i = 0; i < remaining; i++) {
    const arg = argv[baseArgs + i];
    if (is(arg, 'withdist')) withdist = true;
    else if (is(arg, 'withhash')) withhash = true;
    else if (is(arg, 'withcoord')) withcoords = true;
    else if (is(arg, 'any')) any = true;
    else if (is(arg, 'asc')) sort = SORT_ASC;
    else if (is(arg, 'desc')) sort = SORT_DESC;
    else if (is(arg, 'count') && i + 1 < remaining) {
      const n = parseI64(argv[baseArgs + i + 1]);
      if (n === null) return c.w.error(E_NOT_INT);
      if (n <= 0) return c.w.error('ERR COUNT must be > 0');
      count = Number(n);
      i++;
    } else if (is(arg, 'store') && i + 1 < remaining && !(flags & RADIUS_NOSTORE) && !(flags & GEOSEARCH)) {
      storekey = argv[baseArgs + i + 1];
      storedist = false;
      i++;
    } else if (is(arg, 'storedist') && i + 1 < remaining && !(flags & RADIUS_NOSTORE) && !(flags & GEOSEARCH)) {
      storekey = argv[baseArgs + i + 1];
      storedist = true;
      i++;
    } else if (is(arg, 'storedist') && flags & GEOSEARCH && flags & GEOSEARCHSTORE) {
      storedist = true;
    } else if (is(arg, 'frommember') && i + 1 < remaining && flags & GEOSEARCH && !fromloc) {
      if (e === 0) {
        // No source key: go on parsing, the reply is decided after.
        frommember = true;
        i++;
        continue;
      }
      const score = memberScore(c, e, argv[baseArgs + i + 1]);
      if (score === null) return c.w.error('ERR could not decode requested zset member');
      decodeScore(score, xy);
      shape.lon = xy[0];
      shape.lat = xy[1];
      frommember = true;
      i++;
    } else if (is(arg, 'fromlonlat') && i + 2 < remaining && flags & GEOSEARCH && !frommember) {
      if (!extractLongLat(c, argv[baseArgs + i + 1], argv[baseArgs + i + 2], xy)) return;
      shape.lon = xy[0];
      shape.lat = xy[1];
      fromloc = true;
      i += 2;
    } else if (is(arg, 'byradius') && i + 2 < remaining && flags & GEOSEARCH && !bybox) {
      if (!extractDistance(c, argv, baseArgs + i + 1, shape)) return;
      shape.circle = true;
      byradius = true;
      i += 2;
    } else if (is(arg, 'bybox') && i + 3 < remaining && flags & GEOSEARCH && !byradius) {
      if (!extractBox(c, argv, baseArgs + i + 1, shape)) return;
      shape.circle = false;
      bybox = true;
      i += 3;
    } else return c.w.error(E_SYNTAX);
  }

  if (storekey !== null && (withdist || withhash || withcoords)) {
    return c.w.error(`ERR ${flags & GEOSEARCHSTORE ? 'GEOSEARCHSTORE' : 'STORE option in GEORADIUS'} is not compatible with WITHDIST, WITHHASH and WITHCOORD options`);
  }
  if (flags & GEOSEARCH && !(frommember || fromloc)) {
    return c.w.error(`ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for ${argv[0].toString('latin1')}`, true);
  }
  if (flags & GEOSEARCH && !(byradius || bybox)) {
    return c.w.error(`ERR exactly one of BYRADIUS and BYBOX can be specified for ${argv[0].toString('latin1')}`, true);
  }
  if (any && count === 0) return c.w.error('ERR the ANY argument requires COUNT argument');

  const s = c.store;
  if (e === 0) {
    if (storekey !== null) {
      if (s.delete(c.db, storekey)) notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', storekey, c.db);
      return c.w.int(0);
    }
    return c.w.array(0);
  }

  // COUNT without an order means the closest ones (not with ANY).
  if (count !== 0 && sort === SORT_NONE && !any) sort = SORT_ASC;

  const ga: GeoPoint[] = [];
  membersOfAllNeighbors(c, e, shape, ga, any ? count : 0);
  if (ga.length === 0 && storekey === null) return c.w.array(0);

  const resultLength = ga.length;
  const returned = count === 0 || resultLength < count ? resultLength : count;
  if (sort !== SORT_NONE) {
    const cmp = sort === SORT_ASC ? cmpAsc : cmpDesc;
    // glibc 2.36's qsort is a stable merge sort, as Array.prototype.sort.
    if (returned === resultLength) ga.sort(cmp);
    else pqsort(ga, cmp, 0, returned - 1);
  }

  if (storekey === null) {
    const options = (withdist ? 1 : 0) + (withcoords ? 1 : 0) + (withhash ? 1 : 0);
    c.w.array(returned);
    for (let i = 0; i < returned; i++) {
      const gp = ga[i];
      const dist = gp.dist / shape.conversion;
      if (options) c.w.array(options + 1);
      c.w.bulk(gp.member);
      if (withdist) c.w.bulkStr(distanceString(dist));
      if (withhash) c.w.int(Math.trunc(gp.score));
      if (withcoords) {
        c.w.array(2);
        replyHumanDouble(c, gp.lon);
        replyHumanDouble(c, gp.lat);
      }
    }
    return;
  }

  if (returned !== 0) {
    // The result as a sorted set: sorted by (score, member) for the store's builder.
    const items: Array<[number, Buffer]> = [];
    for (let i = 0; i < returned; i++) {
      const gp = ga[i];
      items.push([storedist ? gp.dist / shape.conversion : gp.score, gp.member]);
    }
    items.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : Buffer.compare(x[1], y[1])));
    const lim = { maxEntries: c.srv.config.num('zset-max-listpack-entries'), maxValue: c.srv.config.num('zset-max-listpack-value') };
    const [enc, obj] = zsetFromSorted(s.heap, items.map((x) => x[1]), items.map((x) => x[0]), lim);
    s.replaceWithObject(c.db, storekey, T_ZSET, enc, obj);
    if (returned > 1) s.dirty += returned - 1; // replaceWithObject counted one
    notifyKeyspaceEvent(c, NOTIFY_ZSET, flags & GEOSEARCH ? 'geosearchstore' : 'georadiusstore', storekey, c.db);
  } else if (s.delete(c.db, storekey)) {
    notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', storekey, c.db);
  }
  c.w.int(returned);
}

/**
 * GEORADIUS[BYMEMBER]'s keys: the source, then what its key specs find (the first STORE and the
 * first STOREDIST key, searched from argument startfrom), and the key the command actually
 * writes (the last STORE/STOREDIST, as georadiusGetKeys finds it) when that is another one, so
 * that its slot is locked too.
 */
function georadiusKeys(startfrom: number): (argv: Buffer[]) => number[] {
  return (argv) => {
    const keys = [1];
    for (const kw of ['store', 'storedist']) {
      for (let i = startfrom; i < argv.length - 1; i++) {
        if (is(argv[i], kw)) {
          keys.push(i + 1);
          break;
        }
      }
    }
    let last = -1;
    for (let i = 5; i < argv.length; i++) {
      if ((is(argv[i], 'store') || is(argv[i], 'storedist')) && i + 1 < argv.length) {
        last = i + 1;
        i++;
      }
    }
    if (last > 0 && !keys.includes(last)) keys.push(last);
    return keys;
  };
}

const R = { acl: ['read', 'geo', 'slow'] };
const W = { acl: ['write', 'geo', 'slow'] };
const SEARCH_CX = 'O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.';
const BOX_CX = 'O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape';

export const commands: CommandSpec[] = [
  def('geoadd', -5, 'write denyoom', [1, 1, 1], 'geo', 'Add one or more geospatial items in the geospatial index represented using a sorted set', geoadd, { ...W, since: '3.2.0', complexity: 'O(log(N)) for each item added, where N is the number of elements in the sorted set.' }),
  def('geodist', -4, 'readonly', [1, 1, 1], 'geo', 'Returns the distance between two members of a geospatial index', geodist, { ...R, since: '3.2.0', complexity: 'O(log(N))' }),
  def('geohash', -2, 'readonly', [1, 1, 1], 'geo', 'Returns members of a geospatial index as standard geohash strings', geohash, { ...R, since: '3.2.0', complexity: 'O(log(N)) for each member requested, where N is the number of elements in the sorted set.' }),
  def('geopos', -2, 'readonly', [1, 1, 1], 'geo', 'Returns longitude and latitude of members of a geospatial index', geopos, { ...R, since: '3.2.0', complexity: 'O(N) where N is the number of members requested.' }),
  def('georadius', -6, 'write denyoom movablekeys', [1, 1, 1], 'geo', 'Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point', (c, a) => georadiusGeneric(c, a, 1, RADIUS_COORDS), { ...W, since: '3.2.0', complexity: SEARCH_CX, keys: georadiusKeys(6) }),
  def('georadius_ro', -6, 'readonly', [1, 1, 1], 'geo', 'A read-only variant for GEORADIUS', (c, a) => georadiusGeneric(c, a, 1, RADIUS_COORDS | RADIUS_NOSTORE), { ...R, since: '3.2.10', complexity: SEARCH_CX }),
  def('georadiusbymember', -5, 'write denyoom movablekeys', [1, 1, 1], 'geo', 'Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member', (c, a) => georadiusGeneric(c, a, 1, RADIUS_MEMBER), { ...W, since: '3.2.0', complexity: SEARCH_CX, keys: georadiusKeys(5) }),
  def('georadiusbymember_ro', -5, 'readonly', [1, 1, 1], 'geo', 'A read-only variant for GEORADIUSBYMEMBER', (c, a) => georadiusGeneric(c, a, 1, RADIUS_MEMBER | RADIUS_NOSTORE), { ...R, since: '3.2.10', complexity: SEARCH_CX }),
  def('geosearch', -7, 'readonly', [1, 1, 1], 'geo', 'Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.', (c, a) => georadiusGeneric(c, a, 1, GEOSEARCH), { ...R, since: '6.2.0', complexity: BOX_CX }),
  def('geosearchstore', -8, 'write denyoom', [1, 2, 1], 'geo', 'Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.', (c, a) => georadiusGeneric(c, a, 2, GEOSEARCH | GEOSEARCHSTORE), { ...W, since: '6.2.0', complexity: BOX_CX }),
];
