"""Policy files: loading, validation errors naming file and key, the registry."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from app.rules import (
    PolicyFileError,
    UnknownPolicy,
    get_policy,
    list_policies,
    load_policy_file,
    parse_policy,
)


def _shipped_text(policy_id: str) -> str:
    folder = resources.files("app.rules").joinpath("policies")
    return folder.joinpath(f"{policy_id}.toml").read_text(encoding="utf-8")


def test_the_three_policies_are_shipped() -> None:
    assert [p.id for p in list_policies()] == [
        "hainan-2025",
        "lanzhou-2014",
        "nhsa-2024",
        "zhejiang-2014",
    ]
    assert get_policy("zhejiang-2014") is get_policy("zhejiang-2014")  # cached


def test_unknown_policy() -> None:
    with pytest.raises(UnknownPolicy) as err:
        get_policy("shanghai-2030")
    assert (err.value.field, err.value.slug) == ("policy", "unknown-policy")
    assert "zhejiang-2014" in str(err.value)


@pytest.mark.parametrize("policy_id", ["zhejiang-2014", "lanzhou-2014", "nhsa-2024", "hainan-2025"])
def test_every_rule_names_its_clause_in_the_document(policy_id: str) -> None:
    policy = get_policy(policy_id)
    clauses = [
        policy.code.clause,
        policy.scoring.clause,
        *(i.clause for i in policy.items),
        *(t.clause for t in policy.thresholds),
        *(c.clause for c in policy.consecutive),
        *(b.clause for b in policy.bans),
        policy.deadlines.objection.clause,
    ]
    assert all(c.startswith(policy_id) for c in clauses)


def test_lanzhou_2014_17_is_findable_in_the_data() -> None:
    lanzhou = get_policy("lanzhou-2014")
    assert {t.clause for t in lanzhou.thresholds} == {"lanzhou-2014 第十七条"}
    assert {b.clause for b in lanzhou.bans} == {"lanzhou-2014 第十八条"}


def test_broken_action_names_file_and_key_path() -> None:
    text = _shipped_text("zhejiang-2014").replace('action = "terminate"', 'action = "fire"', 1)
    with pytest.raises(PolicyFileError) as err:
        parse_policy(text, "zhejiang-2014.toml")
    assert err.value.field == "thresholds[2].action"
    assert str(err.value).startswith("zhejiang-2014.toml: thresholds[2].action: Input should be")
    assert err.value.file == "zhejiang-2014.toml"
    assert err.value.slug == "policy-file-invalid"


def test_broken_file_on_disk_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "lanzhou-2014.toml"
    path.write_text(
        _shipped_text("lanzhou-2014").replace("points = [1, 3]", 'points = "1-3"', 1),
        encoding="utf-8",
    )
    with pytest.raises(PolicyFileError) as err:
        load_policy_file(path)
    assert str(err.value) == (
        "lanzhou-2014.toml: items[14].points: expected an integer or a [min, max] pair of integers"
    )


def test_semantic_problems_name_their_key() -> None:
    text = _shipped_text("zhejiang-2014").replace("months = [1, 3]\n", "", 1)
    text = text.replace('id = "1.2"', 'id = "1.1"', 1)
    with pytest.raises(PolicyFileError) as err:
        parse_policy(text, "zhejiang-2014.toml")
    assert err.value.problems == (
        "zhejiang-2014.toml: items[1].id: duplicate item id '1.1'",
        "zhejiang-2014.toml: thresholds[1].months: required for a suspend",
    )
    assert err.value.field == "items[1].id"


def test_applied_suspension_needs_fixed_months() -> None:
    text = _shipped_text("lanzhou-2014").replace("months = 3\n", "months = [1, 3]\n", 1)
    with pytest.raises(PolicyFileError, match=r"thresholds\[0\]\.months: an applied suspend"):
        parse_policy(text, "lanzhou-2014.toml")


def test_unknown_keys_and_bad_toml_are_refused() -> None:
    text = _shipped_text("nhsa-2024").replace("alias_pattern", "alias_patern", 1)
    with pytest.raises(PolicyFileError, match=r"nhsa-2024.toml: code.alias_patern: Extra inputs"):
        parse_policy(text, "nhsa-2024.toml")
    with pytest.raises(PolicyFileError, match=r"^nhsa-2024.toml: not valid TOML"):
        parse_policy("id = ", "nhsa-2024.toml")


def test_bad_regex_and_file_name_mismatch() -> None:
    text = _shipped_text("nhsa-2024").replace('"^(D|N|Y|HY|HJ)[0-9]{12}$"', '"^D[0-9"', 1)
    with pytest.raises(PolicyFileError, match=r"code.alias_pattern: not a valid regex"):
        parse_policy(text, "nhsa-2024.toml")
    with pytest.raises(PolicyFileError) as err:
        parse_policy(_shipped_text("nhsa-2024"), "other.toml")
    assert err.value.field == "id"
