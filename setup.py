"""Package discovery that pyproject.toml alone cannot express.

The top-level `resources/` folder installs as the package `vlm_desktop.resources`, so
`importlib.resources` finds icons, the demo catalog and model assets the same way in a
checkout, a wheel and a frozen build. Every folder below it is declared as a (namespace)
package too, so setuptools installs its files without a warning per folder.
"""

from setuptools import find_namespace_packages, find_packages, setup

RESOURCES = ["vlm_desktop.resources"] + [
    f"vlm_desktop.resources.{name}" for name in find_namespace_packages(where="resources")]

setup(
    packages=find_packages(include=["vlm_desktop", "vlm_desktop.*"]) + RESOURCES,
    package_dir={"vlm_desktop.resources": "resources"},
)
