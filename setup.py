"""The one compiled part: app.gatekeeper.national._feefast (csrc/), the 2204/2301 fast path.

Optional: where there is no C compiler (or no Python headers) the build warns and goes
on without it, and the reference path in Python serves every message
(app/gatekeeper/national/fast.py). Everything else about the package is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "app.gatekeeper.national._feefast",
            sources=[
                "csrc/feefast_module.c",
                "csrc/feefast_scan.c",
                "csrc/feefast_judge.c",
            ],
            depends=["csrc/feefast.h"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration"],
            optional=True,
        )
    ]
)
