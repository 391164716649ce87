"""Every response the test suite sees, checked against the OpenAPI document the app serves.

conftest's `app` and `make_app` are DocumentedApps: after each request to a documented
operation, the response's status must be one the operation lists, its Content-Type one
the status lists, its required headers present, and a JSON body valid by the status's
schema. So the document (openapi.py, shapes.py) cannot drift from what the code answers
in any case a test exercises.
"""

import re

import webtest
from openapi_schema_validator import OAS31Validator

_PARAM = re.compile(r"\\\{(\w+)\\\}")


class Contract:
    def __init__(self, doc):
        self.doc = doc
        routes, rests = [], []
        for template, operations in doc["paths"].items():
            # A parameter is one path segment, or (tried after every route's segments) the
            # rest of a path without a trailing slash (/media/{path}).
            regex = _PARAM.sub(r"[^/]+", re.escape(template))
            routes.append((template.count("{"), re.compile(regex), operations))
            if not template.endswith("/") and regex.endswith("[^/]+"):
                rests.append((template.count("{"), re.compile(regex[: -len("[^/]+")] + ".+"), operations))
        # Literal segments first; a route with a trailing slash and one without (the Mastodon
        # face's) are both tried with the path as sent, then the other way.
        self.routes = sorted(routes, key=lambda route: route[0]) + sorted(rests, key=lambda route: route[0])
        self.validators = {}

    def operation(self, method, path):
        if method in ("HEAD", "OPTIONS"):
            return None
        for _params, regex, operations in self.routes:
            for candidate in (path, path.rstrip("/") + "/", path.rstrip("/")):
                if regex.fullmatch(candidate):
                    return operations.get(method.lower())
        return None

    def check(self, method, path, response):
        op = self.operation(method, path)
        if op is None:  # not an operation of the document (405, /metrics, the document itself)
            return
        where = f"{method} {path} -> {response.status}"
        documented = op["responses"].get(str(response.status_int))
        assert documented is not None, f"{where}: status not documented for {op['operationId']}"
        for name, header in documented.get("headers", {}).items():
            assert not header["required"] or name in response.headers, f"{where}: no {name} header"
        content = documented.get("content")
        if content is None:
            assert not response.body, f"{where}: a body where none is documented"
            return
        media_type = (response.content_type or "").split(";")[0]
        assert media_type in content, f"{where}: {media_type!r} is not one of {sorted(content)}"
        if media_type == "application/json":
            errors = sorted(self._validator(op, response.status_int).iter_errors(response.json), key=str)
            assert not errors, f"{where}: the body does not match the document: {errors[0]}"

    def _validator(self, op, status):
        key = (op["operationId"], status)
        if key not in self.validators:
            schema = op["responses"][str(status)]["content"]["application/json"]["schema"]
            self.validators[key] = OAS31Validator(
                {**schema, "components": self.doc["components"]}, format_checker=OAS31Validator.FORMAT_CHECKER
            )
        return self.validators[key]


_CONTRACT = []


def contract(wsgi_app):
    """The document's Contract; every app of the process serves the same one (the routes
    are Cornice's global services), so it is read once."""
    if not _CONTRACT:
        _CONTRACT.append(Contract(webtest.TestApp(wsgi_app).get("/api/openapi.json").json))
    return _CONTRACT[0]


class DocumentedApp(webtest.TestApp):
    """A TestApp whose every response must be what the app's OpenAPI document says."""

    def do_request(self, req, status=None, expect_errors=None):
        response = super().do_request(req, status=status, expect_errors=expect_errors)
        contract(self.app).check(req.method, req.path, response)
        return response
