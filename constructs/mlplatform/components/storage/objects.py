"""Component `storage`: the env's StorageClasses and the shared EFS volumes.

The generator is the only owner of these objects (the book made them twice: in Terraform and in
a script). `gp3` is the default class: encrypted, bound only when a pod is scheduled
(WaitForFirstConsumer, so an EBS volume is created in the pod's zone), expandable. `efs-sc`
serves static volumes only: one PersistentVolume per namespace that mounts the shared file
system through the Terraform-made access point (uid 1000 / gid 100), pre-bound both ways
(`claimRef` + `volumeName`) so no other claim can take it, and retained on delete.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...kit.meta import SYNC_OPTIONS, Obj, metadata

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "storage"
GP3 = "gp3"
EFS = "efs-sc"
EBS_CSI = "ebs.csi.aws.com"
EFS_CSI = "efs.csi.aws.com"
EFS_SIZE = "5Gi"  # required by the API, ignored by EFS (elastic)
KEEP = {SYNC_OPTIONS: "Delete=false"}  # never deleted by Argo CD, even if the Application is


def _storage_classes(env: Env) -> list[Obj]:
    s = env.storage
    gp3 = {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": metadata(GP3, component=NAME, env=env.name,
                             annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
        "provisioner": EBS_CSI,
        "parameters": {"type": "gp3", "encrypted": "true", "iops": str(s.gp3_iops),
                       "throughput": str(s.gp3_throughput_mibps), "csi.storage.k8s.io/fstype": "ext4"},
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
    }
    efs = {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": metadata(EFS, component=NAME, env=env.name,
                             annotations={"platform.mlops.io/usage": "static EFS volumes only (no fileSystemId: "
                                                                    "dynamic provisioning is refused)"}),
        "provisioner": EFS_CSI,
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "Immediate",
    }
    return [gp3, efs]


def pv_name(namespace: str) -> str:
    return f"efs-shared-{namespace}"


def claim_name(namespace: str) -> str:
    """The PVC a namespace mounts the shared EFS file system with (same name as its PV)."""
    return pv_name(namespace)


def _efs_share(env: Env, namespace: str, read_only: bool) -> list[Obj]:
    claim = claim_name(namespace)
    efs = env.infrastructure.efs
    pv = {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": metadata(pv_name(namespace), component=NAME, env=env.name, annotations=KEEP),
        "spec": {
            "capacity": {"storage": EFS_SIZE},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": EFS,
            "volumeMode": "Filesystem",
            "mountOptions": ["tls"],  # encryption in transit (EFS mount helper)
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": namespace, "name": claim},
            "csi": {"driver": EFS_CSI, "volumeHandle": f"{efs.file_system_id}::{efs.access_point_id}",
                    "readOnly": read_only},
        },
    }
    pvc = {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": metadata(claim, component=NAME, env=env.name, namespace=namespace, annotations=KEEP),
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": EFS,
            "volumeMode": "Filesystem",
            "volumeName": pv_name(namespace),
            "resources": {"requests": {"storage": EFS_SIZE}},
        },
    }
    return [pv, pvc]


def build(env: Env) -> list[Obj]:
    objs = _storage_classes(env)
    for m in env.storage.efs_mounts:
        objs += _efs_share(env, m.namespace, m.read_only)
    return objs
