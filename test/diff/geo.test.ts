// Differential tests (redis-server vs shardis) for the GEO commands: scores, coordinates and
// distances formatted as Redis formats them (RESP2 and RESP3), every search option, STORE
// results, errors, and randomized searches over both sorted-set encodings.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { script, startPair, type Pair, type Script } from '../helpers/diff';
import { rng } from '../helpers/util';

let d: Pair;
beforeAll(async () => {
  d = await startPair();
});
afterAll(async () => {
  await d?.stop();
});

// Distances are bit-identical with redis-server only through the C library's sin/cos/asin.
it('native/libm is built (npm run build needs cc and Node headers)', () => {
  expect(existsSync('dist/libm.node'), 'dist/libm.node is missing: GEO distances would differ in the last bit').toBe(true);
});

const same = (text: string, opts?: { resp3?: boolean }) => d.expectSame(script(text), opts);

const SICILY = 'GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 12.758489 38.788135 edge1 17.241510 38.788135 edge2';

describe('GEOADD / GEOPOS / GEOHASH / GEODIST', () => {
  it('basics and options', () =>
    same(`
      ${SICILY}
      ZRANGE Sicily 0 -1 WITHSCORES
      OBJECT ENCODING Sicily
      GEOADD Sicily NX 13.361389 38.115556 Palermo 1 1 new
      GEOADD Sicily XX 1 1 Palermo 2 2 other
      GEOADD Sicily CH 13.361389 38.115556 Palermo 2 2 new
      GEOADD Sicily XX CH NX 1 1 a
      GEOADD Sicily nx xx 1 1 a
      GEOADD Sicily CH 1 1
      GEOADD Sicily 1 1 a 2
      GEOADD Sicily 200 10 a
      GEOADD Sicily 10 86 a
      GEOADD Sicily 10 -85.06 a
      GEOADD Sicily -180.0000001 0 a
      GEOADD Sicily 100.0078125 100 a
      GEOADD Sicily 1e300 -1e-7 a
      GEOADD Sicily inf 0 a
      GEOADD Sicily nan 0 a
      GEOADD Sicily abc 0 a
      GEOADD Sicily 0 abc a
      GEOADD Sicily GT 1 1 a
      GEOADD Sicily 180 85.05112878 ne -180 -85.05112878 sw 0 0 zero -0 -0 negzero
      ZRANGE Sicily 0 -1 WITHSCORES
      GEOPOS Sicily Palermo Catania nope ne sw zero negzero new
      GEOPOS Sicily
      GEOPOS nokey a b
      GEOHASH Sicily Palermo Catania nope ne sw zero
      GEOHASH nokey a
      GEODIST Sicily Palermo Catania
      GEODIST Sicily Palermo Catania km
      GEODIST Sicily Palermo Catania KM
      GEODIST Sicily Palermo Catania mi
      GEODIST Sicily Palermo Catania ft
      GEODIST Sicily Palermo Catania m
      GEODIST Sicily Palermo Catania furlong
      GEODIST Sicily Palermo Catania km extra
      GEODIST Sicily Palermo Palermo
      GEODIST Sicily Palermo nope
      GEODIST Sicily nope Palermo
      GEODIST nokey a b
      GEODIST nokey a b furlong
      GEODIST Sicily ne sw
      GEODIST Sicily zero negzero km
      SET str x
      GEOADD str 1 1 a
      GEOPOS str a
      GEOHASH str a
      GEODIST str a b
      GEORADIUS str 1 1 1 km
      GEOSEARCH str FROMLONLAT 1 1 BYRADIUS 1 km
      GEOADD
      GEOADD k 1 1
      GEODIST k a
    `));

  it('a zset whose scores are not geohashes', () =>
    same(`
      ZADD z -1 neg 0 zero 1.5 frac 4503599627370496 big 9007199254740993 huge 1e30 vbig inf pinf -inf ninf -9.3e18 vneg
      GEOPOS z neg zero frac big huge vbig pinf ninf vneg
      GEOHASH z neg zero frac big huge vbig pinf ninf vneg
      GEODIST z neg big
      GEODIST z pinf ninf
      GEOSEARCH z FROMMEMBER zero BYRADIUS 100 km WITHHASH WITHCOORD
      GEOSEARCH z FROMMEMBER frac BYBOX 1000 1000 km WITHHASH WITHCOORD WITHDIST
    `));
});

