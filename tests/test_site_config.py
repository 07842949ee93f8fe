"""The site agent's YAML: errors name the file, the field and what is allowed; the
CLI prints them in one line and exits 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from megawatt.cli import app
from megawatt.errors import InputError
from megawatt.site import config


def _raw(**over: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "site": "mine-a",
        "vtn": {
            "url": "http://127.0.0.1:8080/openadr3/3.1.0",
            "client_id": "ven-a",
            "client_secret": "s",
        },
        "fleets": [
            {
                "name": "row-1",
                "firmware": "luxos",
                "hosts": ["10.0.0.2-10.0.0.201"],
                "rated_w": 3250,
                "hashrate_th": 140,
            }
        ],
    }
    raw.update(over)
    return raw


def _write(tmp: Path, raw: Any) -> Path:
    p = tmp / "site.yaml"
    p.write_text(yaml.safe_dump(raw))
    return p


def test_a_good_file_and_its_hosts(tmp_path: Path) -> None:
    cfg = config.load(_write(tmp_path, _raw()))
    assert cfg.fleets[0].firmware == "luxos" and cfg.tick_seconds == 5.0
    pairs = config.expand_hosts("10.0.0.2-10.0.0.201", 4028)
    assert len(pairs) == 200 and pairs[0] == ("10.0.0.2", 4028) and pairs[-1][0] == "10.0.0.201"
    assert config.expand_hosts("10.0.0.9:4029", 4028) == [("10.0.0.9", 4029)]
    assert len(config.expand_hosts("10.0.0.250-10.0.1.5", 4028)) == 12  # across an octet


@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        ({"fleets": []}, "fleets", "at least 1"),
        ({"tick_seconds": 0}, "tick_seconds", "greater than 0"),
        ({"vtn": {"url": "ftp://x", "client_id": "a", "client_secret": "s"}}, "vtn.url", "http"),
        ({"vtn": {"url": "http://x", "client_id": "a"}}, "vtn", "exactly one of"),
        ({"bogus": 1}, "bogus", "unknown field"),
        (
            {
                "fleets": [
                    {
                        "name": "r",
                        "firmware": "antminer9",
                        "hosts": ["10.0.0.1"],
                        "rated_w": 1,
                        "hashrate_th": 1,
                    }
                ]
            },
            "fleets[0].firmware",
            "luxos",
        ),
        (
            {
                "fleets": [
                    {
                        "name": "r",
                        "firmware": "luxos",
                        "hosts": ["10.0.0.9-10.0.0.1"],
                        "rated_w": 1,
                        "hashrate_th": 1,
                    }
                ]
            },
            "fleets[0].hosts[0]",
            "low to high",
        ),
        (
            {
                "fleets": [
                    {
                        "name": "r",
                        "firmware": "luxos",
                        "hosts": ["10.0.0.0-10.0.9.0"],
                        "rated_w": 1,
                        "hashrate_th": 1,
                    }
                ]
            },
            "fleets[0].hosts[0]",
            "at most 1024",
        ),
        (
            {
                "fleets": [
                    {
                        "name": "r",
                        "firmware": "luxos",
                        "hosts": ["10.0.0.1", "10.0.0.1"],
                        "rated_w": 1,
                        "hashrate_th": 1,
                    }
                ]
            },
            "fleets[0].hosts[1]",
            "also in",
        ),
        (
            {
                "fleets": [
                    {
                        "name": "r",
                        "firmware": "luxos",
                        "hosts": ["10.0.0.1:70000"],
                        "rated_w": 1,
                        "hashrate_th": 1,
                    }
                ]
            },
            "fleets[0].hosts[0]",
            "1-65535",
        ),
        (
            {"fleets": [{"name": "dc", "firmware": "http", "rated_w": 1, "hashrate_th": 1}]},
            "fleets[0]",
            "needs url",
        ),
        (
            {
                "fleets": [
                    {
                        "name": "r",
                        "firmware": "luxos",
                        "hosts": ["10.0.0.1"],
                        "rated_w": 3000,
                        "hashrate_th": 1,
                        "profiles": [{"name": "up", "watts": 3500, "hashrate_th": 2}],
                    }
                ]
            },
            "fleets[0]",
            "less than rated_w",
        ),
        ({"meter": {"source": "http"}}, "meter", "needs url"),
    ],
)
def test_errors_name_file_field_and_range(
    tmp_path: Path, change: dict[str, Any], where: str, says: str
) -> None:
    path = _write(tmp_path, _raw(**change))
    with pytest.raises(InputError) as err:
        config.load(path)
    assert err.value.file == path
    assert err.value.where == where, err.value.message
    assert says in err.value.message


def test_not_yaml_and_not_a_mapping(tmp_path: Path) -> None:
    p = tmp_path / "site.yaml"
    p.write_text("site: [unclosed\n")
    with pytest.raises(InputError, match=r"line 1|line 2"):
        config.load(p)
    p.write_text("- a list\n")
    with pytest.raises(InputError, match="must be a mapping"):
        config.load(p)


def test_secret_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _raw(vtn={"url": "http://x", "client_id": "a", "client_secret_env": "SITE_SECRET"})
    path = _write(tmp_path, raw)
    monkeypatch.delenv("SITE_SECRET", raising=False)
    with pytest.raises(InputError, match=r"vtn\.client_secret_env: names an environment"):
        config.load(path)
    monkeypatch.setenv("SITE_SECRET", "s3")
    assert config.load(path).vtn.secret(path) == "s3"


def test_the_cli_checks_and_prints_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(app, ["site-agent", str(_write(tmp_path, _raw())), "--check"])
    assert good.exit_code == 0, good.output
    assert "1 fleets, 200 units" in good.output
    bad = runner.invoke(app, ["site-agent", str(_write(tmp_path, _raw(tick_seconds=-1)))])
    assert bad.exit_code == 2
    assert "tick_seconds" in bad.output and "Traceback" not in bad.output
