"""Which rule kinds alert is a setting: JSON in the environment, checked strictly."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import ValidationError

from safecity.contracts.analytics import RuleKind
from safecity.core.settings import DEFAULT_RULE_ALERTS, RuleAlertKind, Settings


def test_the_settings_know_every_rule_kind_of_the_contract() -> None:
    # core may not import contracts, so the list is written twice; this keeps them one.
    assert set(get_args(RuleAlertKind)) == set(get_args(RuleKind))


def test_defaults_alert_on_intrusion_and_wrong_way_but_not_on_counts() -> None:
    alerts = Settings().rule_alerts
    assert alerts == DEFAULT_RULE_ALERTS
    assert alerts["zone_intrusion"] == alerts["wrong_way"] == 2
    assert "line_crossing" not in alerts


def test_the_environment_sets_them_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFECITY_RULE_ALERTS", '{"line_crossing": 4}')
    assert Settings().rule_alerts == {"line_crossing": 4}
    monkeypatch.setenv("SAFECITY_RULE_ALERTS", '{"sneezing": 1}')
    with pytest.raises(ValidationError, match="rule_alerts"):
        Settings()
    monkeypatch.setenv("SAFECITY_RULE_ALERTS", '{"crowd": 9}')
    with pytest.raises(ValidationError, match="rule_alerts"):
        Settings()
