"""Package discovery that pyproject.toml alone cannot express.

The top-level `resources/` folder installs as the package `vlm_desktop.resources`, so
`importlib.resources` finds icons, the demo catalog and model assets the same way in a
checkout, a wheel and a frozen build.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["vlm_desktop", "vlm_desktop.*"]) + ["vlm_desktop.resources"],
    package_dir={"vlm_desktop.resources": "resources"},
)
