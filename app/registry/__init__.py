"""The registry the hot path decides from: facts (the wire format), the compact in-memory
structure built from them, and the store that holds the current version."""
