#!/usr/bin/env node
// Draws Warden's tray and app icons as PNGs (no image library: node:zlib + a CRC), so the icons
// are reproducible from this file. Run: node scripts/make-icons.mjs  → resources/*.png
//
// Tray icons: a filled shield in the status colour with a white glyph (tick, "!", ×, dot), on a
// transparent background. Linux trays (GNOME AppIndicator, KDE) scale 22 px icons and draw on
// light or dark panels, so the shape is bold with a thin dark rim to stay visible on both.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const OUT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'resources');

const COLOURS = {
  ok: [46, 160, 67], // green
  warning: [219, 145, 0], // amber
  error: [207, 34, 46], // red
  neutral: [110, 118, 129], // grey
};

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** RGBA pixels (size×size×4) → PNG bytes. */
function encodePng(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// Shapes in unit coordinates (0..1, y down). Each returns true when the point is inside.
function inShield(x, y) {
  const cx = 0.5;
  const top = 0.06;
  const shoulder = 0.2;
  const halfWidth = 0.4;
  if (y < top || y > 0.95) return false;
  if (y < shoulder) {
    // The top edge dips slightly in the middle, like a heraldic shield.
    const dip = top + 0.05 * (1 - Math.abs(x - cx) / halfWidth);
    return Math.abs(x - cx) <= halfWidth && y >= dip;
  }
  // Below the shoulders the sides curve in to a point at the bottom.
  const t = (y - shoulder) / (0.95 - shoulder);
  const w = halfWidth * Math.sqrt(Math.max(0, 1 - t * t));
  return Math.abs(x - cx) <= w;
}
function distToSegment(px, py, ax, ay, bx, by) {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}
const GLYPHS = {
  // A tick.
  ok: (x, y) => distToSegment(x, y, 0.3, 0.5, 0.45, 0.65) < 0.07 || distToSegment(x, y, 0.45, 0.65, 0.72, 0.34) < 0.07,
  // An exclamation mark.
  warning: (x, y) => distToSegment(x, y, 0.5, 0.28, 0.5, 0.55) < 0.07 || Math.hypot(x - 0.5, y - 0.7) < 0.07,
  // A cross.
  error: (x, y) => distToSegment(x, y, 0.34, 0.32, 0.66, 0.64) < 0.07 || distToSegment(x, y, 0.66, 0.32, 0.34, 0.64) < 0.07,
  // A dot: not yet known / paused.
  neutral: (x, y) => Math.hypot(x - 0.5, y - 0.47) < 0.12,
};

/** Render one icon with 4×4 supersampling for smooth edges. */
function draw(size, kind) {
  const [r, g, b] = COLOURS[kind];
  const glyph = GLYPHS[kind];
  const rim = 1.6 / size; // about a pixel and a half of dark rim at any size
  const px = Buffer.alloc(size * size * 4);
  const S = 4;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let cover = 0;
      let white = 0;
      let dark = 0;
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const ux = (x + (sx + 0.5) / S) / size;
          const uy = (y + (sy + 0.5) / S) / size;
          if (!inShield(ux, uy)) continue;
          cover++;
          const inner = inShield(ux - rim, uy) && inShield(ux + rim, uy) && inShield(ux, uy - rim) && inShield(ux, uy + rim);
          if (!inner) dark++;
          else if (glyph(ux, uy)) white++;
        }
      }
      const n = S * S;
      const i = (y * size + x) * 4;
      if (cover === 0) continue;
      const fill = cover - white - dark;
      // Average the colours of the covered samples; alpha is the covered fraction.
      px[i] = Math.round((fill * r + white * 255 + dark * r * 0.45) / cover);
      px[i + 1] = Math.round((fill * g + white * 255 + dark * g * 0.45) / cover);
      px[i + 2] = Math.round((fill * b + white * 255 + dark * b * 0.45) / cover);
      px[i + 3] = Math.round((255 * cover) / n);
    }
  }
  return encodePng(size, px);
}

fs.mkdirSync(OUT, { recursive: true });
const written = [];
for (const kind of Object.keys(COLOURS)) {
  // Electron picks `name@2x.png` beside `name.png` on high-DPI screens.
  for (const [size, suffix] of [
    [22, ''],
    [44, '@2x'],
  ]) {
    const file = path.join(OUT, `tray-${kind}${suffix}.png`);
    fs.writeFileSync(file, draw(size, kind));
    written.push(file);
  }
}
// The app icon (window, launcher, installers): the healthy shield, large.
for (const size of [256, 512]) {
  const file = path.join(OUT, `icon-${size}.png`);
  fs.writeFileSync(file, draw(size, 'ok'));
  written.push(file);
}
fs.copyFileSync(path.join(OUT, 'icon-512.png'), path.join(OUT, 'icon.png'));
written.push(path.join(OUT, 'icon.png'));
for (const f of written) console.log(path.relative(process.cwd(), f));
