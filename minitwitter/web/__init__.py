"""The HTTP edge every face shares: the server, ingress, errors, CORS, rate limits,
observability, the response and near caches, the JSON renderer, the JWT policy, paging."""
