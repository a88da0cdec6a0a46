"""One module per resource. Each router carries its full prefix, so that a route's template
(used for metrics labels) is the path clients see."""

API_PREFIX = "/v1"
