"""The `jupyterhub` section: who may log in, the spawn menu (notebook profiles), culling, the hub's
size; and the check that a root profile has a namespace that admits root."""
from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from ...config.base import DnsLabel, Model, Quantity, refuse, twice
from ...config.strict import Loc
from ...kit import quantity
from ..keycloak import KeycloakRole
from ..node_pools import GpuPoolName, MigProfileName, gpu_pool_field, mig_profile_field
from .catalogue import NotebookImage, catalogue_problems

if TYPE_CHECKING:
    from ...config.models import Env


def _binary_memory(v: str) -> str:
    """KubeSpawner sizes memory in binary units with one-letter suffixes (4G = 4 GiB): accept the
    Kubernetes spelling (4Gi) in config and refuse decimal units that would silently mean less."""
    quantity.parse(v)
    if not v[-2:] in ("Mi", "Gi", "Ti"):
        raise ValueError(f"{v!r}: use Mi, Gi or Ti (binary units) for notebook memory")
    return v


BinaryMemory = Annotated[str, AfterValidator(_binary_memory), Field(examples=["512Mi", "4Gi"])]


class NotebookProfile(Model):
    """One entry of the JupyterHub spawn menu."""

    slug: DnsLabel = Field(description="profile id (DNS label): what the spawn form submits; unique")
    display_name: Annotated[str, Field(min_length=1, max_length=80)] = Field(description="title in the spawn menu")
    description: str = Field(default="", description="one line under the title in the spawn menu")
    image: str = Field(description="key of the image in kit/versions.py IMAGES (one versions table)")
    cpu_guarantee: Annotated[float, Field(gt=0, le=192)] = Field(
        description="CPUs reserved for the notebook (request), in cores")
    cpu_limit: Annotated[float, Field(gt=0, le=192)] = Field(
        description="most CPUs the notebook may use, in cores (not below cpu_guarantee)")
    mem_guarantee: BinaryMemory = Field(
        description="memory reserved for the notebook (request), binary units (Mi, Gi, Ti)")
    mem_limit: BinaryMemory = Field(
        description="most memory the notebook may use before it is OOM-killed, binary units (not below mem_guarantee)")
    gpus: Annotated[int, Field(ge=0, le=8)] = Field(default=0,
        description="GPUs of the notebook (or MIG slices: mig_profile); above 0 it runs on gpu_pool")
    gpu_pool: GpuPoolName = gpu_pool_field()
    mig_profile: MigProfileName | None = mig_profile_field()
    required_roles: list[KeycloakRole] = Field(
        default_factory=list, description="Keycloak realm roles allowed to see and start it (empty: everyone)")
    default: bool = Field(default=False, description="preselected in the spawn menu (at most one profile)")
    run_as_root: bool = Field(default=False, description="explicit opt-in; notebooks run as uid 1000 without sudo otherwise")
    walltime_hours: Annotated[float, Field(gt=0, le=8760)] | None = Field(default=None, description=(
        "the server is stopped this many hours after it started, busy or idle (0.5: 30 minutes); the "
        "walltime service stops it through the JupyterHub API. None: no walltime, idle culling only"))

    @model_validator(mode="after")
    def _sizes(self) -> "NotebookProfile":
        from ...kit import versions
        if self.image not in versions.IMAGES:
            raise ValueError(f"image {self.image!r} is not in the versions table (kit/versions.py IMAGES)")
        if self.cpu_guarantee > self.cpu_limit:
            raise ValueError("cpu_guarantee must not exceed cpu_limit")
        if quantity.parse(self.mem_guarantee) > quantity.parse(self.mem_limit):
            raise ValueError("mem_guarantee must not exceed mem_limit")
        return self


class CullConfig(Model):
    timeout_seconds: Annotated[int, Field(ge=300)] = Field(default=3600,
        description="a notebook server idle this many seconds is stopped")
    every_seconds: Annotated[int, Field(ge=60)] = Field(default=300,
        description="how often the culler checks for idle servers, in seconds")
    max_age_seconds: Annotated[int, Field(ge=0)] = Field(default=604800, description="0: no maximum age")


