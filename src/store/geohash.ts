// Geohash math, as Redis 7.0's geohash.c and geohash_helper.c: 52-bit interleaved scores
// (26 bits of latitude in the even bits, 26 of longitude in the odd ones, over the Web Mercator
// latitude range), the neighbouring boxes that cover a search shape, and the haversine distance.
// Coordinates and scores use the same double arithmetic in the same order as the C code, so a
// score written by redis-server decodes here to the same coordinates, and back.
//
// Scores below 2^53 are handled as numbers (the hot path: every member scanned by a search is
// decoded); the rare bit operations on whole hashes (neighbours, alignment) use BigInt.

import { asin, cos, sin } from './libm';

export const GEO_STEP_MAX = 26;
export const GEO_LAT_MIN = -85.05112878;
export const GEO_LAT_MAX = 85.05112878;
export const GEO_LONG_MIN = -180;
export const GEO_LONG_MAX = 180;

const D_R = Math.PI / 180.0;
export const EARTH_RADIUS_IN_METERS = 6372797.560856;
const MERCATOR_MAX = 20037726.37;

const degRad = (ang: number): number => ang * D_R;
const radDeg = (ang: number): number => ang / D_R;

/** Spread the 16 low bits of x to the even bits of a 32-bit word. */
function spread16(x: number): number {
  x &= 0xffff;
  x = (x | (x << 8)) & 0x00ff00ff;
  x = (x | (x << 4)) & 0x0f0f0f0f;
  x = (x | (x << 2)) & 0x33333333;
  x = (x | (x << 1)) & 0x55555555;
  return x >>> 0;
}

/** The even bits of a 32-bit word, packed into 16 bits. */
function compact16(x: number): number {
  x &= 0x55555555;
  x = (x | (x >>> 1)) & 0x33333333;
  x = (x | (x >>> 2)) & 0x0f0f0f0f;
  x = (x | (x >>> 4)) & 0x00ff00ff;
  x = (x | (x >>> 8)) & 0x0000ffff;
  return x;
}

/**
 * interleave64(lat, lon) as the double the 64-bit result converts to (exact below 2^53; at the
 * range's very edge the offset is 2^step and the result is rounded as C's conversion rounds).
 */
function interleave(lat: number, lon: number): number {
  const lo = (spread16(lat) | (spread16(lon) << 1)) >>> 0;
  const hi = (spread16(lat >>> 16) | (spread16(lon >>> 16) << 1)) >>> 0;
  lastHi = hi;
  lastLo = lo;
  return hi * 4294967296 + lo;
}

let lastHi = 0;
let lastLo = 0;

/** The exact 64-bit bits of the last successful geohashEncode (its number may be rounded at 2^53+). */
export function lastEncodedBits(): bigint {
  return (BigInt(lastHi) << 32n) | BigInt(lastLo);
}

/** A hash: its bits (as a number, < 2^54) and its step (bits per coordinate; 0 with bits 0: none). */
export interface GeoHashBits {
  bits: number;
  step: number;
}

export interface GeoHashArea {
  hash: GeoHashBits;
  lonMin: number;
  lonMax: number;
  latMin: number;
  latMax: number;
}

/** geohashEncode over the given ranges; null where Redis returns 0. */
export function geohashEncode(lonMin: number, lonMax: number, latMin: number, latMax: number, longitude: number, latitude: number, step: number): GeoHashBits | null {
  if (step > 32 || step === 0) return null;
  if (longitude > GEO_LONG_MAX || longitude < GEO_LONG_MIN || latitude > GEO_LAT_MAX || latitude < GEO_LAT_MIN) return null;
  if (latitude < latMin || latitude > latMax || longitude < lonMin || longitude > lonMax) return { bits: 0, step };
  let latOffset = (latitude - latMin) / (latMax - latMin);
  let lonOffset = (longitude - lonMin) / (lonMax - lonMin);
  latOffset *= 2 ** step;
  lonOffset *= 2 ** step;
  return { bits: interleave(latOffset >>> 0, lonOffset >>> 0), step };
}

export function geohashEncodeWGS84(longitude: number, latitude: number, step: number): GeoHashBits | null {
  return geohashEncode(GEO_LONG_MIN, GEO_LONG_MAX, GEO_LAT_MIN, GEO_LAT_MAX, longitude, latitude, step);
}

