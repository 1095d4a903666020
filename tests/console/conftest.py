"""One product process and one browser for the console's end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.console.browser import Page, Product, new_driver


@pytest.fixture(scope="session")
def product() -> Iterator[Product]:
    p = Product()
    p.start()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def page(product: Product) -> Iterator[Page]:
    driver = new_driver()
    try:
        yield Page(driver, product.base)
    finally:
        driver.quit()
