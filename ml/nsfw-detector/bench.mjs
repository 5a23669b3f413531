#!/usr/bin/env node
// Measures the detector as Chorus uses it, over HTTP on loopback: time from start
// to healthy, the first request's latency (one preview), then images/s for
// batches of 16 WebP previews (640×480) — with the batch inferred as one tensor
// batch (NSFW_INFER_BATCH=16) and image by image (NSFW_INFER_BATCH=1).
// Usage: node bench.mjs [rounds=10]   (BENCH_INFER_BATCHES=1,4,16 picks the variants)
import { startDetector, waitHealthy, images } from './test/support.mjs';

const rounds = Number(process.argv[2] ?? 10);
const previews = await Promise.all(Array.from({ length: 16 }, async (_, i) =>
  images.preview(await (i % 4 === 0 ? images.gradient() : images.photo(i + 1)))));
const body = JSON.stringify({ images: previews.map((p, i) => ({ id: String(i), data: p.toString('base64') })) });
const one = JSON.stringify({ images: [{ id: 'first', data: previews[1].toString('base64') }] });
const post = async (url, b) => {
  const r = await fetch(`${url}/v1/classify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: b });
  const j = await r.json();
  if (r.status !== 200 || j.results.some((x) => x.error)) throw new Error(JSON.stringify(j));
  return j;
};
const kb = Math.round(previews.reduce((s, p) => s + p.length, 0) / previews.length / 1024);
console.log(`node ${process.version}, 16 previews of 640x480 WebP q80 (~${kb} KiB each), ${rounds} rounds`);
for (const inferBatch of (process.env.BENCH_INFER_BATCHES ?? '1,4,16').split(',')) {
  const t0 = Date.now();
  const det = await startDetector({ NSFW_INFER_BATCH: inferBatch });
  try {
    const h = await waitHealthy(det.url);
    const ready = Date.now() - t0;
    let t = performance.now();
    await post(det.url, one);
    const first = performance.now() - t;
    t = performance.now();
    await post(det.url, one);
    const second = performance.now() - t;
    const times = [];
    for (let r = 0; r < rounds; ++r) {
      t = performance.now();
      await post(det.url, body);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const med = times[Math.floor(times.length / 2)];
    console.log(`infer batch ${inferBatch.padStart(2)}: healthy after ${ready} ms (model ${h.body.model} on ${h.body.backend}), ` +
                `first request ${first.toFixed(0)} ms, second ${second.toFixed(0)} ms; batch of 16: median ${med.toFixed(0)} ms ` +
                `(min ${times[0].toFixed(0)}, max ${times.at(-1).toFixed(0)}) = ${(16000 / med).toFixed(1)} images/s`);
  } finally {
    await det.stop();
  }
}
