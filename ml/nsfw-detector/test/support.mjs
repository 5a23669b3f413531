// Shared by the detector's test and bench: start the real service on a free
// port and wait for it, generate images.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import sharp from 'sharp';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Starts server.mjs with PORT=0 and `env`; resolves with {url, proc, log(), stop()}
// once it printed its address (the model may still be loading).
export function startDetector(env = {}, args = []) {
  const proc = spawn(process.execPath, [path.join(ROOT, 'server.mjs'), ...args], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  const stop = () => new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve();
    proc.once('exit', resolve);
    proc.kill('SIGTERM');
  });
  return new Promise((resolve, reject) => {
    const onData = () => {
      const m = out.match(/listening on (http:\/\/[0-9.]+:\d+)/);
      if (m) {
        proc.stdout.off('data', onData);
        resolve({ url: m[1], proc, log: () => out, stop });
      }
    };
    proc.stdout.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`detector exited (${code}) before listening:\n${out}`)));
  });
}

// Polls GET /health until 200 or the deadline; returns the ms it took and the statuses seen.
export async function waitHealthy(url, deadlineMs = 120_000) {
  const t0 = Date.now();
  const seen = new Set();
  for (;;) {
    try {
      const r = await fetch(`${url}/health`);
      seen.add(r.status);
      if (r.status === 200) return { ms: Date.now() - t0, seen, body: await r.json() };
    } catch { /* not accepting yet */ }
    if (Date.now() - t0 > deadlineMs) throw new Error(`detector not healthy within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// A deterministic PRNG (mulberry32) so the generated images are the same every run.
function rng(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const raw = (buf, width, height) => sharp(buf, { raw: { width, height, channels: 3 } });

export const images = {
  flat: (w = 640, h = 480, colour = '#2a6fb0') =>
    sharp({ create: { width: w, height: h, channels: 3, background: colour } }).png().toBuffer(),
  gradient: (w = 640, h = 480) => {
    const b = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; ++y)
      for (let x = 0; x < w; ++x) {
        const i = (y * w + x) * 3;
        b[i] = (255 * x) / w; b[i + 1] = (255 * y) / h; b[i + 2] = 128;
      }
    return raw(b, w, h).png().toBuffer();
  },
  // Photo-like: smooth random blobs plus grain, blurred a little.
  photo: (seed = 1, w = 640, h = 480) => {
    const r = rng(seed);
    const blobs = Array.from({ length: 12 }, () => ({
      x: r() * w, y: r() * h, s: 40 + r() * 160, c: [r() * 255, r() * 255, r() * 255] }));
    const b = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; ++y)
      for (let x = 0; x < w; ++x) {
        const px = [90, 90, 90];
        for (const o of blobs) {
          const k = Math.exp(-((x - o.x) ** 2 + (y - o.y) ** 2) / (2 * o.s * o.s));
          for (let c = 0; c < 3; ++c) px[c] += (o.c[c] - px[c]) * k;
        }
        const i = (y * w + x) * 3;
        for (let c = 0; c < 3; ++c) b[i + c] = Math.max(0, Math.min(255, px[c] + (r() - 0.5) * 40));
      }
    return raw(b, w, h).blur(1.2).png().toBuffer();
  },
  // What Chorus sends: a preview WebP of at most 640 px on the long side.
  preview: async (png) => sharp(png).resize(640, 640, { fit: 'inside' }).webp({ quality: 80 }).toBuffer(),
  corrupt: async () => (await images.flat()).subarray(0, 60),  // a PNG cut inside its first chunk
};
