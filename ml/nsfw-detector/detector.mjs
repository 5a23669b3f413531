// The detector itself, without HTTP: loads one of the models the nsfwjs npm
// package ships (no network: the weights are JavaScript modules inside the
// package) on TensorFlow.js's wasm backend, decodes images with sharp, and
// classifies a batch of images as one tensor batch.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as nsfwjs from 'nsfwjs';
import sharp from 'sharp';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

export const MODELS = { MobileNetV2: 224, MobileNetV2Mid: 224, InceptionV3: 299 };
export const CLASSES = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];  // the model's output order

// Quiet nsfwjs's advertising console.info lines while loading.
async function quietly(fn) {
  const info = console.info;
  console.info = () => {};
  try { return await fn(); } finally { console.info = info; }
}

export async function load({ model = 'MobileNetV2', backend = 'wasm' } = {}) {
  if (!(model in MODELS))
    throw new Error(`unknown model ${model} (one of ${Object.keys(MODELS).join(', ')})`);
  if (backend === 'wasm') {
    // The .wasm binaries are files of the npm package; tfjs reads them from disk.
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    setWasmPaths(dist + path.sep);
  }
  await tf.setBackend(backend);
  await tf.ready();
  const size = MODELS[model];
  const net = await quietly(() => nsfwjs.load(model, { size }));
  return new Detector(net, model, size);
}

export class Detector {
  constructor(net, model, size) {
    this.net = net;
    this.model = model;
    this.size = size;
    this.backend = tf.getBackend();
  }

  // Decodes one image (JPEG, PNG, WebP, GIF, AVIF/TIFF as sharp knows them) into
  // size×size RGB bytes: EXIF orientation applied, alpha flattened on white,
  // stretched to the square as nsfwjs itself does. Throws on anything else.
  async decode(bytes, { maxPixels = 40e6 } = {}) {
    const { data } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error', sequentialRead: true })
      .rotate()
      .flatten({ background: '#ffffff' })
      .resize(this.size, this.size, { fit: 'fill', kernel: 'linear' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (data.length !== this.size * this.size * 3)
      throw new Error('decoded to an unexpected size');
    return data;
  }

  // Scores of decoded images (arrays of size×size×3 bytes), one forward pass of
  // up to `batch` images at a time: [{Drawing, Hentai, Neutral, Porn, Sexy}].
  async infer(pixels, { batch = 16 } = {}) {
    const out = [];
    const px = this.size * this.size * 3;
    for (let i = 0; i < pixels.length; i += batch) {
      const chunk = pixels.slice(i, i + batch);
      const flat = new Uint8Array(chunk.length * px);
      chunk.forEach((p, k) => flat.set(p, k * px));
      const probs = tf.tidy(() => {
        const x = tf.tensor4d(flat, [chunk.length, this.size, this.size, 3], 'int32').toFloat().div(255);
        return this.net.model.predict(x);
      });
      const values = await probs.data();
      probs.dispose();
      for (let k = 0; k < chunk.length; ++k) {
        const scores = {};
        CLASSES.forEach((c, j) => { scores[c] = values[k * CLASSES.length + j]; });
        out.push(scores);
      }
    }
    return out;
  }
}
