"""The pre-commit hooks as another repository uses them: the real `pre-commit try-repo`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.paths import CASES, ROOT

pytest.importorskip("pre_commit")

GOOD = ROOT / "specs" / "seed" / "concat_independent.toml"
BAD = CASES / "seed_interaction.toml"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One hook environment for the module: installing it is the slow part.
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    shutil.copy(GOOD, tmp_path / "specs" / "good.toml")
    shutil.copy(BAD, tmp_path / "specs" / "bad.toml")
    git(tmp_path, "init", "-q")
    git(tmp_path, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", ".")
    git(tmp_path, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "specs")
    return tmp_path


def try_repo(repo: Path, home: Path, hook: str, *files: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PYTHONPATH": ""}
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, "--files", *files]
    return subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=600)


def test_lint_hook_passes_good_and_fails_bad(repo: Path, home: Path) -> None:
    good = try_repo(repo, home, "mspec-lint", "specs/good.toml")
    assert good.returncode == 0, good.stdout + good.stderr
    bad = try_repo(repo, home, "mspec-lint", "specs/good.toml", "specs/bad.toml")
    assert bad.returncode == 1
    assert "specs/bad.toml:21:1: MS301 error: Multiply needs equal shapes" in bad.stdout


def test_source_hook_fails_when_generated_source_is_stale(repo: Path, home: Path) -> None:
    build = [sys.executable, "-m", "mspec", "build", "specs/good.toml", "--source-only"]
    subprocess.run(build, cwd=repo, check=True, capture_output=True)
    assert try_repo(repo, home, "mspec-source-current", "specs/good.toml").returncode == 0
    spec = repo / "specs" / "good.toml"
    spec.write_text(spec.read_text().replace("units = 64", "units = 48"))
    stale = try_repo(repo, home, "mspec-source-current", "specs/good.toml")
    assert stale.returncode == 1
    assert "build/concat_independent.py is out of date" in stale.stdout


def test_lint_hook_finds_specs_in_any_layout(tmp_path: Path, home: Path) -> None:
    # Specs under models/ and deeper, among TOML and JSON files that are not specs: the hook's
    # defaults hand it every .toml/.json file and it checks the specs, by their content.
    (tmp_path / "models" / "ranking").mkdir(parents=True)
    shutil.copy(GOOD, tmp_path / "models" / "churn_model.toml")
    shutil.copy(ROOT / "specs" / "siamese_text.json", tmp_path / "models" / "ranking" / "pairs.json")
    shutil.copy(BAD, tmp_path / "models" / "ranking" / "interaction.toml")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "0.1"\n')
    (tmp_path / "package.json").write_text('{ "name": "app", "version": "1.0.0" }\n')
    (tmp_path / "config.json").write_text('{ "model": "gpt", "inputs": ["a"] }\n')
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PYTHONPATH": ""}
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "mspec-lint", "--all-files"]
    broken = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "models/ranking/interaction.toml:21:1: MS301 error" in broken.stdout
    assert "Skipped" not in broken.stdout
    for other in ("pyproject.toml", "package.json", "config.json", "churn_model", "pairs.json"):
        assert other not in broken.stdout.split("hook id: mspec-lint")[-1]
    (tmp_path / "models" / "ranking" / "interaction.toml").unlink()
    git(tmp_path, "add", "-A")
    fixed = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "Passed" in fixed.stdout
