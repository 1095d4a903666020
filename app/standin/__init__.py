"""A stand-in for the national medical-security platform (``ybgate standin``): answers
the platform's messages in its wrapper, records what it received, and can be told to
delay its answers or refuse connections. For tests, demos and the 前置 benchmark; nothing
in the product imports it but the CLI."""
