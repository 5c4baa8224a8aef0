"""docs/api.md is the repository's contract: every route the template serves and every error code is in it,
and the other documents point to it."""

from __future__ import annotations

import re

from authhooks import errors

from local import template

ROOT = template.ROOT
CONTRACT = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")


def test_every_route_of_the_template_is_in_the_contract() -> None:
    for route in template.routes(template.cached()):
        if "{proxy+}" in route.path:
            continue  # the catch-alls only answer 404/405, which the error table covers
        assert f"`{route.method} {route.path}" in CONTRACT, f"{route.method} {route.path} is not in docs/api.md"


def test_every_error_code_the_code_can_answer_is_in_the_contracts_table() -> None:
    def leaves(cls: type) -> set[type]:
        return {cls} | {sub for child in cls.__subclasses__() for sub in leaves(child)}

    documented = set(re.findall(r"^\| `(\w+)` \| (\d{3}) \|", CONTRACT, re.M))
    assert len(documented) >= 10
    for cls in leaves(errors.ServiceError):
        assert (cls.code, str(cls.status)) in documented, f"{cls.code} {cls.status} is not in docs/api.md"


def test_the_readme_and_openapi_point_to_the_contract_in_the_repository() -> None:
    for document in ("README.md", "openapi.yaml"):
        text = (ROOT / document).read_text(encoding="utf-8")
        assert "docs/api.md" in text, document
        assert not re.search(r"(?<!docs/)API\.md", text), f"{document} cites a contract outside the repository"
