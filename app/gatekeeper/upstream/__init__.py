"""The upstream: the national platform ybgate forwards to in 前置 mode.

Owns the pooled HTTP client to the platform (``client``: aiohttp, keep-alive, TLS with a
configurable CA bundle, connect and overall deadlines, a bound on requests in flight and
waiting), its circuit breaker (``breaker``), its metrics, and the platform's answers kept
for msgid idempotency (``answers``).

May import: ``app.core``, ``app.gatekeeper.edge``. Nothing else of the gatekeeper.
"""
