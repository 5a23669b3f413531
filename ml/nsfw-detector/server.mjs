#!/usr/bin/env node
// Chorus's NSFW detector service (ml/nsfw-detector/README.md):
//   GET  /health        200 {"status":"ok","model":…} once the model is loaded, 503 before
//   POST /v1/classify   {"images":[{"id":"…","data":"<base64>"}…]} → {"model":…,"results":[…]}
//                       or one image as raw bytes (Content-Type: image/*)
// Settings: argv (--host H --port P --model M --max-batch N --max-body-bytes B) or
// the environment (HOST, PORT, NSFW_MODEL, NSFW_MAX_BATCH, NSFW_MAX_BODY_BYTES,
// NSFW_MAX_IMAGE_BYTES, NSFW_MAX_PIXELS, NSFW_INFER_BATCH, NSFW_MAX_PENDING).
import http from 'node:http';
import { parseArgs } from 'node:util';
import { load, CLASSES } from './detector.mjs';

const { values: argv } = parseArgs({
  options: {
    host: { type: 'string' }, port: { type: 'string' }, model: { type: 'string' },
    'max-batch': { type: 'string' }, 'max-body-bytes': { type: 'string' },
  },
});
function int(name, v, dflt, lo, hi) {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) {
    console.error(`nsfw-detector: ${name} must be an integer in ${lo}..${hi}, got ${v}`);
    process.exit(2);
  }
  return n;
}
const env = process.env;
const cfg = {
  host: argv.host ?? env.HOST ?? '127.0.0.1',
  port: int('port', argv.port ?? env.PORT, 8077, 0, 65535),
  model: argv.model ?? env.NSFW_MODEL ?? 'MobileNetV2',
  maxBatch: int('max batch', argv['max-batch'] ?? env.NSFW_MAX_BATCH, 32, 1, 1024),
  maxBodyBytes: int('max body bytes', argv['max-body-bytes'] ?? env.NSFW_MAX_BODY_BYTES, 32 << 20, 1024, 1 << 30),
  maxImageBytes: int('max image bytes', env.NSFW_MAX_IMAGE_BYTES, 8 << 20, 64, 1 << 30),
  maxPixels: int('max pixels', env.NSFW_MAX_PIXELS, 40_000_000, 1, 1_000_000_000),
  inferBatch: int('infer batch', env.NSFW_INFER_BATCH, 16, 1, 1024),
  maxPending: int('max pending', env.NSFW_MAX_PENDING, 8, 1, 10_000),  // requests decoding or waiting for the model
};

let detector = null;  // set once the model is loaded
let pending = 0;
// The wasm backend runs one forward pass at a time; batches queue here in order.
let modelQueue = Promise.resolve();
function withModel(fn) {
  const run = modelQueue.then(fn, fn);
  modelQueue = run.catch(() => {});
  return run;
}

class HttpError extends Error {
  constructor(status, message, headers) { super(message); this.status = status; this.headers = headers; }
}

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8',
                          'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

// The body, or HttpError 413 past the cap. An oversized body is read and dropped
// (up to DRAIN_BYTES more) before the 413 is sent, so that a client still writing
// gets the answer instead of a reset; beyond that the connection is closed.
const DRAIN_BYTES = 64 << 20;
function readBody(req, cap) {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new HttpError(413, `the request body is larger than ${cap} bytes`);
    const declared = Number(req.headers['content-length']);
    if (declared > cap + DRAIN_BYTES) {
      req.tooLarge = true;
      return reject(tooLarge());
    }
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size <= cap) chunks.push(c);
      else if (size > cap + DRAIN_BYTES && !req.tooLarge) {
        req.tooLarge = true;
        reject(tooLarge());
      }
    });
    req.on('end', () => (size > cap ? reject(tooLarge()) : resolve(Buffer.concat(chunks, size))));
    req.on('error', reject);
  });
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

// The batch as [{id, bytes | error}], or HttpError 400 when the request itself is malformed.
function parseBatch(body) {
  let j;
  try { j = JSON.parse(body.toString('utf8')); } catch { throw new HttpError(400, 'the body is not valid JSON'); }
  if (j === null || typeof j !== 'object' || Array.isArray(j) || !Array.isArray(j.images))
    throw new HttpError(400, 'the body must be an object with an "images" array');
  if (j.images.length === 0) throw new HttpError(400, '"images" is empty');
  if (j.images.length > cfg.maxBatch)
    throw new HttpError(400, `at most ${cfg.maxBatch} images per request, got ${j.images.length}`);
  return j.images.map((img, i) => {
    if (img === null || typeof img !== 'object' || Array.isArray(img))
      throw new HttpError(400, `images[${i}] must be an object {"id","data"}`);
    const id = typeof img.id === 'string' || typeof img.id === 'number' ? String(img.id) : null;
    if (id === null) return { id: null, error: 'missing "id" (a string)' };
    if (typeof img.data !== 'string' || img.data.length === 0)
      return { id, error: 'missing "data" (base64 image bytes)' };
    if (img.data.length % 4 !== 0 || !BASE64.test(img.data)) return { id, error: '"data" is not valid base64' };
    const bytes = Buffer.from(img.data, 'base64');
    if (bytes.length > cfg.maxImageBytes) return { id, error: `image larger than ${cfg.maxImageBytes} bytes` };
    return { id, bytes };
  });
}

