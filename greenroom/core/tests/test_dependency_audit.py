"""CI's pip-audit step: findings fail the run unless accepted with a reason; an advisory service
that cannot be reached is said plainly and does not fail it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from greenroom.core import dependency_audit as gate

DJANGO_VULN = {
    "id": "PYSEC-2099-1",
    "aliases": ["CVE-2099-0001", "GHSA-aaaa-bbbb-cccc"],
    "fix_versions": ["5.2.99"],
}


def report(*dependencies: dict[str, Any]) -> str:
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


def ok(name: str, version: str = "1.0", vulns: list[dict[str, Any]] | None = None) -> Any:
    return {"name": name, "version": version, "vulns": vulns or []}


def not_found(name: str) -> dict[str, str]:
    return {"name": name, "skip_reason": f"Dependency not found on PyPI: {name} (1.0)"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ignore.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_vulnerability_fails_the_run_naming_it_and_its_fix() -> None:
    out = gate.judge(0, report(ok("django", "5.2.19", [DJANGO_VULN]), ok("httpx")), "", {})
    assert out.code == 1
    text = "\n".join(out.lines)
    assert "django 5.2.19: PYSEC-2099-1 (CVE-2099-0001, GHSA-aaaa-bbbb-cccc)" in text
    assert "fixed in 5.2.99" in text
    assert "2 packages audited" in text


def test_an_advisory_accepted_with_a_reason_passes_by_any_of_its_ids(tmp_path: Path) -> None:
    ignores = gate.read_ignores(
        write(
            tmp_path,
            '[[ignore]]\nid = "GHSA-aaaa-bbbb-cccc"\n'
            'reason = "Only the MySQL backend is affected; we use SQLite and PostgreSQL."\n'
            '[[ignore]]\nid = "PYSEC-2000-9"\nreason = "Old."\n',
        )
    )
    out = gate.judge(0, report(ok("django", "5.2.19", [DJANGO_VULN])), "", ignores)
    assert out.code == 0
    text = "\n".join(out.lines)
    assert "accepted: django 5.2.19: PYSEC-2099-1" in text and "MySQL backend" in text
    assert "PYSEC-2000-9 is in" in text and "no longer reported" in text


def test_an_entry_without_a_reason_is_refused(tmp_path: Path) -> None:
    with pytest.raises(gate.IgnoreFileError, match="needs both an id and a reason"):
        gate.read_ignores(write(tmp_path, '[[ignore]]\nid = "PYSEC-2099-1"\n'))
    broken = write(tmp_path, "[[ignore]\n")
    assert gate.audit(ignore_file=broken, run=_never).code == 2


def test_every_package_not_found_means_the_service_was_not_reached() -> None:
    out = gate.judge(0, report(not_found("amqp"), not_found("django")), "", {})
    assert out.code == 0
    assert out.lines[0] == "pip-audit: advisory service unreachable; not audited"


def test_a_connection_error_means_the_service_was_not_reached() -> None:
    stderr = (
        "Traceback ...\nrequests.exceptions.ConnectionError: HTTPSConnectionPool(host='x', "
        "port=443): Max retries exceeded with url: /v1/query"
    )
    out = gate.judge(1, "", stderr, {})
    assert out.code == 0 and out.lines[0] == gate.UNREACHABLE


def test_some_packages_skipped_is_still_an_audit() -> None:
    out = gate.judge(0, report(ok("django", "5.2.19", [DJANGO_VULN]), not_found("private")), "", {})
    assert out.code == 1
    assert "1 packages audited, 1 skipped" in out.lines[0]


def test_pip_audit_failing_for_another_reason_fails_the_run() -> None:
    out = gate.judge(2, "", "error: unrecognized arguments: --bogus", {})
    assert out.code == 1 and "unrecognized arguments" in "\n".join(out.lines)


def _never(args: list[str]) -> subprocess.CompletedProcess[str]:
    raise AssertionError(f"nothing should run: {args}")


def test_the_audit_reads_the_frozen_environment_without_the_project(tmp_path: Path) -> None:
    calls: list[list[str]] = []
    audited: list[str] = []

    def run(args: list[str]) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        if "freeze" in args:
            frozen = "Django==5.2.19\n-e /work/main\nhttpx==0.28.1\nlocal @ file:///tmp/x\n"
            return subprocess.CompletedProcess(args, 0, frozen, "")
        audited.append(Path(args[args.index("--requirement") + 1]).read_text(encoding="utf-8"))
        return subprocess.CompletedProcess(args, 0, report(ok("django"), ok("httpx")), "")

    out = gate.audit(python="py", ignore_file=tmp_path / "none.toml", run=run)
    assert out.code == 0
    assert audited == ["Django==5.2.19\nhttpx==0.28.1\n"]
    assert calls[1][:3] == ["py", "-m", "pip_audit"] and "--no-deps" in calls[1]


def test_the_checked_in_ignore_file_is_valid() -> None:
    root = Path(__file__).resolve().parents[3]
    for advisory, reason in gate.read_ignores(root / gate.IGNORE_FILE).items():
        assert advisory and reason
    assert (root / gate.IGNORE_FILE).exists()