def _default_profiles() -> list[NotebookProfile]:
    P = NotebookProfile
    return [
        P(slug="small", display_name="Small (CPU)", description="2 CPU, 4 GiB: exploring and light work",
          image="notebook-base", cpu_guarantee=0.5, cpu_limit=2, mem_guarantee="1Gi", mem_limit="4Gi", default=True),
        P(slug="datascience", display_name="Data science (CPU)", description="4 CPU, 16 GiB, the data-science image",
          image="notebook-datascience", cpu_guarantee=1, cpu_limit=4, mem_guarantee="4Gi", mem_limit="16Gi"),
        P(slug="gpu-1", display_name="1 GPU", description="One NVIDIA GPU, 8 CPU, 32 GiB (PyTorch, CUDA)",
          image="notebook-pytorch-cuda", cpu_guarantee=2, cpu_limit=8, mem_guarantee="16Gi", mem_limit="32Gi",
          gpus=1, required_roles=["admin", "ml-engineer", "data-scientist"]),
    ]


class PosixIdentityConfig(Model):
    """Notebooks as the user's POSIX identity, when the realm's directory provides one
    (keycloak.directory.posix): the bounds every uid/gid must stay within, and what happens to a
    user the directory gives no uid. Without a directory notebooks run as uid 1000 / gid 100."""

    min_uid: Annotated[int, Field(ge=1, le=2147483646)] = Field(default=1000,
        description="lowest uid a notebook may run as (system accounts and root sit below; uid 0 is never allowed)")
    max_uid: Annotated[int, Field(ge=1, le=2147483646)] = Field(default=2147483646,
        description="highest uid a notebook may run as")
    min_gid: Annotated[int, Field(ge=1, le=2147483646)] = Field(default=100,
        description="lowest gid (primary or supplementary) a notebook may carry (gid 0 is never allowed)")
    max_gid: Annotated[int, Field(ge=1, le=2147483646)] = Field(default=2147483646,
        description="highest gid a notebook may carry")
    missing_uid: Literal["refuse", "default"] = Field(default="refuse",
        description="a user without uid_number in the token: `refuse` the spawn (with a message to the user), "
                    "or run as the platform default uid 1000 / gid 100")

    @model_validator(mode="after")
    def _bounds(self) -> "PosixIdentityConfig":
        if self.min_uid > self.max_uid:
            raise ValueError("min_uid must not exceed max_uid")
        if self.min_gid > self.max_gid:
            raise ValueError("min_gid must not exceed max_gid")
        return self


