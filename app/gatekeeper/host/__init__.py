"""What a route sees of the gatekeeper: the runtime its lifespan builds from settings
(limits, decision log, journal, msgid store) and ``Host``, the protocol the app object
satisfies, so the rooms above take the app without importing it.

May import: ``edge``, ``decisions``; ``app.core``, ``app.registry``.
"""
