"""The README's code runs: each ```python block in a fresh process, and the
test command is exactly the one CI runs."""
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_readme_has_the_two_commands():
    commands = re.search(r"```bash\n(.*?)```", README, flags=re.S).group(1).splitlines()
    assert commands[0].endswith("pip install -e . && python examples/quickstart.py")
    assert commands[1].endswith('pip install -e ".[test]" && python -m pytest')
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\npython -m pytest\n" in ci


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_python_block_runs(block, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        pytest.fail(f"README block exited with {proc.returncode}:\n{block}\n"
                    f"stderr:\n{proc.stderr}", pytrace=False)
    # a trailing "# value" comment on a print line states what it prints
    expected = re.findall(r"^print\(.*\)\s+# (.*)$", block, flags=re.M)
    printed = proc.stdout.splitlines()
    for want in expected:
        assert any(want in line for line in printed), f"expected {want!r} in {proc.stdout!r}"
