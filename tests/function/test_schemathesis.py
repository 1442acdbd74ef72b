"""Schema-driven fuzzing: requests generated from the API's own OpenAPI document (valid
and deliberately invalid ones), sent to the in-process ASGI app (no network).

Every answer must be no 5xx, a status and Content-Type the schema lists, and a body that
matches the schema of that status (the error shape included).
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from function.handler import app

schema = schemathesis.openapi.from_asgi("/openapi.json", app)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@schema.parametrize()
# deadline off: a generated body can be a few MB; database off: nothing written to the repo.
@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.data_too_large])
def test_every_generated_request_is_answered_as_documented(case) -> None:
    case.call_and_validate(checks=CHECKS)
