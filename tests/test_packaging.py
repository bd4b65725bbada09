"""The project's promises about itself: layout, the two commands, one package set."""

import re
import tomllib

from problems import ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_and_pyproject_agree():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(r) for r in meta["dependencies"] + meta["optional-dependencies"]["dev"]}
    conda = set()
    in_pip = False
    text = (ROOT / "environment.yml").read_text()
    assert "\ndependencies:" in text, "environment.yml needs a dependencies: list"
    for line in text.split("\ndependencies:", 1)[1].splitlines():
        code = line.split("#", 1)[0].rstrip()
        m = re.match(r"^(\s*)-\s*(\S.*)$", code)
        if not m:
            continue
        entry = m.group(2).strip()
        if entry == "pip:":
            in_pip = True
            continue
        if in_pip and len(m.group(1)) > 2:
            continue                                   # "-e ." installs mfcore itself
        conda.add(_name(entry))
    conda -= {"python", "pip"}
    assert conda == declared, (
        f"environment.yml and pyproject.toml disagree: only in environment.yml {sorted(conda - declared)}, "
        f"only in pyproject.toml {sorted(declared - conda)}. Add or remove the package in both.")


def test_layout_and_readmes():
    for name in ("README.md", "environment.yml", "pyproject.toml", "Makefile", ".ci/run"):
        assert (ROOT / name).is_file(), f"{name} is missing at the repository root"
    for folder in ("mfcore", "lectures", "assignments", "solutions", "tests"):
        assert (ROOT / folder).is_dir(), f"{folder}/ is missing"
        if not any(p.suffix in (".py", ".ipynb") for p in (ROOT / folder).rglob("*")):
            assert (ROOT / folder / "README.md").is_file(), f"empty {folder}/ needs a README saying what lives there"


def test_quick_start_is_the_two_make_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", quick, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text(), ".ci/run must call the README's test command"
    makefile = (ROOT / "Makefile").read_text()
    assert 'pip install --quiet -e ".[dev]"' in makefile and "-m venv" in makefile


def test_the_spark_extra_is_named_in_environment_yml():
    """The optional [spark] extra is not part of the conda environment, but its comment names the same pins."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    comments = "".join(line.split("#", 1)[1] for line in (ROOT / "environment.yml").read_text().splitlines()
                       if "#" in line)
    for requirement in extras["spark"]:
        assert requirement in comments, (f"environment.yml's comment about the spark extra must name {requirement!r} "
                                         "as pyproject.toml does")
