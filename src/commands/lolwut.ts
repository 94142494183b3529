// LOLWUT (Redis's lolwut.c, lolwut5.c, lolwut6.c): computer art and the version. Without VERSION
// (or with another one) Redis 7.0 answers only "Redis ver. 7.0.15"; VERSION 5 draws Georg Nees's
// "Schotter" in Braille characters, VERSION 6 a city skyline in terminal colours. Both are random,
// as Redis's (rand()), so two runs differ.
import type { Client } from '../server/client';
import type { CommandSpec } from './types';
import { def } from './def';
import { E_NOT_INT, is, parseI64 } from './args';
import { REDIS_VERSION } from '../server/info';

/** C's rand(): 0 .. RAND_MAX (2^31 - 1). */
const rand = (): number => Math.floor(Math.random() * 2147483648);
const RAND_MAX = 2147483647;
/** C's round(): halves away from zero. */
const cround = (v: number): number => (v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5));

/** lwCanvas: one byte per pixel (colour); drawing outside is ignored. */
class Canvas {
  readonly px: Uint8Array;
  constructor(readonly width: number, readonly height: number, bg: number) {
    this.px = new Uint8Array(width * height).fill(bg);
  }

  set(x: number, y: number, color: number): void {
    if (x < 0 || x >= this.width || y < 0 || y >= this.height) return;
    this.px[x + y * this.width] = color;
  }

  get(x: number, y: number): number {
    if (x < 0 || x >= this.width || y < 0 || y >= this.height) return 0;
    return this.px[x + y * this.width];
  }

  /** Bresenham, as lwDrawLine. */
  line(x1: number, y1: number, x2: number, y2: number, color: number): void {
    const dx = Math.abs(x2 - x1);
    const dy = Math.abs(y2 - y1);
    const sx = x1 < x2 ? 1 : -1;
    const sy = y1 < y2 ? 1 : -1;
    let err = dx - dy;
    for (;;) {
      this.set(x1, y1, color);
      if (x1 === x2 && y1 === y2) break;
      const e2 = err * 2;
      if (e2 > -dy) {
        err -= dy;
        x1 += sx;
      }
      if (e2 < dx) {
        err += dx;
        y1 += sy;
      }
    }
  }

  /** lwDrawSquare: centred at x,y, rotated by angle. */
  square(x: number, y: number, size: number, angle: number, color: number): void {
    size = cround(Math.fround(size / 1.4142135623));
    const px: number[] = [];
    const py: number[] = [];
    let k = Math.fround(Math.PI / 4 + angle);
    for (let j = 0; j < 4; j++) {
      px.push(cround(Math.sin(k) * size + x));
      py.push(cround(Math.cos(k) * size + y));
      k = Math.fround(k + Math.PI / 2);
    }
    for (let j = 0; j < 4; j++) this.line(px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4], color);
  }
}

/** lwDrawSchotter. */
function schotter(cols: number, perRow: number, perCol: number): Canvas {
  const width = cols * 2;
  const padding = width > 4 ? 2 : 0;
  const side = Math.fround((width - padding * 2) / perRow);
  const canvas = new Canvas(width, Math.trunc(side * perCol + padding * 2), 0);
  for (let y = 0; y < perCol; y++) {
    for (let x = 0; x < perRow; x++) {
      let sx = Math.trunc(x * side + side / 2 + padding);
      let sy = Math.trunc(y * side + side / 2 + padding);
      let angle = 0;
      // Rotate and translate randomly as the rows go down.
      if (y > 1) {
        let r1 = (rand() / RAND_MAX / perCol) * y;
        let r2 = (rand() / RAND_MAX / perCol) * y;
        let r3 = (rand() / RAND_MAX / perCol) * y;
        if (rand() % 2) r1 = -r1;
        if (rand() % 2) r2 = -r2;
        if (rand() % 2) r3 = -r3;
        angle = r1;
        sx = Math.trunc(sx + (r2 * side) / 3);
        sy = Math.trunc(sy + (r3 * side) / 3);
      }
      canvas.square(sx, sy, side, angle, 1);
    }
  }
  return canvas;
}

/** lolwut5's renderCanvas: 2x4 pixels per Braille character. */
function renderBraille(canvas: Canvas): string {
  let text = '';
  for (let y = 0; y < canvas.height; y += 4) {
    for (let x = 0; x < canvas.width; x += 2) {
      let byte = 0;
      if (canvas.get(x, y)) byte |= 1 << 0;
      if (canvas.get(x, y + 1)) byte |= 1 << 1;
      if (canvas.get(x, y + 2)) byte |= 1 << 2;
      if (canvas.get(x + 1, y)) byte |= 1 << 3;
      if (canvas.get(x + 1, y + 1)) byte |= 1 << 4;
      if (canvas.get(x + 1, y + 2)) byte |= 1 << 5;
      if (canvas.get(x, y + 3)) byte |= 1 << 6;
      if (canvas.get(x + 1, y + 3)) byte |= 1 << 7;
      text += String.fromCharCode(0x2800 + byte);
    }
    if (y !== canvas.height - 1) text += '\n';
  }
  return text;
}

