"""The registry of components. Adding one = a config model + a module here + one line below."""
from __future__ import annotations

from ..kit.component import Component
from . import namespaces

COMPONENTS: tuple[Component, ...] = (
    Component(namespaces.NAME, "Platform and team namespaces: PSA, quotas, limits, network policies",
              namespaces.build),
)

# The folder (and Argo CD Application) holding the env's component Applications (app-of-apps).
APPS_FOLDER = "argocd-apps"
