"""`mspec diff` in a git repository: REV:PATH sides, and `git diff` running it as a diff driver."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mspec.cli import main

from support.review_specs import BASE, MUTATIONS

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

UNITS = next(m for m in MUTATIONS if m.name == "units")
RENAME = next(m for m in MUTATIONS if m.name == "rename")
# A repository of the test's own: no user or system configuration applies.
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "mspec",
    "GIT_AUTHOR_EMAIL": "mspec@example.com",
    "GIT_COMMITTER_NAME": "mspec",
    "GIT_COMMITTER_EMAIL": "mspec@example.com",
}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, env={**os.environ, **GIT_ENV}
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose two commits hold BASE, then BASE with the trunk widened (specs/x.toml)."""
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "specs").mkdir()
    git(tmp_path, "init", "-q")
    spec = tmp_path / "specs" / "x.toml"
    spec.write_text(BASE)
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "base")
    spec.write_text(UNITS.texts()[1])
    git(tmp_path, "commit", "-q", "-am", "wider trunk")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(main, ["diff", *args])


def test_a_revision_against_the_work_tree(repo: Path) -> None:
    result = run("HEAD~1:specs/x.toml", "specs/x.toml")
    assert result.exit_code == 1, result.output
    assert result.output.startswith("mspec diff HEAD~1:specs/x.toml → specs/x.toml\n")
    assert "~ trunk step 1: units: 32 → 64" in result.output


def test_two_revisions_and_a_path_from_the_current_folder(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("HEAD~1:specs/x.toml", "HEAD:specs/x.toml").exit_code == 1
    assert run("HEAD:specs/x.toml", "specs/x.toml").exit_code == 0
    monkeypatch.chdir(repo / "specs")
    assert run("HEAD~1:./x.toml", "x.toml").exit_code == 1


def test_a_revision_git_cannot_show(repo: Path) -> None:
    result = run("HEAD~5:specs/x.toml", "specs/x.toml")
    assert result.exit_code == 2
    assert "HEAD~5:specs/x.toml: no such file, nor a revision git can show" in result.output
    missing = run("HEAD:x.toml", "specs/x.toml")
    assert missing.exit_code == 2
    assert "path 'x.toml' does not exist in 'HEAD'" in missing.output  # git's own words


def test_git_diff_runs_it_as_the_diff_driver(repo: Path) -> None:
    (repo / ".gitattributes").write_text("*.toml diff=mspec\n")
    git(repo, "config", "diff.mspec.command", f"{sys.executable} -m mspec diff")
    shown = git(repo, "diff", "HEAD~1", "HEAD")
    assert "mspec diff a/specs/x.toml → b/specs/x.toml" in shown
    assert "units: 32 → 64" in shown
    # A rename in the work tree: git hands over both paths.
    git(repo, "mv", "specs/x.toml", "specs/y.toml")
    (repo / "specs" / "y.toml").write_text(RENAME.texts()[1])
    git(repo, "add", "-A")
    renamed = git(repo, "diff", "--cached", "-M", "HEAD", "--", "specs")
    assert "mspec diff a/specs/x.toml → b/specs/y.toml" in renamed
    assert "body: branch renamed from trunk" in renamed
    assert "units: 64 → 32" in renamed


def test_a_saved_model_at_a_revision(repo: Path) -> None:
    from support.paths import DATA

    saved = (DATA / "keras_versions" / "keras_3_8.keras").read_bytes()
    (repo / "model.keras").write_bytes(saved)
    git(repo, "add", "model.keras")
    git(repo, "commit", "-q", "-m", "a saved model")
    (repo / "model.keras").write_bytes((DATA / "keras_versions" / "keras_3_14.keras").read_bytes())
    result = run("HEAD:model.keras", "model.keras")
    assert result.exit_code == 0, result.output
    assert "no change to the model (weights 1,209)" in result.output