/** One skyscraper of lolwut6 (windows: random grays, two pixels wide). */
function skyscraper(canvas: Canvas, xoff: number, width: number, height: number, windows: boolean, base: number): void {
  const starty = canvas.height - 1;
  const endy = starty - height + 1;
  for (let y = starty; y >= endy; y--) {
    for (let x = xoff; x < xoff + width; x++) {
      // The roof is four pixels narrower.
      if (y === endy && (x <= xoff + 1 || x >= xoff + width - 2)) continue;
      let color = base;
      if (windows && x > xoff + 1 && x < xoff + width - 2 && y > endy + 1 && y < starty - 1) {
        const relx = x - (xoff + 1);
        const rely = y - (endy + 1);
        if (Math.trunc(relx / 2) % 2 && rely % 2) {
          do color = 1 + (rand() % 2);
          while (color === base);
          if (relx % 2) color = canvas.get(x - 1, y);
        }
      }
      canvas.set(x, y, color);
    }
  }
}

/** generateSkyline: two background passes without windows, then the foreground. */
function skyline(canvas: Canvas): void {
  const h = canvas.height;
  for (let color = 2; color >= 1; color--) {
    for (let offset = -10; offset < canvas.width;) {
      offset += rand() % 8;
      const width = 10 + (rand() % 9);
      // C's precedence: rand() % h / 2 is (rand() % h) / 2.
      const height = Math.trunc(h / 2) + (color === 2 ? Math.trunc((rand() % h) / 2) : Math.trunc((rand() % h) / 3));
      skyscraper(canvas, offset, width, height, false, color);
      offset += color === 2 ? Math.trunc(width / 2) : width + 1;
    }
  }
  for (let offset = -10; offset < canvas.width;) {
    offset += rand() % 8;
    let width = 5 + (rand() % 14);
    if (width % 4) width += width % 3;
    const height = Math.trunc(h / 3) + Math.trunc((rand() % h) / 2);
    skyscraper(canvas, offset, width, height, true, 0);
    offset += width + 5;
  }
}

const GRAYS = ['0;30;40m', '0;90;100m', '0;37;47m', '0;97;107m'];

/** lolwut6's renderCanvas: one coloured space per pixel. */
function renderColors(canvas: Canvas): string {
  const rows: string[] = [];
  for (let y = 0; y < canvas.height; y++) {
    let row = '';
    for (let x = 0; x < canvas.width; x++) row += `\x1b[${GRAYS[canvas.get(x, y)] ?? GRAYS[0]} \x1b[0m`;
    rows.push(row);
  }
  return rows.join('\n');
}

/** getLongFromObjectOrReply for the optional numeric arguments; null after replying an error. */
function longs(c: Client, args: Buffer[], defaults: number[]): number[] | null {
  const out = defaults.slice();
  for (let i = 0; i < defaults.length && i < args.length; i++) {
    const v = parseI64(args[i]);
    if (v === null) {
      c.w.error(E_NOT_INT);
      return null;
    }
    out[i] = Number(v);
  }
  return out;
}

const clamp = (v: number, max: number): number => Math.min(Math.max(v, 1), max);

function lolwut(c: Client, argv: Buffer[]): void {
  let version = 7;
  let args = argv.slice(1);
  if (argv.length >= 3 && is(argv[1], 'version')) {
    const v = parseI64(argv[2]);
    if (v === null) return c.w.error(E_NOT_INT);
    // Redis prints the number as "%u.0.0" and looks at its first characters.
    version = Number(BigInt.asUintN(32, BigInt(v)));
    args = argv.slice(3);
  }
  if (version === 5) {
    const a = longs(c, args, [66, 8, 12]);
    if (a === null) return;
    const art = renderBraille(schotter(clamp(a[0], 1000), clamp(a[1], 200), clamp(a[2], 200)));
    return c.w.verbatim(`${art}\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. ${REDIS_VERSION}\n`);
  }
  if (version === 6) {
    const a = longs(c, args, [80, 20]);
    if (a === null) return;
    const canvas = new Canvas(clamp(a[0], 1000), clamp(a[1], 1000), 3);
    skyline(canvas);
    return c.w.verbatim(`${renderColors(canvas)}\nDedicated to the 8 bit game developers of past and present.\n` +
      `Original 8 bit image from Plaguemon by hikikomori. Redis ver. ${REDIS_VERSION}\n`);
  }
  c.w.verbatim(`Redis ver. ${REDIS_VERSION}\n`);
}

export const commands: CommandSpec[] = [
  def('lolwut', -1, 'readonly fast', [0, 0, 0], 'server', 'Display some computer art and the Redis version', lolwut, { lock: 'none', since: '5.0.0' }),
];