/** (uint64_t) of a double as gcc's x86-64 conversion gives it, split into 32-bit halves. */
function toU64(d: number): [number, number] {
  if (d >= 0 && d < 9007199254740992) {
    const t = Math.trunc(d);
    return [Math.floor(t / 4294967296), t % 4294967296];
  }
  let v: bigint;
  if (d >= 0 && d < 18446744073709551616) v = BigInt(Math.trunc(d));
  else if (d < 0 && d > -9223372036854775808) v = BigInt.asUintN(64, BigInt(Math.trunc(d)));
  else if (d >= 18446744073709551616) v = 0n; // cvttsd2si overflow, then the high bit flipped back
  else v = 1n << 63n; // the "integer indefinite" value
  return [Number(v >> 32n), Number(v & 0xffffffffn)];
}

/** geohashDecode of (hi:lo, step) over the WGS84 ranges into out. */
function decodeArea(hi: number, lo: number, step: number, out: GeoHashArea): void {
  const ilato = (compact16(lo) | (compact16(hi) << 16)) >>> 0;
  const ilono = (compact16(lo >>> 1) | (compact16(hi >>> 1) << 16)) >>> 0;
  const latScale = GEO_LAT_MAX - GEO_LAT_MIN;
  const lonScale = GEO_LONG_MAX - GEO_LONG_MIN;
  const div = 2 ** step;
  out.latMin = GEO_LAT_MIN + ((ilato * 1.0) / div) * latScale;
  out.latMax = GEO_LAT_MIN + ((((ilato + 1) >>> 0) * 1.0) / div) * latScale; // uint32 + 1 wraps
  out.lonMin = GEO_LONG_MIN + ((ilono * 1.0) / div) * lonScale;
  out.lonMax = GEO_LONG_MIN + ((((ilono + 1) >>> 0) * 1.0) / div) * lonScale;
}

const scratchArea: GeoHashArea = { hash: { bits: 0, step: 0 }, lonMin: 0, lonMax: 0, latMin: 0, latMax: 0 };

/** geohashDecodeWGS84 of a hash; null for the zero hash. */
export function geohashDecode(h: GeoHashBits): GeoHashArea | null {
  if (h.bits === 0 && h.step === 0) return null;
  const [hi, lo] = toU64(h.bits);
  const a: GeoHashArea = { hash: h, lonMin: 0, lonMax: 0, latMin: 0, latMax: 0 };
  decodeArea(hi, lo, h.step, a);
  return a;
}

/** decodeGeohash: the longitude and latitude of a member's score, into xy. Always succeeds. */
export function decodeScore(score: number, xy: Float64Array | number[]): void {
  let hi: number;
  let lo: number;
  if (score >= 0 && score < 9007199254740992) {
    const t = Math.trunc(score);
    hi = Math.floor(t / 4294967296);
    lo = t % 4294967296;
  } else [hi, lo] = toU64(score);
  const a = scratchArea;
  decodeArea(hi, lo, GEO_STEP_MAX, a);
  let x = (a.lonMin + a.lonMax) / 2;
  if (x > GEO_LONG_MAX) x = GEO_LONG_MAX;
  if (x < GEO_LONG_MIN) x = GEO_LONG_MIN;
  let y = (a.latMin + a.latMax) / 2;
  if (y > GEO_LAT_MAX) y = GEO_LAT_MAX;
  if (y < GEO_LAT_MIN) y = GEO_LAT_MIN;
  xy[0] = x;
  xy[1] = y;
}

/** geohashAlign52Bits: the hash's bits shifted to a 52-bit score (as the double C converts it to). */
export function align52(bits: bigint, step: number): number {
  return Number(BigInt.asUintN(64, bits << BigInt(52 - step * 2)));
}

const M64 = (1n << 64n) - 1n;
const AAAA = 0xaaaaaaaaaaaaaaaan;
const N5555 = 0x5555555555555555n;

function moveX(bits: bigint, step: number, d: number): bigint {
  if (d === 0) return bits;
  let x = bits & AAAA;
  const y = bits & N5555;
  const zz = N5555 >> BigInt(64 - step * 2);
  if (d > 0) x = (x + (zz + 1n)) & M64;
  else {
    x = x | zz;
    x = (x - (zz + 1n)) & M64;
  }
  x &= AAAA >> BigInt(64 - step * 2);
  return x | y;
}

