"""Which Python runs the replay server: pywb cannot share an environment with scrapy-redis."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from archive.web import server
from archive.web.server import ServeError, replay_python


def test_the_setting_wins() -> None:
    assert replay_python("/usr/bin/python3") == "/usr/bin/python3"


def test_this_interpreter_when_it_has_pywb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    assert replay_python() == sys.executable


def test_else_the_projects_replay_venv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(server, "REPLAY_VENV", tmp_path / ".venv-replay")
    with pytest.raises(ServeError) as refused:
        replay_python()
    assert "python3 -m venv .venv-replay && .venv-replay/bin/pip install -e '.[replay]'" in str(
        refused.value
    )
    (tmp_path / ".venv-replay" / "bin").mkdir(parents=True)
    (tmp_path / ".venv-replay" / "bin" / "python").write_text("")
    assert replay_python() == str(tmp_path / ".venv-replay" / "bin" / "python")


def test_the_project_has_one_with_pywb() -> None:
    """The environment `.ci/run` makes: the replay tests run the server from it."""
    python = Path(replay_python())
    assert python.exists()