describe('GEORADIUS / GEORADIUSBYMEMBER / GEOSEARCH / GEOSEARCHSTORE', () => {
  it('replies with every option', () =>
    same(`
      ${SICILY}
      GEORADIUS Sicily 15 37 200 km
      GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH
      GEORADIUS Sicily 15 37 200 km withhash withcoord withdist ASC
      GEORADIUS Sicily 15 37 200 km WITHDIST DESC
      GEORADIUS Sicily 15 37 200 km COUNT 1
      GEORADIUS Sicily 15 37 200 km COUNT 1 DESC WITHDIST
      GEORADIUS Sicily 15 37 200 km COUNT 2 ANY
      GEORADIUS Sicily 15 37 200 km COUNT 1 ANY ASC WITHCOORD
      GEORADIUS Sicily 15 37 200 km ANY
      GEORADIUS Sicily 15 37 200 km COUNT 0
      GEORADIUS Sicily 15 37 200 km COUNT -1
      GEORADIUS Sicily 15 37 200 km COUNT x
      GEORADIUS Sicily 15 37 200 km COUNT
      GEORADIUS Sicily 15 37 200 km WITHDIST garbage
      GEORADIUS Sicily 15 37 200 parsecs
      GEORADIUS Sicily 15 37 -1 km
      GEORADIUS Sicily 15 37 x km
      GEORADIUS Sicily 15 137 200 km
      GEORADIUS Sicily 15 37 0 km
      GEORADIUS Sicily 13.361389 38.115556 0 km WITHDIST
      GEORADIUS Sicily 15 37 20000 km WITHDIST
      GEORADIUS Sicily 15 37 200 mi WITHDIST
      GEORADIUS Sicily 15 37 200000 ft WITHDIST
      GEORADIUS Sicily 15 37 200000 m WITHDIST
      GEORADIUS nokey 15 37 200 km
      GEORADIUS_RO Sicily 15 37 200 km WITHDIST
      GEORADIUS_RO Sicily 15 37 200 km STORE x
      GEORADIUSBYMEMBER Sicily Palermo 200 km WITHDIST
      GEORADIUSBYMEMBER Sicily nope 200 km
      GEORADIUSBYMEMBER nokey nope 200 km
      GEORADIUSBYMEMBER nokey nope 200 km STORE x
      GEORADIUSBYMEMBER_RO Sicily Palermo 100 km WITHCOORD
      GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC WITHDIST
      GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 400 400 km DESC WITHDIST WITHCOORD
      GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 400 100 km
      GEOSEARCH Sicily FROMMEMBER Palermo BYBOX 40 400 km
      GEOSEARCH Sicily FROMMEMBER nope BYBOX 400 400 km
      GEOSEARCH nokey FROMMEMBER nope BYBOX 400 400 km
      GEOSEARCH Sicily FROMLONLAT 15 37 FROMMEMBER Palermo BYRADIUS 200 km
      GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 15 37 BYRADIUS 200 km
      GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km BYBOX 1 1 km
      geosearch Sicily BYRADIUS 200 km
      GeoSearch Sicily FROMLONLAT 15 37
      GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX -1 1 km
      GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX x 1 km
      GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 x km
      GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 yards
      GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE x
      GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST
      GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1 ANY WITHHASH
      GEOSEARCH Sicily FROMLONLAT 0 0 BYRADIUS 1 km
    `));

  it('STORE and STOREDIST', () =>
    same(`
      ${SICILY}
      SET dst junk
      EXPIRE dst 1000
      GEORADIUS Sicily 15 37 200 km STORE dst
      TYPE dst
      TTL dst
      ZRANGE dst 0 -1 WITHSCORES
      GEORADIUS Sicily 15 37 200 km STOREDIST dst
      ZRANGE dst 0 -1 WITHSCORES
      GEORADIUS Sicily 15 37 200 km STORE a STOREDIST b
      EXISTS a
      ZRANGE b 0 -1 WITHSCORES
      GEORADIUS Sicily 15 37 200 km COUNT 1 DESC STORE dst
      ZRANGE dst 0 -1 WITHSCORES
      GEORADIUS Sicily 15 37 200 km STORE dst WITHDIST
      GEORADIUS Sicily 15 37 1 km STORE dst
      EXISTS dst
      GEORADIUS Sicily 15 37 1 km STORE dst
      GEORADIUSBYMEMBER Sicily Palermo 200 km STORE dst2
      ZRANGE dst2 0 -1 WITHSCORES
      OBJECT ENCODING dst2
      GEORADIUS nokey 15 37 200 km STORE dst2
      EXISTS dst2
      GEOSEARCHSTORE d3 Sicily FROMLONLAT 15 37 BYBOX 400 400 km
      ZRANGE d3 0 -1 WITHSCORES
      GEOSEARCHSTORE d3 Sicily FROMLONLAT 15 37 BYBOX 400 400 km STOREDIST COUNT 2
      ZRANGE d3 0 -1 WITHSCORES
      GEOSEARCHSTORE d3 Sicily FROMLONLAT 15 37 BYBOX 400 400 km WITHDIST
      GEOSEARCHSTORE d3 Sicily FROMLONLAT 15 37 BYBOX 400 400 km STORE x
      GEOSEARCHSTORE d3 nokey FROMLONLAT 15 37 BYBOX 400 400 km
      EXISTS d3
      GEOSEARCHSTORE Sicily Sicily FROMMEMBER Palermo BYRADIUS 10 km
      ZRANGE Sicily 0 -1 WITHSCORES
    `));

  it('COMMAND INFO and GETKEYS', () =>
    same(`
      COMMAND INFO geoadd geodist geohash geopos georadius georadius_ro georadiusbymember georadiusbymember_ro geosearch geosearchstore
      COMMAND GETKEYS GEORADIUS src 1 1 1 km STORE dst
      COMMAND GETKEYS GEORADIUS src 1 1 1 km STORE a STOREDIST b
      COMMAND GETKEYS GEORADIUSBYMEMBER src m 1 km STOREDIST b
      COMMAND GETKEYS GEOSEARCHSTORE dst src FROMLONLAT 1 1 BYRADIUS 1 km
    `));

  it('ties: equal distances come out in the order of the sorts Redis uses (pqsort for COUNT)', async () => {
    const steps: Script = [];
    for (let i = 1; i <= 60; i++) steps.push(['GEOADD', 't', `10.${i % 3}`, '20', `m${i}`]);
    steps.push(
      ['GEORADIUS', 't', '10', '20', '500', 'km', 'COUNT', '7', 'ASC', 'WITHDIST'],
      ['GEORADIUS', 't', '10', '20', '500', 'km', 'COUNT', '25', 'DESC'],
      ['GEOSEARCH', 't', 'FROMLONLAT', '10.1', '20', 'BYBOX', '500', '500', 'km', 'COUNT', '3'],
      ['GEOSEARCH', 't', 'FROMLONLAT', '10.1', '20', 'BYBOX', '500', '500', 'km', 'ASC'],
      ['GEOSEARCHSTORE', 'o', 't', 'FROMLONLAT', '10.1', '20', 'BYBOX', '500', '500', 'km', 'COUNT', '9', 'DESC', 'STOREDIST'],
      ['ZRANGE', 'o', '0', '-1', 'WITHSCORES'],
    );
    await d.expectSame(steps);
  });

  it('randomized searches over listpack and skiplist sets, with ties', async () => {
    for (const seed of [11, 12]) {
      const r = rng(seed);
      const steps: Script = [];
      // Clustered points (many searches find several), a few exact duplicates (equal distances:
      // the order of ties follows Redis's sorts), members that are integers (listpack ints).
      const n = seed === 11 ? 100 : 600;
      const cx = r() * 300 - 150;
      const cy = r() * 140 - 70;
      let add: string[] = ['GEOADD', 'pts'];
      for (let i = 0; i < n; i++) {
        const dup = i > 10 && r() < 0.1;
        const lon = dup ? 'DUP' : (cx + (r() - 0.5) * 4).toFixed(6);
        const lat = dup ? 'DUP' : Math.max(-85, Math.min(85, cy + (r() - 0.5) * 4)).toFixed(6);
        add.push(lon === 'DUP' ? (cx + 0.1).toFixed(6) : lon, lat === 'DUP' ? cy.toFixed(6) : lat, r() < 0.2 ? String(i) : `m${i}`);
        if (add.length > 200) {
          steps.push(add);
          add = ['GEOADD', 'pts'];
        }
      }
      if (add.length > 2) steps.push(add);
      steps.push(['OBJECT', 'ENCODING', 'pts']);
      const units = ['m', 'km', 'mi', 'ft'];
      const toM: Record<string, number> = { m: 1, km: 1000, mi: 1609.34, ft: 0.3048 };
      for (let q = 0; q < 80; q++) {
        const unit = units[Math.floor(r() * 4)];
        const km = [1, 20, 80, 200, 2000][Math.floor(r() * 5)] * r();
        const dist = ((km * 1000) / toM[unit]).toFixed(3);
        const lon = (cx + (r() - 0.5) * 5).toFixed(5);
        const lat = Math.max(-85, Math.min(85, cy + (r() - 0.5) * 5)).toFixed(5);
        const opts: string[] = [];
        if (r() < 0.5) opts.push('WITHDIST');
        if (r() < 0.3) opts.push('WITHCOORD');
        if (r() < 0.3) opts.push('WITHHASH');
        const sortOpt = r();
        if (sortOpt < 0.3) opts.push('ASC');
        else if (sortOpt < 0.6) opts.push('DESC');
        if (r() < 0.5) {
          opts.push('COUNT', String(1 + Math.floor(r() * 20)));
          if (r() < 0.3) opts.push('ANY');
        }
        const kind = r();
        // Without COUNT or sorting the order is the scan order: compared exactly too.
        if (kind < 0.3) steps.push(['GEORADIUS', 'pts', lon, lat, dist, unit, ...opts]);
        else if (kind < 0.45) steps.push(['GEORADIUSBYMEMBER', 'pts', `m${1 + Math.floor(r() * 10)}`, dist, unit, ...opts]);
        else if (kind < 0.75) steps.push(['GEOSEARCH', 'pts', 'FROMLONLAT', lon, lat, 'BYRADIUS', dist, unit, ...opts]);
        else {
          const w = ((km * 2000 * r()) / toM[unit]).toFixed(2);
          const h = ((km * 2000 * r()) / toM[unit]).toFixed(2);
          steps.push(['GEOSEARCH', 'pts', 'FROMLONLAT', lon, lat, 'BYBOX', w, h, unit, ...opts]);
        }
        if (q % 8 === 0) {
          const st = opts.filter((o) => !o.startsWith('WITH'));
          steps.push(['GEOSEARCHSTORE', 'out', 'pts', 'FROMLONLAT', lon, lat, 'BYRADIUS', dist, unit, ...st, ...(r() < 0.5 ? ['STOREDIST'] : [])]);
          steps.push(['ZRANGE', 'out', '0', '-1', 'WITHSCORES'], ['OBJECT', 'ENCODING', 'out']);
        }
      }
      steps.push(['GEOPOS', 'pts', 'm1', 'm2', '3', 'm40'], ['GEOHASH', 'pts', 'm1', 'm2', 'm3']);
      await d.expectSame(steps, { label: `seed ${seed}` });
    }
  });
});
