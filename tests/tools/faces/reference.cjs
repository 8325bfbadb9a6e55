// Runs face-api (the original networks and pipeline) on tfjs's pure-JavaScript CPU backend and prints JSON reference
// data for the engine's face tests. usage: node reference.cjs WEIGHTS_DIR RAW_DIR name...  (see make-reference.sh)
// face-api.node-wasm.js is the package's node build without tfjs-node's native binary; it only registers the wasm
// backend, and we select 'cpu' so every op runs in plain JavaScript.
const fs = require('fs');
const path = require('path');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const tf = faceapi.tf;

const [weightsDir, rawDir, ...names] = process.argv.slice(2);

function loadNet(net, model) {
  const manifest = JSON.parse(fs.readFileSync(path.join(weightsDir, `${model}-weights_manifest.json`), 'utf8'));
  const specs = manifest.flatMap((group) => group.weights);
  const buffers = manifest.flatMap((group) => group.paths.map((p) => fs.readFileSync(path.join(weightsDir, p))));
  const all = Buffer.concat(buffers);
  const weightMap = tf.io.decodeWeights(all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength), specs);
  net.loadFromWeightMap(weightMap);
}

function readImage(name) {
  const { height, width } = JSON.parse(fs.readFileSync(path.join(rawDir, `${name}.json`), 'utf8'));
  const bytes = fs.readFileSync(path.join(rawDir, `${name}.rgb`));
  return tf.tensor3d(new Int32Array(bytes), [height, width, 3], 'int32');
}

const rect = (b) => ({ x: b.x, y: b.y, width: b.width, height: b.height });
const points = (lm) => lm.positions.map((p) => [p.x, p.y]);

async function main() {
  await tf.setBackend('cpu');
  await tf.ready();
  loadNet(faceapi.nets.tinyFaceDetector, 'tiny_face_detector_model');
  loadNet(faceapi.nets.faceLandmark68Net, 'face_landmark_68_model');
  loadNet(faceapi.nets.faceRecognitionNet, 'face_recognition_model');
  const options = new faceapi.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: 0.5 });

  const out = {
    generator: `face-api ${faceapi.version} on tfjs ${tf.version_core}, backend ${tf.getBackend()}`,
    detector: { inputSize: 416, scoreThreshold: 0.5 },
    images: {},
  };
  for (const name of names) {
    const image = readImage(name);
    const faces = await faceapi.detectAllFaces(image, options).withFaceLandmarks().withFaceDescriptors();
    const entry = {
      faces: faces.map((f) => ({
        score: f.detection.score,
        box: rect(f.detection.box),
        landmarks: points(f.landmarks),
        alignedRect: rect(f.landmarks.align(null, { useDlibAlignment: true })),
        descriptor: Array.from(f.descriptor),
      })),
    };
    if (name === names[0]) {
      // Whole-network outputs on the whole picture: each net checked on its own, apart from the pipeline's geometry.
      const grid = await faceapi.nets.tinyFaceDetector.forward(image, 416);
      entry.detectorGrid = { shape: grid.shape, nhwc: Array.from(await grid.data()) };
      const relative = await faceapi.nets.faceLandmark68Net.forward(image);
      entry.landmarksWholeImage = Array.from(await relative.data());
      entry.descriptorWholeImage = Array.from(await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(image));
    }
    out.images[name] = entry;
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
