"""The notebook image catalogue: which pinned images the spawn menu offers, and for which compute profiles.

A compute profile (config.py `NotebookProfile`: resources, GPUs, required roles, walltime) is what the
user picks first; the catalogue is the second choice, offered per profile as KubeSpawner
`profile_options.image` (objects.py `image_option`). An image is a versions row of this unit
(versions.py): the catalogue only names rows, so every image a notebook can run is pinned, in the
BOM and renovated like the rest. With no catalogue, each profile starts its own `image` and the
spawn menu has no image choice (the platform's behaviour before the catalogue existed)."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from ...config.base import DnsLabel, Model, refuse, twice
from ...kit.versions import Image
from .versions import VERSIONS

HUB_IMAGE = "jupyterhub-hub"  # the hub's own image, a row of this unit but never a notebook


def pinned_notebook_images() -> tuple[str, ...]:
    """The Image rows of this unit a notebook may run (every row but the hub's)."""
    return tuple(r.name for r in VERSIONS if isinstance(r, Image) and r.name != HUB_IMAGE)


class NotebookImage(Model):
    """One image of the spawn menu's image choice."""

    key: str = Field(description="name of an Image row of the jupyterhub unit's versions "
                                 "(components/jupyterhub/versions.py): the pinned repository and tag")
    display_name: Annotated[str, Field(min_length=1, max_length=80)] = Field(
        description="the choice's label in the spawn menu")
    compute: list[DnsLabel] = Field(default_factory=list, description=(
        "slugs of the compute profiles (jupyterhub.profiles) that offer this image; empty: every profile"))

    @field_validator("key")
    @classmethod
    def _pinned(cls, v: str) -> str:
        rows = pinned_notebook_images()
        if v not in rows:
            raise ValueError(f"image {v!r} is not pinned: add an Image row to components/jupyterhub/versions.py "
                             f"(pinned notebook images: {', '.join(rows)})")
        return v


def offered(images: list[NotebookImage], slug: str) -> list[NotebookImage]:
    """The catalogue images compute profile `slug` offers, in catalogue order."""
    return [i for i in images if not i.compute or slug in i.compute]


def catalogue_problems(profiles, images: list[NotebookImage]) -> None:
    """Refuse a catalogue that names an image twice or an unknown profile, and a profile whose own
    `image` (its default choice) the catalogue does not allow for it."""
    if not images:
        return
    refuse("jupyterhub.images: images listed twice", twice([i.key for i in images]))
    slugs = {p.slug for p in profiles}
    for n, i in enumerate(images):
        refuse(f"jupyterhub.images[{n}] ({i.key}).compute names no compute profile", set(i.compute) - slugs)
    for n, p in enumerate(profiles):
        keys = [i.key for i in offered(images, p.slug)]
        if p.image not in keys:
            raise ValueError(
                f"jupyterhub.profiles[{n}] ({p.slug}) offers image {p.image!r}, which the image catalogue does not "
                f"allow for it (jupyterhub.images[].compute); its image choices are: {', '.join(keys) or 'none'}")
