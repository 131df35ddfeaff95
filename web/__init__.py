"""Everything HTTP: the Starlette app, middleware, the GraphQL views, pages and probes.

Only server.py (and the tests) import this package; it reaches the schema, the
resolvers and the services, never the other way round (tests/test_layers.py).
"""
