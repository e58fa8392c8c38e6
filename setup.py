"""Package layout only (metadata lives in pyproject.toml).

The source tree keeps `tui/` and `knowledge/` at the top level, where the design puts them; the
wheel installs them as `advisor.tui` and `advisor.knowledge` so that no generic top-level
package named `tui` or `knowledge` lands in site-packages. Dev-only scripts (screenshots,
benchmarks) live outside these folders and are not shipped.
"""

from setuptools import find_namespace_packages, setup

MAPPED = {"advisor.tui": "tui", "advisor.knowledge": "knowledge"}


def packages() -> list[str]:
    found = [p for p in find_namespace_packages(include=["advisor", "advisor.*"])
             if "__pycache__" not in p]
    for name, folder in MAPPED.items():
        found.append(name)
        found += [f"{name}.{sub}" for sub in find_namespace_packages(where=folder)
                  if "__pycache__" not in sub]
    return found


setup(packages=packages(), package_dir=MAPPED)
