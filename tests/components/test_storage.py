"""The `storage` unit: the gp3 and EFS StorageClasses and the pre-bound EFS volumes per namespace."""
from conftest import find
from mlplatform.components.storage import objects as storage


def _all(r):
    return [o for objs in r.components.values() for o in objs]


# --------------------------------------------------------------------------- storage
def test_storage_classes_and_volumes_are_defined_once(rendered):
    for r in rendered.values():
        all_objs = _all(r)
        classes = [o for o in all_objs if o["kind"] == "StorageClass"]
        assert sorted(c["metadata"]["name"] for c in classes) == ["efs-sc", "gp3"]
        defaults = [c for c in classes if c["metadata"].get("annotations", {}).get(
            "storageclass.kubernetes.io/is-default-class") == "true"]
        assert [c["metadata"]["name"] for c in defaults] == ["gp3"]
        pvs = [o["metadata"]["name"] for o in all_objs if o["kind"] == "PersistentVolume"]
        assert len(pvs) == len(set(pvs)) == len(r.env.storage.efs_mounts)


def test_gp3_is_encrypted_and_zone_aware(envs):
    gp3 = find(storage.build(envs["prod"]), "StorageClass", "gp3")
    assert gp3["parameters"]["encrypted"] == "true" and gp3["parameters"]["type"] == "gp3"
    assert gp3["volumeBindingMode"] == "WaitForFirstConsumer" and gp3["allowVolumeExpansion"] is True


def test_efs_volumes_are_prebound_retained_and_use_the_terraform_access_point(envs):
    for env in envs.values():
        objs = storage.build(env)
        efs = env.infrastructure.efs
        for m in env.storage.efs_mounts:
            pv = find(objs, "PersistentVolume", storage.pv_name(m.namespace))
            pvc = find(objs, "PersistentVolumeClaim", storage.claim_name(m.namespace))
            assert pv["spec"]["csi"]["volumeHandle"] == f"{efs.file_system_id}::{efs.access_point_id}"
            assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
            assert pv["spec"]["accessModes"] == ["ReadWriteMany"] == pvc["spec"]["accessModes"]
            assert pv["spec"]["claimRef"]["namespace"] == m.namespace == pvc["metadata"]["namespace"]
            assert pv["spec"]["claimRef"]["name"] == pvc["metadata"]["name"]
            assert pvc["spec"]["volumeName"] == pv["metadata"]["name"]
            assert "Delete=false" in pvc["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]
