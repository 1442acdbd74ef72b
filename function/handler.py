"""The emotion API: FastAPI app, and the Lambda entry point (Mangum) wrapped by Powertools.

The model and the face detector load at import, so a Lambda cold start pays for them
once and no request ever does.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from fastapi import Depends, FastAPI, Query, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from mangum import Mangum

from function import errors
from function.detect import FaceDetector
from function.inference import Inference
from function.inputs import (
    ACCEPTED_TYPES,
    FLAG_VALUES,
    FORM_FIELD,
    BodyLimitMiddleware,
    FlagText,
    read_image_request,
)
from function.limits import MAX_BODY_BYTES, MAX_PIXELS
from function.model import EmotionModel, configure_threads, default_model_path, load_model
from function.schemas import ErrorResponse, FaceResponse, Health
from function.service import analyse
from function.settings import Settings, get_settings

# /health and refused requests add no metric; that is expected, not worth a warning.
warnings.filterwarnings("ignore", "No application metrics to publish")
# Read once, at import: a bad variable stops the cold start (or `make run`) here, named.
SETTINGS = get_settings()
logger = Logger(service=SETTINGS.service)
metrics = Metrics(namespace="EmotionEvaluator")
tracer = Tracer()
THREADS = configure_threads()
INFERENCE = Inference(THREADS)
# One detection runs at a time (the detector's lock): it may take more threads than each
# request's torch (function/serve.py gives it the process's share of the CPUs).
DETECTOR_THREADS = SETTINGS.detector_threads or THREADS


@lru_cache
def get_model() -> EmotionModel:
    return load_model(default_model_path())


@lru_cache
def get_detector() -> FaceDetector:
    return FaceDetector(threads=DETECTOR_THREADS)


_B64 = {"type": "string", "description": "base64 of a JPEG/PNG/WebP, or a data: URL"}
_FILE = {"type": "string", "format": "binary", "description": "a JPEG/PNG/WebP file"}
_FLAG_TEXT = {"type": "string", "enum": list(FLAG_VALUES)}


def _flag_schema(default: bool, text: str, json: bool = False) -> dict:
    """detect as a form field (text) or in JSON (its booleans and 1/0 as well)."""
    values = [_FLAG_TEXT, {"type": "boolean"}, {"type": "integer", "enum": [0, 1]}] \
        if json else [_FLAG_TEXT]
    return {"anyOf": values, "default": default, "description": text}


_CROP = "false: the image is already a face crop, classified whole"
_REQUEST_BODY = {
    "required": True,
    "description": f"One image, at most {MAX_BODY_BYTES} bytes of body and "
                   f"{MAX_PIXELS:,} pixels.",
    "content": {
        "application/json": {"schema": {
            "type": "object", "required": ["image"],
            "properties": {"image": _B64, "detect": _flag_schema(True, _CROP, json=True)}}},
        "application/x-www-form-urlencoded": {"schema": {
            "type": "object", "required": [FORM_FIELD],
            "properties": {FORM_FIELD: _B64, "detect": _flag_schema(False, _CROP)}}},
        "multipart/form-data": {"schema": {
            "type": "object",
            "description": f"a file part (image, or {FORM_FIELD}): a photo, faces found unless "
                           f"detect says otherwise; or the prototype's {FORM_FIELD} base64 "
                           "text field: a face crop unless detect says otherwise",
            "properties": {"image": _FILE, FORM_FIELD: {"anyOf": [_B64, _FILE]},
                           "detect": _flag_schema(True, f"{_CROP}; default false for the "
                                                  f"{FORM_FIELD} text field")}}},
        **{t: {"schema": {"type": "string", "format": "binary"}}
           for t in ACCEPTED_TYPES if t.startswith("image/")},
    },
}
_ERRORS = {code: {"model": ErrorResponse, "description": text} for code, text in {
    400: "no image, not base64, not an image, bad JSON or form",
    413: "body or pixel count over the limit",
    415: "unsupported Content-Type or image format",
    422: "a parameter has a wrong value",
}.items()}


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API; ``settings`` (default: get_settings()) decide its CORS headers."""
    settings = settings or get_settings()
    # No docs pages here: FastAPI's load Swagger UI from a CDN. The local server serves
    # /docs from its own copy (function/serve.py); /openapi.json is the schema either way.
    app = FastAPI(title="Emotion evaluator API", version="1.0.0",
                  description="Finds faces in an image and rates each for eight emotions.",
                  docs_url=None, redoc_url=None)
    errors.install(app)
    app.add_middleware(BodyLimitMiddleware)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["Content-Type"],
                           expose_headers=["Server-Timing"], max_age=3600)

    @app.post("/face", response_model=FaceResponse, responses=_ERRORS,
              openapi_extra={"requestBody": _REQUEST_BODY},
              summary="Emotions of the faces in one image")
    async def face(request: Request,
                   detect: FlagText | None = Query(None, description=(
                       "find faces (true, 1) or take the whole image as one face crop "
                       f"(false, 0); wins over a detect in the body; default: false for the "
                       f"{FORM_FIELD} text field, true otherwise")),
                   model: EmotionModel = Depends(get_model),
                   detector: FaceDetector = Depends(get_detector)) -> JSONResponse:
        req = await read_image_request(request, detect)
        result = await INFERENCE.arun(analyse, req.data, req.detect, model, detector)
        ms = result.timings_ms
        logger.info("face", extra={"bytes": len(req.data), "detect": req.detect,
                                   "faces": result.faces, "faces_found": result.found,
                                   **{f"{k}_ms": round(v, 2) for k, v in ms.items()}})
        if "aws.event" in request.scope:   # metrics are flushed per Lambda invocation only
            metrics.add_metric("Latency", MetricUnit.Milliseconds, sum(ms.values()))
            metrics.add_metric("FacesFound", MetricUnit.Count, result.faces)
        timing = ", ".join(f"{k};dur={v:.1f}" for k, v in ms.items())
        return JSONResponse(result.answer, headers={"Server-Timing": timing})

    @app.get("/health", response_model=Health, summary="Model and detector status")
    def health(model: EmotionModel = Depends(get_model),
               detector: FaceDetector = Depends(get_detector)) -> Health:
        return Health(status="ok", model=model.info.id, labels=list(model.info.labels),
                      input_size=model.info.input_size, precision=model.precision,
                      detector=detector.name,
                      threads=THREADS)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return errors.error_response(500, "internal_error", "the server failed; try again")

    return app


# Load at import: the Lambda init phase (cold start) pays for it, not a request. The model
# warms up where it will run (function/inference.py).
INFERENCE.run(get_model)
get_detector()
app = create_app()
_mangum = Mangum(app, lifespan="off")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict, context: object) -> dict:
    return _mangum(event, context)
