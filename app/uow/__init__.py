"""The write path: one unit of work per transaction, one way to write inside it.

``unit_of_work`` (begin → yield → outbox → commit → version → feed) is used by the request
dependency, the bootstrap and the seed alike. Inside it every write goes through
``change``: snapshot before, the caller changes, flush, snapshot after, audit entry,
typed registry touches registered on the unit of work (dropped with it on rollback).
"""

from app.uow.change import Change, On, change
from app.uow.work import Touch, UnitOfWork, unit_of_work

__all__ = ["Change", "On", "Touch", "UnitOfWork", "change", "unit_of_work"]