async function classify(items) {
  // Decode in parallel (sharp runs on libuv's thread pool), then one batched forward pass.
  await Promise.all(items.map(async (it) => {
    if (it.error) return;
    try {
      it.pixels = await detector.decode(it.bytes, { maxPixels: cfg.maxPixels });
    } catch (e) {
      it.error = `undecodable image: ${e.message}`;
    }
    it.bytes = null;
  }));
  const ok = items.filter((it) => it.pixels);
  const scores = ok.length ? await withModel(() => detector.infer(ok.map((it) => it.pixels), { batch: cfg.inferBatch })) : [];
  ok.forEach((it, k) => { it.scores = scores[k]; });
  return items.map((it) => ({
    id: it.id,
    scores: it.scores ?? null,
    nsfw: it.scores ? Math.max(it.scores.Porn, it.scores.Hentai) : null,
    error: it.error ?? null,
  }));
}

async function handle(req, res, note) {
  const url = new URL(req.url, 'http://detector');
  if (url.pathname === '/health') {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'use GET');
    return detector ? send(res, 200, { status: 'ok', model: detector.model, backend: detector.backend })
                    : send(res, 503, { status: 'loading', model: cfg.model });
  }
  if (url.pathname !== '/v1/classify') throw new HttpError(404, 'not found');
  if (req.method !== 'POST') throw new HttpError(405, 'use POST');
  if (!detector) throw new HttpError(503, 'the model is still loading', { 'retry-after': '1' });
  if (pending >= cfg.maxPending) throw new HttpError(503, 'busy: too many requests in progress', { 'retry-after': '1' });
  pending++;
  try {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    let items;
    if (type === 'application/json') {
      items = parseBatch(await readBody(req, cfg.maxBodyBytes));
    } else if (type.startsWith('image/') || type === 'application/octet-stream') {
      const bytes = await readBody(req, Math.min(cfg.maxBodyBytes, cfg.maxImageBytes));
      if (bytes.length === 0) throw new HttpError(400, 'empty body');
      items = [{ id: url.searchParams.get('id') ?? 'image', bytes }];
    } else {
      throw new HttpError(415, 'send application/json {"images":[…]} or one image as image/*');
    }
    note.images = items.length;
    const results = await classify(items);
    note.errors = results.filter((r) => r.error).length;
    send(res, 200, { model: detector.model, results });
  } finally {
    pending--;
  }
}

const server = http.createServer((req, res) => {
  const t0 = process.hrtime.bigint();
  const note = {};
  res.on('finish', () => {
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const extra = note.images !== undefined ? ` images=${note.images} errors=${note.errors ?? 0}` : '';
    console.log(`${new Date().toISOString()} ${req.method} ${req.url} ${res.statusCode} ${ms.toFixed(1)}ms${extra}`);
  });
  handle(req, res, note).catch((e) => {
    const status = e instanceof HttpError ? e.status : 500;
    if (status === 500) console.error('nsfw-detector: internal error:', e);
    if (res.headersSent) return res.destroy();
    const headers = e.headers ?? (status === 503 ? { 'retry-after': '1' } : {});
    if (req.tooLarge) headers.connection = 'close';  // the rest of the body is not read
    send(res, status, { error: status === 500 ? 'internal error' : e.message }, headers);
    if (req.tooLarge) res.on('finish', () => req.destroy());
  });
});
server.requestTimeout = 60_000;
server.headersTimeout = 10_000;
server.keepAliveTimeout = 30_000;

server.listen(cfg.port, cfg.host, () => {
  const a = server.address();
  // Scripts and tests read this line to learn the port (PORT=0 picks a free one).
  console.log(`nsfw-detector listening on http://${a.address}:${a.port} (model ${cfg.model}, loading)`);
});
server.on('error', (e) => { console.error(`nsfw-detector: ${e.message}`); process.exit(1); });

const t0 = Date.now();
load({ model: cfg.model }).then((d) => {
  detector = d;
  console.log(`nsfw-detector model ${d.model} ready on ${d.backend} in ${Date.now() - t0} ms`);
}, (e) => {
  console.error(`nsfw-detector: cannot load the model: ${e.message}`);
  process.exit(1);
});

for (const sig of ['SIGTERM', 'SIGINT'])
  process.on(sig, () => { server.close(() => process.exit(0)); setTimeout(() => process.exit(0), 2000).unref(); });
