"""One Cornice module per resource. Views hold no SQL: they call request.queries.

Each operation declares what it answers where its view is defined, as its service method's
`openapi=openapi.Answers(status, shape, errors=..., links=...)`: the document is built from
those (api/openapi.py), and the app does not start while one is missing."""
