"""The HIS-facing hot path: ``app.gatekeeper:app`` (the ASGI app of ``app.py``).

Rooms, lowest first; a room imports only the rooms before it (enforced by
``tests/rules/test_architecture.py``, ``GATEKEEPER_ROOMS``):

``edge``       raw ASGI, problems, bearer auth and admission, request counters
``decisions``  ids, journal, spill, decision log, msgid records, lookup by id
``host``       the runtime the lifespan builds; ``Host``, what a route sees of the app
``plain``      ``POST /v1/settlements/validate``: schemas, checks, decide, validate
``national``   ``POST /v1/hsa`` (2204/2301/5102): schemas, amounts, reference, C fast path
``readside``   ``GET /v1/roster``, eligibility, ``GET /v1/decisions/{id}``
(top level)    assembly: ``app.py``, ``routes.py``, ``openapi.py``, ``gauges.py``,
               ``feed.py`` (the registry feed started by the lifespan)
``server``     the HTTP protocol and processes (coalescing, inline, prefork); it imports
               the app, nothing in ``app/`` imports it

A 2204 message passes ``server.inline`` (or ``app.py`` -> ``national.hsa``) ->
``edge.auth.admit`` -> ``national.fast`` (or the reference in ``national.hsa``) ->
``decisions.idempotency`` claim -> ``decisions.journal`` -> the answer.
"""

from app.gatekeeper.app import GatekeeperApp, create_gatekeeper_app

__all__ = ["GatekeeperApp", "app", "create_gatekeeper_app"]

app = create_gatekeeper_app()
