"""Writes the face test photos (real photographs shipped with scikit-image, none made here) as PNG into the
fixture folder, and each as raw RGB bytes (HxWx3 uint8, name.rgb + name.json with the size) for the node script.

usage: /usr/bin/python3 images.py FIXTURE_DIR RAW_DIR   (needs Debian's python3-skimage)"""
import json
import os
import sys

import numpy as np
from PIL import Image
from skimage import data

fixture_dir, raw_dir = sys.argv[1], sys.argv[2]
os.makedirs(fixture_dir, exist_ok=True)
os.makedirs(raw_dir, exist_ok=True)

astronaut = data.astronaut()                      # NASA portrait of Eileen Collins, 512x512 RGB, public domain
camera = np.repeat(data.camera()[:, :, None], 3, 2)  # "cameraman", 512x512 grayscale, as RGB
# Two different people in one picture: a 256x256 crop around each face, side by side (512x256).
pair = np.concatenate([astronaut[0:256, 93:349], camera[37:293, 96:352]], axis=1)

for name, img in [("astronaut", astronaut), ("camera", camera), ("pair", pair)]:
    Image.fromarray(img).save(os.path.join(fixture_dir, name + ".png"), optimize=True)
    np.ascontiguousarray(img, dtype=np.uint8).tofile(os.path.join(raw_dir, name + ".rgb"))
    with open(os.path.join(raw_dir, name + ".json"), "w") as f:
        json.dump({"height": img.shape[0], "width": img.shape[1]}, f)
