"""Who is calling: the principal, its role, token hashing, and the request dependencies."""
