"""Face detection with MediaPipe's BlazeFace (short-range model), run by LiteRT (TensorFlow
Lite's runtime, with its XNNPACK CPU kernels) at two sizes: boxes and six landmarks per face.
Why this detector, with the figures: docs/face-detection-history.md and docs/detection.md.

The package, from the bottom up:

- ``faces``: what it answers (Box, Detection);
- ``runtime``: the weights' file and the interpreter that runs it;
- ``blazeface``: the model's decoding, step for step as site/blazeface.js, with the numbers
  both read from blazeface.json;
- ``policy``: where it looks (the whole-picture passes, the tiles, the smallest face);
- ``net``: one pass's network, and the tiles';
- ``detector``: FaceDetector, which runs them on a picture.
"""

from function.detect.blazeface import LANDMARKS, MAX_SHAPES
from function.detect.detector import FaceDetector
from function.detect.faces import Box, Detection, Point
from function.detect.policy import PASSES, TILES, Pass, Tiles, smallest_face
from function.detect.runtime import SHORT_RANGE, WEIGHTS_PACKAGE, weights_path

__all__ = ["LANDMARKS", "MAX_SHAPES", "PASSES", "SHORT_RANGE", "TILES", "WEIGHTS_PACKAGE",
           "Box", "Detection", "FaceDetector", "Pass", "Point", "Tiles", "smallest_face",
           "weights_path"]
