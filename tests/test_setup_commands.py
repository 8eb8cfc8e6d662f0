"""README.md's first lines give the two set-up commands; .ci/run runs the test one verbatim."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    block = lines[lines.index("```bash") + 1:]
    return [line for line in block[:block.index("```")] if line and not line.startswith("#")]


def test_readme_starts_with_the_two_commands():
    run_command, test_command = setup_commands()
    assert run_command.endswith("pcsim run bogacz-perception")
    assert "pip install -e '.[test]'" in test_command and test_command.endswith("python -m pytest")
    head = (ROOT / "README.md").read_text().splitlines()[:12]
    assert "```bash" in head


def test_ci_runs_the_readme_test_command_verbatim():
    _, test_command = setup_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci
