// The bundled detector as Chorus uses it: started for real on a free port,
// healthy within a deadline, a batch of generated images classified with one
// bad image failing alone, and every malformed request a 4xx JSON error.
// Run: node --test test/detector.test.mjs (ctest: nsfw_detector, label ml).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDetector, waitHealthy, images } from './support.mjs';

const CLASSES = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];
let det;

before(async () => {
  det = await startDetector({ NSFW_MAX_BATCH: '20', NSFW_MAX_BODY_BYTES: String(4 << 20) });
  // Before the model is loaded /health is 503 {"status":"loading"}; a refused
  // classify must not be a 5xx other than 503.
  const early = await fetch(`${det.url}/health`);
  assert.ok(early.status === 503 || early.status === 200, `health: ${early.status}`);
  if (early.status === 503) assert.equal((await early.json()).status, 'loading');
  const h = await waitHealthy(det.url, 120_000);
  assert.deepEqual(h.body.status, 'ok');
  assert.equal(h.body.model, 'MobileNetV2');
});

after(async () => { await det?.stop(); });

async function post(body, type = 'application/json') {
  const r = await fetch(`${det.url}/v1/classify`, {
    method: 'POST', headers: { 'content-type': type }, body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { assert.fail(`not JSON (${r.status}): ${text}`); }
  return { status: r.status, json };
}

const b64 = (buf) => buf.toString('base64');

test('a batch of generated images: scores, one corrupt image failing alone', async () => {
  const [flat, gradient, photo, corrupt] = await Promise.all([images.flat(), images.gradient(), images.photo(7), images.corrupt()]);
  const preview = await images.preview(photo);  // the WebP preview Chorus sends
  const batch = [
    { id: 'flat', data: b64(flat) }, { id: 'gradient', data: b64(gradient) }, { id: 'photo', data: b64(photo) },
    { id: 'bad', data: b64(corrupt) }, { id: 'preview', data: b64(preview) },
  ];
  const { status, json } = await post({ images: batch });
  assert.equal(status, 200, JSON.stringify(json));
  assert.equal(json.model, 'MobileNetV2');
  assert.deepEqual(json.results.map((r) => r.id), batch.map((b) => b.id), 'results in request order');
  for (const r of json.results) {
    if (r.id === 'bad') {
      assert.match(r.error, /undecodable image/);
      assert.equal(r.scores, null);
      assert.equal(r.nsfw, null);
      continue;
    }
    assert.equal(r.error, null, `${r.id}: ${r.error}`);
    assert.deepEqual(Object.keys(r.scores).sort(), CLASSES);
    const sum = CLASSES.reduce((s, c) => s + r.scores[c], 0);
    assert.ok(Math.abs(sum - 1) < 1e-3, `${r.id}: scores sum to ${sum}`);
    for (const c of CLASSES) assert.ok(r.scores[c] >= 0 && r.scores[c] <= 1, `${r.id}.${c}`);
    assert.equal(r.nsfw, Math.max(r.scores.Porn, r.scores.Hentai));
  }
  const flatScores = json.results[0].scores;
  const top = CLASSES.reduce((a, c) => (flatScores[c] > flatScores[a] ? c : a), CLASSES[0]);
  assert.ok(top === 'Neutral' || top === 'Drawing', `a flat colour is ${top}: ${JSON.stringify(flatScores)}`);
  assert.ok(json.results[0].nsfw < 0.2, `flat colour nsfw ${json.results[0].nsfw}`);
  // The preview of the photo scores close to the photo itself.
  assert.ok(Math.abs(json.results[2].nsfw - json.results[4].nsfw) < 0.15);
});

test('one image as raw bytes, as curl sends it', async () => {
  const png = await images.flat(200, 100, '#ffffff');
  const { status, json } = await post(png, 'image/png');
  assert.equal(status, 200, JSON.stringify(json));
  assert.equal(json.results.length, 1);
  assert.equal(json.results[0].id, 'image');
  assert.equal(json.results[0].error, null);
  const bad = await post(Buffer.from('not an image'), 'image/jpeg');
  assert.equal(bad.status, 200, 'a bad single image is a result with an error');
  assert.match(bad.json.results[0].error, /undecodable/);
});

test('per-image errors: bad base64, missing data or id', async () => {
  const { status, json } = await post({ images: [{ id: 'x', data: '!!notbase64' }, { id: 'y' }, { data: 'AAAA' }, { id: 7, data: b64(await images.flat(64, 64)) }] });
  assert.equal(status, 200);
  assert.match(json.results[0].error, /base64/);
  assert.match(json.results[1].error, /data/);
  assert.match(json.results[2].error, /id/);
  assert.equal(json.results[3].id, '7');
  assert.equal(json.results[3].error, null);
});

test('malformed requests are 4xx JSON errors', async () => {
  const cases = [
    [['{"images": [', 'application/json'], 400],
    [['[]', 'application/json'], 400],
    [['{"images": "x"}', 'application/json'], 400],
    [['{"images": []}', 'application/json'], 400],
    [['{"images": [1]}', 'application/json'], 400],
    [[JSON.stringify({ images: Array.from({ length: 21 }, (_, i) => ({ id: String(i), data: 'AAAA' })) }), 'application/json'], 400],
    [['hello', 'text/plain'], 415],
    [['', 'image/png'], 400],
    [[Buffer.alloc(5 << 20, 65), 'application/json'], 413],
  ];
  for (const [[body, type], want] of cases) {
    const { status, json } = await post(body, type);
    assert.equal(status, want, `${type} ${String(body).slice(0, 40)}: ${JSON.stringify(json)}`);
    assert.equal(typeof json.error, 'string');
  }
  const get = await fetch(`${det.url}/v1/classify`);
  assert.equal(get.status, 405);
  const missing = await fetch(`${det.url}/nope`);
  assert.equal(missing.status, 404);
  assert.equal((await fetch(`${det.url}/health`)).status, 200, 'still healthy');
});

test('concurrent batches are all answered', async () => {
  const imgs = await Promise.all([1, 2, 3].map((s) => images.photo(s, 320, 240)));
  const rs = await Promise.all(imgs.map((p, i) => post({ images: [{ id: `c${i}`, data: b64(p) }] })));
  for (const [i, r] of rs.entries()) {
    assert.equal(r.status, 200);
    assert.equal(r.json.results[0].id, `c${i}`);
    assert.equal(r.json.results[0].error, null);
  }
  assert.match(det.log(), /POST \/v1\/classify 200 [0-9.]+ms images=1/, 'one log line per request with timing');
});
