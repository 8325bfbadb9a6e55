#!/usr/bin/python3
"""Makes the astronaut example: three reference photos and one old photo of the same face.

Source: scikit-image's `astronaut` (Eileen Collins, NASA; public domain), shipped with python3-skimage.
The reference photos are different crops of the face; the old photo is another crop, shrunk, blurred and
JPEG-compressed so that it looks like a small, worn print. Run: /usr/bin/python3 examples/astronaut/make.py
"""
import io
import os

from PIL import Image, ImageFilter
from skimage import data

here = os.path.dirname(os.path.abspath(__file__))
face = Image.fromarray(data.astronaut())

# (left, top, right, bottom) boxes around the face, each framed a little differently.
crops = [(150, 20, 330, 200), (158, 28, 318, 188), (135, 0, 345, 210)]
os.makedirs(os.path.join(here, "photos"), exist_ok=True)
for i, box in enumerate(crops, 1):
    face.crop(box).resize((192, 192), Image.LANCZOS).save(os.path.join(here, "photos", f"{i}.png"), optimize=True)

old = face.crop((145, 15, 325, 195)).resize((48, 48), Image.LANCZOS).filter(ImageFilter.GaussianBlur(0.8))
buffer = io.BytesIO()
old.save(buffer, "JPEG", quality=35)
Image.open(buffer).convert("RGB").save(os.path.join(here, "old.png"), optimize=True)