function moveY(bits: bigint, step: number, d: number): bigint {
  if (d === 0) return bits;
  const x = bits & AAAA;
  let y = bits & N5555;
  const zz = AAAA >> BigInt(64 - step * 2);
  if (d > 0) y = (y + (zz + 1n)) & M64;
  else {
    y = y | zz;
    y = (y - (zz + 1n)) & M64;
  }
  y &= N5555 >> BigInt(64 - step * 2);
  return x | y;
}

/** A search shape (GeoShape): a circle (radius) or an axis-aligned box (width, height). */
export interface GeoShape {
  circle: boolean;
  lon: number;
  lat: number;
  /** Units to meters. */
  conversion: number;
  radius: number;
  width: number;
  height: number;
  bounds: [number, number, number, number];
}

export function geohashEstimateStepsByRadius(rangeMeters: number, lat: number): number {
  if (rangeMeters === 0) return 26;
  let step = 1;
  while (rangeMeters < MERCATOR_MAX) {
    rangeMeters *= 2;
    step++;
  }
  step -= 2;
  if (lat > 66 || lat < -66) {
    step--;
    if (lat > 80 || lat < -80) step--;
  }
  if (step < 1) step = 1;
  if (step > 26) step = 26;
  return step;
}

function boundingBox(shape: GeoShape): void {
  const longitude = shape.lon;
  const latitude = shape.lat;
  const height = shape.conversion * (shape.circle ? shape.radius : shape.height / 2);
  const width = shape.conversion * (shape.circle ? shape.radius : shape.width / 2);
  const latDelta = radDeg(height / EARTH_RADIUS_IN_METERS);
  const longDeltaTop = radDeg(width / EARTH_RADIUS_IN_METERS / cos(degRad(latitude + latDelta)));
  const longDeltaBottom = radDeg(width / EARTH_RADIUS_IN_METERS / cos(degRad(latitude - latDelta)));
  const southern = latitude < 0;
  const b = shape.bounds;
  b[0] = southern ? longitude - longDeltaBottom : longitude - longDeltaTop;
  b[2] = southern ? longitude + longDeltaBottom : longitude + longDeltaTop;
  b[1] = latitude - latDelta;
  b[3] = latitude + latDelta;
}

/** A box to scan: [min, max) of scores; or null for a neighbour Redis zeroed. */
export interface ScanBox {
  bits: bigint;
  step: number;
}

/**
 * geohashCalculateAreasByShapeWGS84 + membersOfAllNeighbors's list: the centre box and its 8
 * neighbours in Redis's order (self, N, S, E, W, NE, NW, SE, SW), zeroed ones as step 0 bits 0.
 */
export function areasByShape(shape: GeoShape): ScanBox[] {
  boundingBox(shape);
  const [minLon, minLat, maxLon, maxLat] = shape.bounds;
  const longitude = shape.lon;
  const latitude = shape.lat;
  let radiusMeters = shape.circle ? shape.radius : Math.sqrt((shape.width / 2) * (shape.width / 2) + (shape.height / 2) * (shape.height / 2));
  radiusMeters *= shape.conversion;
  let steps = geohashEstimateStepsByRadius(radiusMeters, latitude);

  const compute = (): { hash: bigint; nb: bigint[]; area: GeoHashArea } => {
    const h = geohashEncodeWGS84(longitude, latitude, steps) as GeoHashBits;
    const hash = BigInt(h.bits);
    // north, east, west, south, north_east, south_east, north_west, south_west (geohashNeighbors)
    const nb = [
      moveY(hash, steps, 1),
      moveX(hash, steps, 1),
      moveX(hash, steps, -1),
      moveY(hash, steps, -1),
      moveY(moveX(hash, steps, 1), steps, 1),
      moveY(moveX(hash, steps, 1), steps, -1),
      moveY(moveX(hash, steps, -1), steps, 1),
      moveY(moveX(hash, steps, -1), steps, -1),
    ];
    return { hash, nb, area: decodeBig(hash, steps) };
  };
  let { hash, nb, area } = compute();
  // Is the step small enough at the limits of the covered area?
  let decrease = false;
  {
    const north = decodeBig(nb[0], steps);
    const east = decodeBig(nb[1], steps);
    const west = decodeBig(nb[2], steps);
    const south = decodeBig(nb[3], steps);
    if (north.latMax < maxLat) decrease = true;
    if (south.latMin > minLat) decrease = true;
    if (east.lonMax < maxLon) decrease = true;
    if (west.lonMin > minLon) decrease = true;
  }
  if (steps > 1 && decrease) {
    steps--;
    ({ hash, nb, area } = compute());
  }
  const zero = [false, false, false, false, false, false, false, false];
  // indexes into nb: 0 north, 1 east, 2 west, 3 south, 4 NE, 5 SE, 6 NW, 7 SW
  if (steps >= 2) {
    if (area.latMin < minLat) zero[3] = zero[7] = zero[5] = true;
    if (area.latMax > maxLat) zero[0] = zero[4] = zero[6] = true;
    if (area.lonMin < minLon) zero[2] = zero[7] = zero[6] = true;
    if (area.lonMax > maxLon) zero[1] = zero[5] = zero[4] = true;
  }
  const box = (i: number): ScanBox => (zero[i] ? { bits: 0n, step: 0 } : { bits: nb[i], step: steps });
  // membersOfAllNeighbors's order: self, north, south, east, west, NE, NW, SE, SW.
  return [{ bits: hash, step: steps }, box(0), box(3), box(1), box(2), box(4), box(6), box(5), box(7)];
}

