"""Component `secrets`: where every credential of the platform comes from.

One ClusterSecretStore (AWS Secrets Manager, through the operator's IRSA role; usable only from
the namespaces that want a Secret) and one ExternalSecret per Secret a unit wants (each unit's
`secrets(env)` hook, from the catalog of `kit/secrets.py`), all in this one folder, so a
reviewer sees in one place which Secret lands in which namespace and from which Secrets Manager
name. Values never pass through git: Terraform creates the secret names, an operator sets the
values (`terraform/README.md`). Charts and workloads refer to the Secret names their unit
declares (`existingSecret`-style values), never to literal values, so no chart generates a
random one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit.component import contributors
from ...kit.meta import Obj, metadata
from ...kit.secrets import STORE_KIND, STORE_NAME, SecretWant, catalog, collect_wants, external_secret

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "secrets"


def wanted(env: Env) -> list[SecretWant]:
    """Every ExternalSecret of the env: what each unit wants, in registry order."""
    return collect_wants(env, contributors())


def build(env: Env) -> list[Obj]:
    infra = env.infrastructure
    wants = wanted(env)
    known = catalog()
    store = {
        "apiVersion": "external-secrets.io/v1", "kind": STORE_KIND,
        "metadata": metadata(STORE_NAME, component=NAME, env=env.name),
        "spec": {
            # No `auth`: the operator's own IRSA role, which may read only `<prefix>*`.
            "provider": {"aws": {"service": "SecretsManager", "region": infra.region}},
            "conditions": [{"namespaces": sorted({w.namespace for w in wants})}],
        },
    }
    objs: list[Obj] = [store]
    for w in wants:
        objs.append(external_secret(w.name, namespace=w.namespace, component=NAME, env=env.name,
                                    prefix=infra.secrets_manager_prefix, refresh=env.secrets.refresh_interval,
                                    data=w.data, labels=w.labels, template_data=w.template_data, target=w.secret,
                                    known=known, secret_type=w.secret_type))
    return objs
