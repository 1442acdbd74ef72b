"""What the detector answers: boxes in the picture's pixels, and landmarks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    def scaled(self, s: float) -> Box:
        return Box(round(self.x * s), round(self.y * s), round(self.width * s),
                   round(self.height * s))

    def expanded(self, margin: float, width: int, height: int) -> Box:
        """Grown by ``margin`` of its size on each side, clipped to the image."""
        dx, dy = self.width * margin, self.height * margin
        x0, y0 = max(0, round(self.x - dx)), max(0, round(self.y - dy))
        x1 = min(width, round(self.x + self.width + dx))
        y1 = min(height, round(self.y + self.height + dy))
        return Box(x0, y0, max(1, x1 - x0), max(1, y1 - y0))


Point = tuple[float, float]


@dataclass(frozen=True)
class Detection:
    box: Box
    landmarks: dict[str, Point]     # name -> (x, y) in the image's pixels; {} if none
    score: float = 1.0
