"""ybgate: the claims-settlement gatekeeper for physician service agreements."""
