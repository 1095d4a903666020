"""The edge: the lowest room of the gatekeeper.

Owns raw ASGI (scope, send, bounded body reading, response bytes), problems on the wire,
the header checks every route shares (one ``Authorization``, bearer authentication from
the registry's token map, admission by ``Content-Length``), the platform gateway's
signatures (``gateway``: x-tif and CSB, verified on the registry's gateway credentials)
with their nonce stores (``nonces``: memory, or Redis shared by every instance) and the
request counters.

May import: ``app.core``, ``app.registry``. Nothing else of the gatekeeper.
"""