function decodeBig(bits: bigint, step: number): GeoHashArea {
  const a: GeoHashArea = { hash: { bits: 0, step }, lonMin: 0, lonMax: 0, latMin: 0, latMax: 0 };
  decodeArea(Number((bits >> 32n) & 0xffffffffn), Number(bits & 0xffffffffn), step, a);
  return a;
}

/** scoresOfGeoHashBox: [min, max) of the scores inside a box. */
export function scoresOfBox(b: ScanBox): [number, number] {
  return [align52(b.bits, b.step), align52(b.bits + 1n, b.step)];
}

function latDistance(lat1d: number, lat2d: number): number {
  return EARTH_RADIUS_IN_METERS * Math.abs(degRad(lat2d) - degRad(lat1d));
}

/** geohashGetDistance: haversine great circle distance in meters. */
export function geohashGetDistance(lon1d: number, lat1d: number, lon2d: number, lat2d: number): number {
  const lon1r = degRad(lon1d);
  const lon2r = degRad(lon2d);
  const v = sin((lon2r - lon1r) / 2);
  if (v === 0.0) return latDistance(lat1d, lat2d);
  const lat1r = degRad(lat1d);
  const lat2r = degRad(lat2d);
  const u = sin((lat2r - lat1r) / 2);
  const a = u * u + cos(lat1r) * cos(lat2r) * v * v;
  return 2.0 * EARTH_RADIUS_IN_METERS * asin(Math.sqrt(a));
}

/** geoWithinShape's test of a decoded point; the distance, or -1 when outside. */
export function distanceInShape(shape: GeoShape, x: number, y: number): number {
  if (shape.circle) {
    const d = geohashGetDistance(shape.lon, shape.lat, x, y);
    return d > shape.radius * shape.conversion ? -1 : d;
  }
  const widthM = shape.width * shape.conversion;
  const heightM = shape.height * shape.conversion;
  if (latDistance(shape.lat, y) > heightM / 2) return -1;
  if (geohashGetDistance(x, y, shape.lon, y) > widthM / 2) return -1; // at the point's latitude
  return geohashGetDistance(shape.lon, shape.lat, x, y);
}

const GEO_ALPHABET = '0123456789bcdefghjkmnpqrstuvwxyz';

/** GEOHASH's 11-character standard geohash of a member's score. */
export function standardGeohash(score: number): string {
  const xy = [0, 0];
  decodeScore(score, xy);
  const h = geohashEncode(-180, 180, -90, 90, xy[0], xy[1], 26) as GeoHashBits;
  const bits = BigInt(h.bits);
  let s = '';
  for (let i = 0; i < 11; i++) {
    const idx = i === 10 ? 0 : Number((bits >> BigInt(52 - (i + 1) * 5)) & 0x1fn);
    s += GEO_ALPHABET[idx];
  }
  return s;
}
