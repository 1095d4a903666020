"""Public status of an institution's staff (上墙公布 / 信息公开): no token, rate-limited,
cached; only what CONTRACT.md lists."""
