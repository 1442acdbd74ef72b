"""Response shapes, as the OpenAPI schema publishes them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from function.detect import LANDMARKS
from function.limits import MAX_FACES
from function.model import LABELS

_PRED = f"every label ({', '.join(LABELS)}) -> probability, most likely first; sums to 1"


class BoxOut(BaseModel):
    x: int
    y: int
    width: int
    height: int


class LandmarkOut(BaseModel):
    type: Literal[LANDMARKS] = Field(description=(
        "which point; left and right are the person's (their right eye is on the left "
        "of the picture)"))
    x: float
    y: float


class FaceOut(BaseModel):
    box: BoxOut = Field(description="pixels of the image as sent (after EXIF rotation)")
    landmarks: list[LandmarkOut] = Field(description=(
        "eyes, nose tip, mouth centre and ear tragions, in pixels like the box; empty "
        "with detect=false"))
    emotion: str = Field(description="the most likely label")
    confidence: float = Field(description="its calibrated probability")
    predictions: dict[str, float] = Field(description=_PRED)


class FaceResponse(BaseModel):
    predictions: dict[str, float] | None = Field(
        description=f"the largest face's predictions ({_PRED}); null when no face was found")
    faces: list[FaceOut] = Field(description=(
        f"largest first, at most {MAX_FACES}; empty when no face was found"))
    faces_found: int = Field(ge=0, description=(
        "faces found in all (1 with detect=false); more than len(faces) when truncated"))
    truncated: bool = Field(description=(
        f"true when more than {MAX_FACES} faces were found and only the {MAX_FACES} "
        "largest are in faces"))
    model: str = Field(description="model name@version")


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class Health(BaseModel):
    status: str
    model: str
    labels: list[str]
    input_size: int
    precision: str
    detector: str
    threads: int