class JupyterHubConfig(Model):
    """JupyterHub at platform.<domain>/jupyter, logins through the platform realm."""

    enabled: bool = Field(default=True, description="install JupyterHub")
    admin_roles: list[KeycloakRole] = Field(
        description="realm roles that are JupyterHub admins", default_factory=lambda: ["admin"])
    allowed_roles: list[KeycloakRole] = Field(default_factory=lambda: ["admin", "ml-engineer", "data-scientist"],
                                              min_length=1, description="realm roles that may log in at all")
    profiles: list[NotebookProfile] = Field(
        description="the spawn menu; a user sees the profiles whose required_roles they have", default_factory=_default_profiles, min_length=1)
    images: list[NotebookImage] = Field(default_factory=list, description=(
        "the image catalogue: after a compute profile the user picks one of the images it offers (each "
        "profile's `image` is its preselected choice). Empty: each profile starts its own `image`, no choice"))
    home_size: Quantity = Field(default="10Gi", description="size of each user's home volume (a gp3 PVC per user)")
    hub_db_size: Quantity = Field(default="10Gi", description="size of the hub's sqlite database volume")
    start_timeout_seconds: Annotated[int, Field(ge=60, le=3600)] = Field(
        default=900, description="a GPU node takes minutes to join and pull a CUDA image")
    cull: CullConfig = Field(default=CullConfig(), description="stopping idle notebook servers")
    internet_egress: bool = Field(default=True, description="notebooks may reach public IPs (pip, git, datasets)")
    egress_namespaces: list[DnsLabel] = Field(default_factory=lambda: ["mlflow"],
                                              description="in-cluster namespaces notebooks may call")
    hub_cpu: Quantity = Field(default="500m", description="CPU request of the hub pod")
    hub_cpu_limit: Quantity = Field(default="2", description="CPU limit of the hub pod")
    hub_memory: Quantity = Field(default="1Gi", description="memory request and limit of the hub pod")
    posix_identity: PosixIdentityConfig = Field(default=PosixIdentityConfig(),
        description="uid/gid bounds when notebooks run as the directory's POSIX identities (keycloak.directory.posix)")

    @model_validator(mode="after")
    def _profiles(self) -> "JupyterHubConfig":
        refuse("notebook profiles listed twice", twice([p.slug for p in self.profiles]))
        defaults = [p.slug for p in self.profiles if p.default]
        if len(defaults) > 1:
            raise ValueError(f"more than one default profile: {', '.join(defaults)}")
        for p in self.profiles:
            if p.required_roles and not set(p.required_roles) & set(self.allowed_roles):
                raise ValueError(f"profile {p.slug!r} requires roles {p.required_roles} none of which may log in "
                                 f"(allowed_roles {self.allowed_roles})")
        return self

    @model_validator(mode="after")
    def _catalogue_and_walltime(self) -> "JupyterHubConfig":
        catalogue_problems(self.profiles, self.images)
        cap = self.cull.max_age_seconds
        for n, p in enumerate(self.profiles):
            if p.walltime_hours is not None and cap and p.walltime_hours * 3600 > cap:
                raise ValueError(f"jupyterhub.profiles[{n}] ({p.slug}).walltime_hours {p.walltime_hours:g} exceeds "
                                 f"cull.max_age_seconds {cap}: the culler would stop every server first")
        return self


def root_notebook_problems(env: Env) -> list[tuple[Loc, str]]:
    """A root notebook profile needs a namespace whose Pod Security level admits root."""
    root = [(i, p.slug) for i, p in enumerate(env.jupyterhub.profiles) if p.run_as_root]
    ns = next((p for p in env.namespaces.platform if p.name == "jupyterhub"), None)
    if root and env.jupyterhub.enabled and ns is not None and ns.pod_security == "restricted":
        return [(("jupyterhub", "profiles", i, "run_as_root"),
                 f"profile {slug} would run as root, but namespace jupyterhub enforces Pod Security "
                 "`restricted`, which refuses root pods: drop run_as_root, or give the namespace "
                 "`baseline` with a pod_security_reason in namespaces.platform") for i, slug in root]
    return []


def posix_identity_problems(env: Env) -> list[tuple[Loc, str]]:
    """With directory identities a notebook runs as its user: no profile may run as root, and the
    platform default (uid 1000) must be within the bounds when it is the fallback."""
    from ..keycloak import posix_claims
    if not env.jupyterhub.enabled or posix_claims(env) is None:
        return []
    out: list[tuple[Loc, str]] = [
        (("jupyterhub", "profiles", i, "run_as_root"),
         f"profile {p.slug} runs as root, but keycloak.directory gives notebooks the user's own POSIX identity: "
         "drop run_as_root") for i, p in enumerate(env.jupyterhub.profiles) if p.run_as_root]
    pi = env.jupyterhub.posix_identity
    if pi.missing_uid == "default" and not (pi.min_uid <= 1000 <= pi.max_uid and pi.min_gid <= 100 <= pi.max_gid):
        out.append((("jupyterhub", "posix_identity", "missing_uid"),
                    "missing_uid: default runs as uid 1000 / gid 100, outside min_uid..max_uid / min_gid..max_gid"))
    return out
