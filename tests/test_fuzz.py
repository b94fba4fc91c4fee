"""Fuzz the running app's OpenAPI schema: no 5xx, and every response matches the schema."""

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from hipbot.api import create_app

EXAMPLES_PER_OPERATION = 60


def test_api_holds_its_schema(settings, bot) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(settings, bot=bot, watch=False))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/chat", "/health"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck)
        )
        def holds(case: schemathesis.Case) -> None:
            response = case.call()
            assert response.status_code < 500, response.text
            case.validate_response(response)

        holds()
