"""The native face: its Cornice views (views/), input schemas, response shapes and OpenAPI."""
