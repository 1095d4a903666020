"""``ybgate``: serve, migrate, relay, seed, tokens, schemas, decisions."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from app.core.settings import get_settings

APPS = {"all": "app.main:app", "gatekeeper": "app.gatekeeper:app", "admin": "app.admin:app"}
# The gatekeeper's HTTP protocol (``--http``): "inline" decides the two hot routes in the
# parser's callbacks (app/gatekeeper/server/inline.py); "uvicorn" is uvicorn's httptools
# protocol with the guard's timeouts and connection bound, what the admin API runs.
# Both answer every request the same; see docs/benchmarks.md for what each costs.
PROTOCOLS = {
    "inline": "app.gatekeeper.server.inline:GatekeeperProtocol",
    "uvicorn": "app.core.guard:GuardedHttpToolsProtocol",
}


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from app.core.logs import log_config
    from app.core.memory import pin_mmap_threshold
    from app.core.secrets import SecretsKeyMissing, secret_box

    try:  # the production profile refuses to start without YBGATE_SECRETS_KEY
        secret_box(get_settings())
    except SecretsKeyMissing as err:
        raise SystemExit(f"ybgate serve {args.which}: {err}") from None
    pin_mmap_threshold()  # large transient buffers go back to the system (memory.py)

    # The hot path's server as benchmarked (bench/serve.sh): no proxy-header layer (the
    # gatekeeper uses neither client address nor scheme), no server header.
    hot = args.which == "gatekeeper"
    if args.http != "inline" and not hot:
        sys.exit("--http applies to `ybgate serve gatekeeper` only")
    protocol = PROTOCOLS[args.http] if hot else PROTOCOLS["uvicorn"]
    keepalive = max(1, round(get_settings().http_keepalive_s))
    # W > 1: one registry shared by the workers (app/gatekeeper/server/prefork.py).
    if hot and args.workers > 1:
        from app.gatekeeper.server.prefork import serve

        serve(
            args.workers,
            args.host,
            args.port,
            loop="uvloop",
            http=protocol,
            timeout_keep_alive=keepalive,
            proxy_headers=False,
            server_header=False,
            access_log=False,
            log_level="info",
            log_config=log_config(get_settings().log_format),
        )
        return
    uvicorn.run(
        APPS[args.which],
        host=args.host,
        port=args.port,
        loop="uvloop",
        # Every protocol times out slow headers and bodies and sheds connections past the
        # bound (app/core/guard.py; docs/limits.md).
        http=protocol,
        timeout_keep_alive=keepalive,
        proxy_headers=not hot,
        server_header=not hot,
        access_log=False,
        workers=1,
        log_level="info",
        log_config=log_config(get_settings().log_format),
    )


def _migrate(args: argparse.Namespace) -> None:
    from app.core.migrate import downgrade, upgrade

    url = get_settings().database_url
    if args.downgrade:
        downgrade(url, args.downgrade)
    else:
        upgrade(url)


def _relay(args: argparse.Namespace) -> None:
    from app.sync.relay import run_relay

    asyncio.run(run_relay(get_settings()))


def _seed(args: argparse.Namespace) -> None:
    from app.seed import seed_demo

    asyncio.run(seed_demo(get_settings(), port=args.port))


def _token(args: argparse.Namespace) -> None:
    from app.seed import mint_token

    print(asyncio.run(mint_token(get_settings(), args.role, args.region, args.institution)))


def _schemas(args: argparse.Namespace) -> None:
    from app.schemas_out import write_schemas

    for path in write_schemas(Path(args.dir)):
        print(path)


def _calendar(args: argparse.Namespace) -> None:
    from app.calendar.cli import load_file, problems
    from app.core.errors import DomainError

    try:
        text = Path(args.file).read_text(encoding="utf-8")
        print(asyncio.run(load_file(get_settings().database_url, text)))
    except DomainError as exc:
        print(problems(exc), file=sys.stderr)
        sys.exit(2)


def _import(args: argparse.Namespace) -> None:
    from app.imports.cli import run

    data = Path(args.file).read_bytes()
    sys.exit(asyncio.run(run(get_settings(), data, commit=args.commit)))


def _standin(args: argparse.Namespace) -> None:
    import logging
    import ssl

    import uvloop

    from app.standin.platform import Mode, Standin, serve

    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO)
    mode = Mode(delay_ms=args.delay_ms, refuse=args.refuse)
    standin = Standin(args.host, args.port, record=args.record, keep=args.keep, mode=mode)
    if args.cert:
        standin.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        standin.tls.load_cert_chain(args.cert, args.key)
    uvloop.run(serve(standin, args.control_port))


def _decisions(args: argparse.Namespace) -> None:
    from app.decisions.commands import main as run

    kw = {k: getattr(args, k, None) for k in _DECISION_ARGS}
    sys.exit(run(get_settings(), args.action, **kw))


_DECISION_ARGS = (
    "today",
    "day",
    "settlement_id",
    "institution_code",
    "physician_code",
    "since",
    "until",
    "limit",
)


def _decision_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("decisions", help="decision log retention: archive, restore, query")
    acts = p.add_subparsers(dest="action", required=True)
    a = acts.add_parser("archive", help="days past decision_hot_days -> Parquet, dropped")
    a.add_argument("--today", help="YYYY-MM-DD (default: today, UTC)")
    a = acts.add_parser("restore", help="copy an archived day back into its partition")
    a.add_argument("day", help="YYYY-MM-DD")
    a = acts.add_parser("query", help="archived decisions as JSON lines (DuckDB)")
    for name in ("settlement_id", "institution_code", "physician_code", "since", "until"):
        a.add_argument(f"--{name.replace('_', '-')}", dest=name)
    a.add_argument("--limit", default="20")
    p.set_defaults(func=_decisions)


def _standin_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("standin", help="a stand-in national platform (tests, demos, 前置 bench)")
    p.add_argument("--port", type=int, default=8100)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--control-port", type=int, help="GET /received, POST /mode")
    p.add_argument("--delay-ms", type=float, default=0.0, help="answer after this long")
    p.add_argument("--refuse", action="store_true", help="start refusing connections")
    p.add_argument("--record", metavar="FILE", help="append each request to FILE (JSON lines)")
    p.add_argument("--cert", help="PEM certificate: serve HTTPS (with --key)")
    p.add_argument("--key", help="PEM private key of --cert")
    p.add_argument("--keep", type=int, default=100_000, help="requests kept for GET /received")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_standin)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ybgate", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve all (embedded), the gatekeeper, or the admin API")
    p.add_argument("which", nargs="?", choices=sorted(APPS), default="all")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument(
        "--workers", type=int, default=1, help="gatekeeper: W pre-forked workers, one registry"
    )
    p.add_argument(
        "--http",
        choices=sorted(PROTOCOLS),
        default="inline",
        help="gatekeeper: its HTTP protocol (inline: the hot routes without ASGI)",
    )
    p.set_defaults(func=_serve)

    p = sub.add_parser("migrate", help="alembic upgrade head (or --downgrade REV)")
    p.add_argument("--downgrade", metavar="REV")
    p.set_defaults(func=_migrate)

    p = sub.add_parser("relay", help="publish the outbox to Redis (production profile)")
    p.set_defaults(func=_relay)

    p = sub.add_parser("seed", help="demo data (idempotent) and fresh demo tokens")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=_seed)

    p = sub.add_parser("token", help="mint a token (printed once)")
    p.add_argument("role", choices=["superuser", "operator", "auditor", "his"])
    p.add_argument("--region")
    p.add_argument("--institution")
    p.set_defaults(func=_token)

    p = sub.add_parser("schemas", help="write the JSON Schemas of schemas/")
    p.add_argument("--dir", default="schemas")
    p.set_defaults(func=_schemas)

    p = sub.add_parser("calendar", help="working-day calendar: load a year's holiday schedule")
    p.add_argument("action", choices=["load"])
    p.add_argument("file", help="TOML schedule file (format: docs/policies.md, 'Working days')")
    p.set_defaults(func=_calendar)

    p = sub.add_parser("import", help="bulk imports: import roster FILE [--commit]")
    kinds = p.add_subparsers(dest="kind", required=True)
    k = kinds.add_parser("roster", help="一次性集体准入: CSV of physicians and agreements")
    k.add_argument("file")
    k.add_argument("--commit", action="store_true", help="write (default: dry run, a report)")
    k.set_defaults(func=_import)

    _standin_parser(sub)
    _decision_parsers(sub)

    args = parser.parse_args(argv)
    try:
        args.func(args)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
