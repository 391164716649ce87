"""One Cornice module per resource. Views hold no SQL: they call request.queries."""
