"""Helpers for page tests: read the cells of an HTML table the way a person reads them."""

from html.parser import HTMLParser

import pytest


class _Tables(HTMLParser):
    def __init__(self, table_class: str) -> None:
        super().__init__()
        self.table_class = table_class
        self.depth = 0  # >0 while inside the wanted table
        self.rows: list[dict] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and self.table_class in (attrs.get("class") or "").split():
            self.depth = 1
        elif tag == "table" and self.depth:
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append({"class": attrs.get("class") or "", "cells": []})
        elif self.depth and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth and tag in ("td", "th") and self.cell is not None:
            self.rows[-1]["cells"].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table_rows(html: str, table_class: str) -> list[dict]:
    """Rows of the first table with `table_class`: [{"class": tr's class, "cells": [text, ...]}]."""
    parser = _Tables(table_class)
    parser.feed(html)
    return parser.rows


@pytest.fixture
def logged_in(client):
    def login(user):
        client.force_login(user)
        return client

    return login
