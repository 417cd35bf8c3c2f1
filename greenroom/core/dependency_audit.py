"""CI's dependency audit: pip-audit over exactly what the project installs, with reasons for what
we accept.

Run by .ci/run (not by `make test`) as `.venv/bin/python -m greenroom.core.dependency_audit`.
What is audited is the virtualenv's resolved set of the declared dependencies (`pip freeze`,
the project itself left out), each pinned, so pip-audit resolves nothing (`--no-deps
--disable-pip`) and a run takes seconds.

Outcomes:
- the advisory service answered: every vulnerability found fails the run (exit 1), unless its
  id or one of its aliases is listed in `.ci/pip-audit-ignore.toml` with a reason;
- the service could not be reached (no network, a mirror that knows no advisories, so every
  package comes back "not found"): the log says so plainly and the run goes on (exit 0);
- the ignore file is broken (an entry without an id or a reason): exit 2, whatever was found.
"""

from __future__ import annotations

import json
import subprocess  # fixed argument lists, never a shell
import sys
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

UNREACHABLE = "pip-audit: advisory service unreachable; not audited"
IGNORE_FILE = Path(".ci/pip-audit-ignore.toml")
TIMEOUT_S = 120
# How pip-audit and requests say that a service could not be reached.
_NETWORK_ERRORS = (
    "ConnectionError",
    "NameResolutionError",
    "Max retries exceeded",
    "ConnectTimeout",
    "ReadTimeout",
    "Temporary failure in name resolution",
    "Network is unreachable",
)


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fix_versions: tuple[str, ...]

    @property
    def ids(self) -> set[str]:
        return {self.id, *self.aliases}

    def describe(self) -> str:
        fix = ", ".join(self.fix_versions) or "no fixed version yet"
        also = f" ({', '.join(self.aliases)})" if self.aliases else ""
        return f"{self.package} {self.version}: {self.id}{also}; fixed in {fix}"


@dataclass(frozen=True)
class Outcome:
    code: int
    lines: list[str]


class IgnoreFileError(Exception):
    pass


def read_ignores(path: Path) -> dict[str, str]:
    """{advisory id: reason} from the ignore file (missing file: nothing is ignored)."""
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise IgnoreFileError(f"{path} is not valid TOML: {exc}") from None
    ignores: dict[str, str] = {}
    for n, entry in enumerate(data.get("ignore", []), start=1):
        advisory = str(entry.get("id", "")).strip() if isinstance(entry, dict) else ""
        reason = str(entry.get("reason", "")).strip() if isinstance(entry, dict) else ""
        if not advisory or not reason:
            raise IgnoreFileError(
                f"{path}: entry {n} needs both an id and a reason (why the advisory does not "
                "apply to Greenroom, or until when it is accepted)."
            )
        ignores[advisory] = reason
    return ignores


def judge(returncode: int, stdout: str, stderr: str, ignores: dict[str, str]) -> Outcome:
    """Turn one pip-audit run (JSON format) into the step's result."""
    if returncode != 0 and any(marker in stderr for marker in _NETWORK_ERRORS):
        return Outcome(0, [UNREACHABLE, _last_line(stderr)])
    try:
        report = json.loads(stdout)
        dependencies = report["dependencies"]
    except (json.JSONDecodeError, KeyError, TypeError):
        return Outcome(1, ["pip-audit failed without a report:", stderr.strip()[-2000:]])
    if not dependencies:
        return Outcome(1, ["pip-audit audited nothing: the requirement list was empty."])
    skipped = [d for d in dependencies if d.get("skip_reason")]
    if len(skipped) == len(dependencies):
        # Every package "not found": the index answering is a mirror without advisories.
        return Outcome(
            0, [UNREACHABLE, f"(all {len(dependencies)} packages came back: {_first(skipped)})"]
        )
    findings = [
        Finding(
            package=d["name"],
            version=d.get("version", ""),
            id=v["id"],
            aliases=tuple(v.get("aliases", [])),
            fix_versions=tuple(v.get("fix_versions", [])),
        )
        for d in dependencies
        for v in d.get("vulns", [])
    ]
    lines = [
        f"pip-audit: {len(dependencies) - len(skipped)} packages audited"
        + (f", {len(skipped)} skipped ({_first(skipped)})" if skipped else "")
    ]
    accepted = [f for f in findings if f.ids & ignores.keys()]
    refused = [f for f in findings if not f.ids & ignores.keys()]
    for finding in accepted:
        reason = next(ignores[i] for i in sorted(finding.ids) if i in ignores)
        lines.append(f"  accepted: {finding.describe()}; because: {reason}")
    seen = set().union(*(f.ids for f in findings)) if findings else set()
    for advisory in sorted(ignores.keys() - seen):
        lines.append(f"  note: {advisory} is in {IGNORE_FILE} but no longer reported; remove it")
    if refused:
        lines.append(f"pip-audit: {len(refused)} known vulnerabilities:")
        lines += [f"  {f.describe()}" for f in refused]
        lines.append(
            f"Upgrade the package, or list the advisory in {IGNORE_FILE} with the reason it "
            "does not apply."
        )
        return Outcome(1, lines)
    lines.append("pip-audit: no known vulnerabilities" + (" left" if accepted else ""))
    return Outcome(0, lines)


def _first(skipped: Sequence[dict[str, str]]) -> str:
    return skipped[0].get("skip_reason", "") if skipped else ""


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  # a fixed argument list
        args, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )


def frozen_requirements(python: str, run: Runner = _run) -> str:
    """The virtualenv's installed distributions, pinned, without the project itself."""
    result = run(
        [python, "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"]
    )
    if result.returncode != 0:
        raise RuntimeError(f"pip freeze failed: {result.stderr.strip()[-500:]}")
    return "\n".join(
        line
        for line in result.stdout.splitlines()
        if line.strip() and not line.startswith(("#", "-e ")) and " @ " not in line
    )


def audit(
    python: str = sys.executable, ignore_file: Path = IGNORE_FILE, run: Runner = _run
) -> Outcome:
    try:
        ignores = read_ignores(ignore_file)
    except IgnoreFileError as exc:
        return Outcome(2, [str(exc)])
    requirements = frozen_requirements(python, run)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as listed:
        listed.write(requirements + "\n")
        listed.flush()
        try:
            result = run(
                [
                    python, "-m", "pip_audit", "--requirement", listed.name, "--no-deps",
                    "--disable-pip", "--format", "json", "--progress-spinner", "off",
                ]
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return Outcome(0, [UNREACHABLE, f"(no answer within {TIMEOUT_S} s)"])
    return judge(result.returncode, result.stdout, result.stderr, ignores)


def main() -> int:
    outcome = audit()
    print("\n".join(line for line in outcome.lines if line), flush=True)
    return outcome.code


if __name__ == "__main__":
    sys.exit(main())
