"""What every request goes through before routing.

- Every route answers with and without its trailing slash: routes are declared
  without one and the slash is dropped here, so `/api/posts/` needs no redirect.
- Bodies over `limits.max_body_bytes` get a 413 before anything reads them.
- A body in a type the API does not read gets a 415 instead of a confusing 400.
"""

from pyramid.tweens import INGRESS

from minitwitter.errors import http_error

ACCEPTED_TYPES = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")


def tween_factory(handler, registry):
    max_body = int(registry.settings["limits.max_body_bytes"])

    def ingress(request):
        path = request.path_info
        if len(path) > 1 and path.endswith("/"):
            request.path_info = path.rstrip("/") or "/"
        length = request.content_length or 0
        if length > max_body:
            return http_error(413, f"The body is over {max_body} bytes")
        if request.content_type == "multipart/form-data" and "boundary=" not in request.headers["Content-Type"]:
            return http_error(
                400,
                "multipart/form-data needs a boundary",
                [{"location": "header", "name": "Content-Type", "description": "No multipart boundary"}],
            )
        if length and request.content_type not in ACCEPTED_TYPES:
            return http_error(
                415,
                f"Content-Type must be one of: {', '.join(ACCEPTED_TYPES)}",
                [{"location": "header", "name": "Content-Type", "description": "Unsupported media type"}],
            )
        return handler(request)

    return ingress


def includeme(config):
    # Below the request id and access log when they are there, else at the top.
    config.add_tween("minitwitter.ingress.tween_factory", under=("minitwitter.observability.tween_factory", INGRESS))
