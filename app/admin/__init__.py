"""``app.admin:app`` — the admin API process. This package only assembles the app: the
domains own their routers, ``app.auth`` the principal, ``app.uow`` the unit of work."""

from app.admin.app import create_admin_app

app = create_admin_app()
