"""Response shapes, as the OpenAPI schema publishes them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from function.model import LABELS

_PRED = f"every label ({', '.join(LABELS)}) -> probability, most likely first; sums to 1"


class BoxOut(BaseModel):
    x: int
    y: int
    width: int
    height: int


class FaceOut(BaseModel):
    box: BoxOut = Field(description="pixels of the image as sent (after EXIF rotation)")
    emotion: str = Field(description="the most likely label")
    confidence: float = Field(description="its calibrated probability")
    predictions: dict[str, float] = Field(description=_PRED)


class FaceResponse(BaseModel):
    predictions: dict[str, float] | None = Field(
        description=f"the largest face's predictions ({_PRED}); null when no face was found")
    faces: list[FaceOut] = Field(description="largest first; empty when no face was found")
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
    detector: str
    threads: int
