"""The env's Airflow pools: a ConfigMap and the Job that imports them (the chart has no pools value).

Pools: the chart has no pools value. A ConfigMap holds the pools of the env file as
`airflow pools import` JSON; a Job imports it (and deletes pools no longer listed, except
`default_pool`, when `prune_pools`). The Job's pod template carries the sha256 of that JSON and
Argo CD replaces the Job (`Force=true,Replace=true`) exactly when it changes -- the pattern of the
realm sync in `components/keycloak.py`.
"""
from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from ...kit import k8s, versions
from ...kit.meta import Obj, metadata
from .access import AIRFLOW_DB
from .names import (AIRFLOW_UID, LABEL_POOLS_HASH, NAME, NAMESPACE, POOLS_CONFIGMAP, POOLS_FILE, POOLS_JOB,
                    RESTRICTED_POD)

if TYPE_CHECKING:
    from ...config.models import Env


def pools_json(env: Env) -> str:
    """`airflow pools import` format: {name: {slots, description, include_deferred}}."""
    pools = {p.name: {"slots": p.slots, "description": p.description, "include_deferred": p.include_deferred}
             for p in env.airflow.pools}
    return json.dumps(pools, indent=2, sort_keys=True) + "\n"


def _pools_script(env: Env) -> str:
    lines = ["set -eu", "airflow db check-migrations --migration-wait-timeout=900"]
    if env.airflow.pools:
        lines.append(f"airflow pools import /pools/{POOLS_FILE}")
    prune = env.airflow.prune_pools
    if prune:
        lines += [
            "airflow pools list --output json > /tmp/current.json",
            "python - <<'EOF' > /tmp/stale.txt",
            "import json",
            f"wanted = set(json.load(open('/pools/{POOLS_FILE}')))",
            "for p in json.load(open('/tmp/current.json')):",
            "    if p['pool'] not in wanted and p['pool'] != 'default_pool':",
            "        print(p['pool'])",
            "EOF",
            'while IFS= read -r pool; do airflow pools delete "$pool"; done < /tmp/stale.txt',
        ]
    return "\n".join(lines) + "\n"


def pools_sync(env: Env) -> list[Obj]:
    a = env.airflow
    data = pools_json(env)
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": metadata(POOLS_CONFIGMAP, component=NAME, env=env.name, namespace=NAMESPACE),
          "data": {POOLS_FILE: data}}
    job = k8s.sync_job(
        POOLS_JOB, namespace=NAMESPACE, component=NAME, env=env.name, deadline_seconds=3600,
        hash_annotation=(LABEL_POOLS_HASH, hashlib.sha256((data + str(a.prune_pools)).encode()).hexdigest()),
        pod_spec={
                    "securityContext": {**RESTRICTED_POD, "runAsUser": AIRFLOW_UID, "runAsGroup": 0},
                    "containers": [{
                        "name": "pools",
                        "image": versions.IMAGES["airflow"].ref,
                        "command": ["bash", "-c", _pools_script(env)],
                        "env": [
                            {"name": "AIRFLOW_HOME", "value": "/tmp/airflow"},
                            {"name": "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD",
                             "value": "cat /secrets/airflow-db/connection"},
                        ],
                        "resources": a.resources.pools_job.render(),
                        "securityContext": k8s.restricted_container(readOnlyRootFilesystem=True),
                        "volumeMounts": [{"name": "pools", "mountPath": "/pools", "readOnly": True},
                                         {"name": "airflow-db", "mountPath": "/secrets/airflow-db", "readOnly": True},
                                         {"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "pools", "configMap": {"name": POOLS_CONFIGMAP}},
                                {"name": "airflow-db", "secret": {"secretName": AIRFLOW_DB,
                                                                  "items": [{"key": "connection", "path": "connection"}]}},
                                {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
        })
    return [cm, job]
