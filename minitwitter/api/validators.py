"""The request validators of the native views: cornice's colander_validator, and
colander_body_validator with its request schema made once per body schema.

cornice's colander_body_validator makes a new colander class, through a metaclass, and an
instance of it around the body schema at every request (cornice/validators/_colander.py):
measured at 110-125 µs of a post's 3 ms of API CPU (W1, docs/PERFORMANCE.md). This one
makes that schema once and then validates exactly as cornice does (colander_validator over
{"body": the schema}: the same errors, named `body.<field>`)."""

import colander
from cornice.validators import colander_validator

__all__ = ["colander_body_validator", "colander_validator"]

_REQUEST_SCHEMAS = {}  # id(body schema) -> (body schema, its request schema)


def _request_schema(schema):
    made = _REQUEST_SCHEMAS.get(id(schema))
    if made is None or made[0] is not schema:
        body = schema.clone()
        body.name = "body"
        request_schema = colander.MappingSchema()
        request_schema.add(body)
        made = _REQUEST_SCHEMAS[id(schema)] = (schema, request_schema)
    return made[1]


def colander_body_validator(request, schema=None, deserializer=None, **kwargs):
    """Validate the body against `schema` into request.validated (cornice's, made once)."""
    if schema is None:
        return
    colander_validator(request, _request_schema(schema), deserializer, **kwargs)
    body = request.validated.pop("body", {})
    request.validated.update(body)
