"""The edge: the lowest room of the gatekeeper.

Owns raw ASGI (scope, send, bounded body reading, response bytes), problems on the wire,
the header checks every route shares (one ``Authorization``, bearer authentication from
the registry's token map, admission by ``Content-Length``) and the request counters.

May import: ``app.core``, ``app.registry``. Nothing else of the gatekeeper.
"""
