"""Create the ``settlement_decisions`` table in a SQLite file (the bench's decision sink).

python bench/decisions_db.py var/bench/decisions.db
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine

from app.models.decisions import SettlementDecision


def main(path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    SettlementDecision.__table__.create(engine, checkfirst=True)
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1])
