"""A ``python -c`` program that runs the CLI with torch unimportable, as in a fresh
``pip install scaling-planner`` without the ``[train]`` extra."""

NO_TORCH = """
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoTorch())
from scaling.commands import main
main(sys.argv[1:])
"""
