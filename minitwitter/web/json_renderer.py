"""A fast JSON renderer (orjson) that Cornice uses for results and errors alike."""

import orjson

from minitwitter.web.errors import cornice_errors


class OrjsonRenderer:
    """Renders view results with orjson; datetimes come out as RFC 3339 strings."""

    def __init__(self, info=None):
        pass

    def __call__(self, info):
        return self._render

    def _render(self, value, system):
        request = system.get("request")
        if request is not None:
            response = request.response
            if response.status_code == 204 or (response.status_code == 202 and value is None):
                response.content_type = None
                return b""
            response.content_type = "application/json"
            response.charset = None
        return orjson.dumps(value)

    def render_errors(self, request):
        return cornice_errors(request)


def includeme(config):
    renderer = OrjsonRenderer()
    # Cornice services render with "cornicejson" by default: take that name over.
    config.add_renderer("cornicejson", renderer)
    config.add_renderer("json", renderer)
