"""Gateway credentials of an institution (x-tif / CSB pairs): issue, register, rotate,
revoke. The secret is sealed at rest (``app/core/secrets.py``) and shown once."""
