"""Every input limit of the API, in one place (the OpenAPI text and the tests read them here)."""

# API Gateway and synchronous Lambda invocations cap a request at 6 MB, and a binary body
# reaches Lambda base64-encoded (4/3 larger): 4 MiB of body stays under the cap either way.
MAX_BODY_BYTES = 4 * 1024 * 1024

# Decoded size cap: a 4 MiB PNG can still claim 50,000 x 50,000 pixels (a decompression
# bomb). 24 MP covers any phone photo while bounding memory at ~72 MB of RGB.
MAX_PIXELS = 24_000_000

# JSON bodies are tiny objects; anything nested deeper is hostile.
MAX_JSON_DEPTH = 8

# Faces per image that are classified: one batch, bounded latency.
MAX_FACES = 16

IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
