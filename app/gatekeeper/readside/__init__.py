"""What an HIS reads, off the hot path: ``GET /v1/roster``, the eligibility of one
physician, and one decision explained (``GET /v1/decisions/{id}``).

May import: ``edge``, ``decisions``, ``host``, ``plain`` (its schemas); ``app.core``,
``app.registry``.
"""
