"""The `registry` section: the private registry mirror every image is pulled from (issue 17).

Off by default (dev, staging: images come from their source registries). An env that sets a
`prefix` or `sources` pulls every image the platform runs -- ours, the charts', and what operators
inject -- from the mirror; the synth refuses an env in which one escapes (validate/mirror.py).
"""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from ...config.base import Model
from ...kit.mirror import Mirror

# a registry host (with an optional port), then an optional repository path
_HOST = r"(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]*[a-z0-9])?(?::\d{1,5})?"
MirrorPrefix = Annotated[str, Field(pattern=rf"^{_HOST}(/[a-z0-9]+([._-][a-z0-9]+)*)*$", max_length=200,
                                    examples=["harbor.example.org/mirror", "123456789012.dkr.ecr.eu-west-1.amazonaws.com"])]
SourceRegistry = Annotated[str, Field(pattern=rf"^{_HOST}$", max_length=200, examples=["docker.io", "nvcr.io"])]
Repository = Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9._/:-]*[a-z0-9])?$", max_length=300)]

PULL_SECRET = "registry-pull"  # the dockerconfigjson Secret pods list in imagePullSecrets


class RegistryConfig(Model):
    """Where images are pulled from: the source registries (the default), or an organisation's mirror."""

    prefix: MirrorPrefix | None = Field(default=None, description=(
        "mirror for every source registry not in `sources`: <prefix>/<source host>/<path> (e.g. "
        "harbor.example.org/mirror -> harbor.example.org/mirror/quay.io/jupyter/base-notebook:2026-07-28); "
        "null: only the registries in `sources` are mirrored"))
    sources: dict[SourceRegistry, MirrorPrefix] = Field(default_factory=dict, description=(
        "source registry host -> the repository prefix that mirrors it (a Harbor proxy-cache project, an ECR "
        "pull-through cache prefix): docker.io: harbor.example.org/dockerhub makes redis:7 "
        "harbor.example.org/dockerhub/library/redis:7"))
    pull_secret: bool = Field(default=False, description=(
        f"pods pull with credentials: Secret {PULL_SECRET} (type kubernetes.io/dockerconfigjson, from Secrets "
        "Manager `registry/pull`: username, password) in every namespace that runs pods, listed in their "
        "imagePullSecrets. false: the mirror allows anonymous pulls from the VPC, or the nodes authenticate "
        "(ECR through the node role)"))
    exempt: dict[Repository, Annotated[str, Field(min_length=10)]] = Field(default_factory=dict, description=(
        "repository -> why it cannot come from the mirror (an operator or manifests that cannot be pointed at "
        "it): pulled from its source, listed by `app.py bom --mirror-list`; an entry that matches no image of "
        "the env is refused by the synth"))

    @property
    def enabled(self) -> bool:
        return bool(self.prefix or self.sources)

    def mirror(self) -> Mirror | None:
        """The mirror as kit/mirror.py takes it (None: images come from their sources)."""
        if not self.enabled:
            return None
        return Mirror(prefix=self.prefix, sources=dict(sorted(self.sources.items())),
                      pull_secret=PULL_SECRET if self.pull_secret else None)

    @model_validator(mode="after")
    def _coherent(self) -> "RegistryConfig":
        if not self.enabled and (self.pull_secret or self.exempt):
            raise ValueError("registry.pull_secret and registry.exempt need a mirror: set registry.prefix or "
                             "registry.sources")
        dests = list(self.sources.values())
        shared = sorted({d for d in dests if dests.count(d) > 1})
        if shared:
            raise ValueError(f"registry.sources: {', '.join(shared)} mirrors more than one source registry: a proxy "
                             "cache fronts one upstream, and a mirrored image must name the one it came from")
        loops = sorted(h for h in self.sources if any(d.partition("/")[0] == h
                                                         for d in (*self.sources.values(), self.prefix or "")))
        if loops:
            raise ValueError(f"registry.sources: {', '.join(loops)} is both a source and a mirror host: an image "
                             "already in the mirror would be mirrored again")
        return self
