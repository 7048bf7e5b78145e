"""Offline Pod Security Admission (validate/admission_pss.py): every rule of the Pod Security
Standards ("latest", Kubernetes 1.35) at the right level, inheritance, all container lists,
pod templates of every supported kind, and the end-to-end object check."""
from __future__ import annotations

import copy

import pytest

from mlplatform.validate.admission_pss import (
    CONTROLLER_CONSEQUENCE,
    LEVELS,
    POD_CONSEQUENCE,
    check_objects,
    check_pod_spec,
    namespace_levels,
    pod_templates,
)


def clean() -> dict:
    """A pod spec that passes restricted."""
    return {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "app",
            "image": "app:1",
            "ports": [{"containerPort": 8080}],
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        }],
        "volumes": [{"name": "cfg", "configMap": {"name": "cfg"}}, {"name": "tmp", "emptyDir": {}}],
    }


def psc(s):
    return s.setdefault("securityContext", {})


def csc(s):
    return s["containers"][0].setdefault("securityContext", {})


def test_clean_spec_passes_every_level():
    for level in LEVELS:
        assert check_pod_spec(clean(), level) == []


def test_unknown_level_is_an_error():
    with pytest.raises(ValueError):
        check_pod_spec(clean(), "strict")


# (id, mutation(spec, meta), first level that rejects it, text the message must contain)
VIOLATIONS = [
    # --- baseline
    ("hostProcess-pod", lambda s, m: psc(s).update(windowsOptions={"hostProcess": True}), "baseline",
     "pod sets securityContext.windowsOptions.hostProcess=true"),
    ("hostProcess-container", lambda s, m: csc(s).update(windowsOptions={"hostProcess": True}), "baseline",
     'container "app" sets securityContext.windowsOptions.hostProcess=true'),
    ("hostNetwork", lambda s, m: s.update(hostNetwork=True), "baseline", "hostNetwork=true"),
    ("hostPID", lambda s, m: s.update(hostPID=True), "baseline", "hostPID=true"),
    ("hostIPC", lambda s, m: s.update(hostIPC=True), "baseline", "hostIPC=true"),
    ("privileged", lambda s, m: csc(s).update(privileged=True), "baseline",
     'container "app" sets securityContext.privileged=true'),
    ("cap-sys-admin", lambda s, m: csc(s)["capabilities"].update(add=["SYS_ADMIN"]), "baseline",
     'baseline: container "app" adds capability SYS_ADMIN'),
    ("hostPath", lambda s, m: s["volumes"].append({"name": "host", "hostPath": {"path": "/var"}}), "baseline",
     'volume "host" is a hostPath volume'),
    ("hostPort", lambda s, m: s["containers"][0]["ports"][0].update(hostPort=8080), "baseline",
     'container "app" uses hostPort 8080'),
    ("apparmor-annotation", lambda s, m: m.setdefault("annotations", {}).update(
        {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}), "baseline",
     "AppArmor annotation"),
    ("apparmor-pod", lambda s, m: psc(s).update(appArmorProfile={"type": "Unconfined"}), "baseline",
     "pod sets securityContext.appArmorProfile.type=Unconfined"),
    ("apparmor-container", lambda s, m: csc(s).update(appArmorProfile={"type": "Unconfined"}), "baseline",
     'container "app" sets securityContext.appArmorProfile.type=Unconfined'),
    ("selinux-type", lambda s, m: psc(s).update(seLinuxOptions={"type": "spc_t"}), "baseline",
     "seLinuxOptions.type=spc_t"),
    ("selinux-user", lambda s, m: csc(s).update(seLinuxOptions={"user": "system_u"}), "baseline",
     "seLinuxOptions.user=system_u"),
    ("selinux-role", lambda s, m: csc(s).update(seLinuxOptions={"role": "system_r"}), "baseline",
     "seLinuxOptions.role=system_r"),
    ("procMount", lambda s, m: csc(s).update(procMount="Unmasked"), "baseline", "procMount=Unmasked"),
    ("seccomp-unconfined-pod", lambda s, m: psc(s).update(seccompProfile={"type": "Unconfined"}), "baseline",
     "pod sets securityContext.seccompProfile.type=Unconfined"),
    ("seccomp-unconfined-container", lambda s, m: csc(s).update(seccompProfile={"type": "Unconfined"}),
     "baseline", 'container "app" sets securityContext.seccompProfile.type=Unconfined'),
    ("sysctl", lambda s, m: psc(s).update(sysctls=[{"name": "kernel.msgmax", "value": "65536"}]), "baseline",
     "sysctl kernel.msgmax"),
    # --- restricted
    ("cap-dac-override", lambda s, m: csc(s)["capabilities"].update(add=["DAC_OVERRIDE"]), "restricted",
     'restricted: container "app" adds capability DAC_OVERRIDE (only NET_BIND_SERVICE may be added)'),
    ("cap-no-drop-all", lambda s, m: csc(s)["capabilities"].update(drop=["NET_RAW"]), "restricted",
     'container "app" does not drop ALL capabilities'),
    ("cap-unset", lambda s, m: csc(s).pop("capabilities"), "restricted", "does not drop ALL"),
    ("volume-nfs", lambda s, m: s["volumes"].append({"name": "data", "nfs": {"server": "x", "path": "/"}}),
     "restricted", 'volume "data" is a nfs volume'),
    ("volume-gitRepo", lambda s, m: s["volumes"].append({"name": "src", "gitRepo": {"repository": "r"}}),
     "restricted", 'volume "src" is a gitRepo volume'),
    ("ape-unset", lambda s, m: csc(s).pop("allowPrivilegeEscalation"), "restricted",
     'container "app" does not set allowPrivilegeEscalation'),
    ("ape-true", lambda s, m: csc(s).update(allowPrivilegeEscalation=True), "restricted",
     "allowPrivilegeEscalation=true"),
    ("nonroot-unset-everywhere", lambda s, m: psc(s).pop("runAsNonRoot"), "restricted",
     'container "app" does not set runAsNonRoot'),
    ("nonroot-pod-false", lambda s, m: psc(s).update(runAsNonRoot=False), "restricted",
     "pod sets securityContext.runAsNonRoot=false"),
    ("nonroot-container-false", lambda s, m: csc(s).update(runAsNonRoot=False), "restricted",
     'container "app" sets securityContext.runAsNonRoot=false'),
    ("runAsUser-pod-0", lambda s, m: psc(s).update(runAsUser=0), "restricted", "pod sets securityContext.runAsUser=0"),
    ("runAsUser-container-0", lambda s, m: csc(s).update(runAsUser=0), "restricted",
     'container "app" sets securityContext.runAsUser=0'),
    ("seccomp-unset", lambda s, m: psc(s).pop("seccompProfile"), "restricted", 'container "app" has no seccompProfile'),
]


@pytest.mark.parametrize("mutate,first,text", [v[1:] for v in VIOLATIONS], ids=[v[0] for v in VIOLATIONS])
def test_each_rule_caught_at_its_level_only(mutate, first, text):
    spec, meta = clean(), {}
    mutate(spec, meta)
    rank = LEVELS.index(first)
    for level in LEVELS:
        msgs = check_pod_spec(spec, level, meta)
        if LEVELS.index(level) < rank:
            assert msgs == [], (level, msgs)
        else:
            assert any(text in m for m in msgs), (level, msgs)
            assert all(m.split(":", 1)[0] in LEVELS[1:LEVELS.index(level) + 1] for m in msgs), msgs


# Settings the standard allows even at restricted.
ALLOWED = [
    ("hostNetwork-false", lambda s, m: s.update(hostNetwork=False, hostPID=False, hostIPC=False)),
    ("hostPort-0", lambda s, m: s["containers"][0]["ports"][0].update(hostPort=0)),
    ("privileged-false", lambda s, m: csc(s).update(privileged=False)),
    ("net-bind-service", lambda s, m: csc(s)["capabilities"].update(add=["NET_BIND_SERVICE"])),
    ("apparmor-runtime-default", lambda s, m: m.setdefault("annotations", {}).update(
        {"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"})),
    ("apparmor-localhost-annotation", lambda s, m: m.setdefault("annotations", {}).update(
        {"container.apparmor.security.beta.kubernetes.io/app": "localhost/my-profile"})),
    ("apparmor-field", lambda s, m: csc(s).update(appArmorProfile={"type": "Localhost", "localhostProfile": "p"})),
    ("selinux-container-init-t",
     lambda s, m: psc(s).update(seLinuxOptions={"type": "container_init_t", "level": "s0:c1"})),
    ("selinux-kvm-engine", lambda s, m: csc(s).update(seLinuxOptions={"type": "container_engine_t", "user": ""})),
    ("procMount-default", lambda s, m: csc(s).update(procMount="Default")),
    ("safe-sysctls", lambda s, m: psc(s).update(sysctls=[
        {"name": n, "value": "1"} for n in ("net.ipv4.tcp_keepalive_time", "net.ipv4.ip_unprivileged_port_start",
                                            "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_rmem")])),
    ("restricted-volume-types", lambda s, m: s["volumes"].extend([
        {"name": "a", "secret": {"secretName": "s"}}, {"name": "b", "persistentVolumeClaim": {"claimName": "c"}},
        {"name": "c", "projected": {"sources": []}}, {"name": "d", "downwardAPI": {"items": []}},
        {"name": "e", "csi": {"driver": "d"}}, {"name": "f", "ephemeral": {"volumeClaimTemplate": {}}},
        {"name": "g", "image": {"reference": "models:1"}}])),
    ("seccomp-container-only",
     lambda s, m: (psc(s).pop("seccompProfile"),
                   csc(s).update(seccompProfile={"type": "Localhost", "localhostProfile": "p"}))),
    ("nonroot-container-only", lambda s, m: (psc(s).pop("runAsNonRoot"), csc(s).update(runAsNonRoot=True))),
    ("runAsUser-unset", lambda s, m: psc(s).pop("runAsUser")),
]


@pytest.mark.parametrize("mutate", [a[1] for a in ALLOWED], ids=[a[0] for a in ALLOWED])
def test_allowed_settings_pass_restricted(mutate):
    spec, meta = clean(), {}
    mutate(spec, meta)
    assert check_pod_spec(spec, "restricted", meta) == []


def test_privileged_level_allows_anything():
    spec = clean()
    spec.update(hostNetwork=True, hostPID=True, volumes=[{"name": "h", "hostPath": {"path": "/"}}])
    csc(spec).update(privileged=True, runAsUser=0, capabilities={"add": ["SYS_ADMIN"]})
    assert check_pod_spec(spec, "privileged") == []
    assert len(check_pod_spec(spec, "baseline")) == 5


# --- inheritance


def test_pod_level_run_as_non_root_covers_unset_container():
    spec = clean()
    assert "runAsNonRoot" not in csc(spec)
    assert check_pod_spec(spec, "restricted") == []


def test_container_false_overrides_pod_true():
    spec = clean()
    csc(spec)["runAsNonRoot"] = False
    assert check_pod_spec(spec, "restricted") == [
        'restricted: container "app" sets securityContext.runAsNonRoot=false (runAsNonRoot must be true)']


def test_seccomp_inherited_from_pod_and_container_may_override_validly():
    spec = clean()
    assert "seccompProfile" not in csc(spec)  # inherited RuntimeDefault
    assert check_pod_spec(spec, "restricted") == []
    csc(spec)["seccompProfile"] = {"type": "Unconfined"}
    msgs = check_pod_spec(spec, "restricted")
    assert [m.split(":", 1)[0] for m in msgs] == ["baseline", "restricted"]


# --- every container list is checked


def test_init_containers_are_checked():
    spec = clean()
    spec["initContainers"] = [{"name": "init", "image": "busybox"}]
    msgs = check_pod_spec(spec, "restricted")
    assert check_pod_spec(spec, "baseline") == []
    assert msgs == [
        'restricted: init container "init" does not set allowPrivilegeEscalation '
        "(securityContext.allowPrivilegeEscalation must be false)",
        'restricted: init container "init" does not drop ALL capabilities '
        '(securityContext.capabilities.drop must include "ALL")',
    ]


def test_ephemeral_containers_are_checked():
    spec = clean()
    spec["ephemeralContainers"] = [{"name": "debug", "image": "busybox", "securityContext": {
        "privileged": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]
    assert check_pod_spec(spec, "baseline") == [
        'baseline: ephemeral container "debug" sets securityContext.privileged=true '
        "(privileged containers are forbidden)"]


# --- Windows pods


def windows() -> dict:
    return {"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": True},
            "containers": [{"name": "win", "image": "win:1"}]}


def test_windows_pod_exempt_from_linux_only_restricted_rules():
    assert check_pod_spec(windows(), "restricted") == []


def test_windows_pod_still_needs_run_as_non_root_and_no_host_process():
    spec = windows()
    spec["securityContext"] = {"windowsOptions": {"hostProcess": True}}
    spec["hostNetwork"] = True
    msgs = check_pod_spec(spec, "restricted")
    assert any("hostProcess=true" in m for m in msgs)
    assert any("does not set runAsNonRoot" in m for m in msgs)
    assert not any("seccomp" in m or "capabilities" in m or "allowPrivilegeEscalation" in m for m in msgs)


# --- pod templates


def tmpl(name="c"):
    return {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": name, "image": "i"}]}}


def ray_cluster_spec():
    return {"headGroupSpec": {"template": tmpl("head")},
            "workerGroupSpecs": [{"groupName": "cpu", "template": tmpl("w1")},
                                 {"groupName": "gpu", "template": tmpl("w2")}]}


def jobset_spec():
    return {"replicatedJobs": [{"name": "node", "template": {"spec": {"template": tmpl("node")}}},
                               {"name": "init", "template": {"spec": {"template": tmpl("init")}}}]}


KINDS = [
    ({"apiVersion": "v1", "kind": "Pod", "spec": tmpl()["spec"]}, ["spec"]),
    ({"apiVersion": "v1", "kind": "PodTemplate", "template": tmpl()}, ["template"]),
    ({"apiVersion": "v1", "kind": "ReplicationController", "spec": {"template": tmpl()}}, ["spec.template"]),
    ({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": tmpl()}}, ["spec.template"]),
    ({"apiVersion": "apps/v1", "kind": "ReplicaSet", "spec": {"template": tmpl()}}, ["spec.template"]),
    ({"apiVersion": "apps/v1", "kind": "StatefulSet", "spec": {"template": tmpl()}}, ["spec.template"]),
    ({"apiVersion": "apps/v1", "kind": "DaemonSet", "spec": {"template": tmpl()}}, ["spec.template"]),
    ({"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": tmpl()}}, ["spec.template"]),
    ({"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": tmpl()}}}},
     ["spec.jobTemplate.spec.template"]),
    ({"apiVersion": "ray.io/v1", "kind": "RayCluster", "spec": ray_cluster_spec()},
     ["spec.headGroupSpec.template", "spec.workerGroupSpecs[0].template", "spec.workerGroupSpecs[1].template"]),
    ({"apiVersion": "ray.io/v1", "kind": "RayJob", "spec": {"rayClusterSpec": ray_cluster_spec()}},
     ["spec.rayClusterSpec.headGroupSpec.template", "spec.rayClusterSpec.workerGroupSpecs[0].template",
      "spec.rayClusterSpec.workerGroupSpecs[1].template"]),
    ({"apiVersion": "ray.io/v1", "kind": "RayJob",
      "spec": {"rayClusterSpec": {"headGroupSpec": {"template": tmpl()}}, "submitterPodTemplate": tmpl("sub")}},
     ["spec.rayClusterSpec.headGroupSpec.template", "spec.submitterPodTemplate"]),
    ({"apiVersion": "ray.io/v1", "kind": "RayService", "spec": {"rayClusterConfig": ray_cluster_spec()}},
     ["spec.rayClusterConfig.headGroupSpec.template", "spec.rayClusterConfig.workerGroupSpecs[0].template",
      "spec.rayClusterConfig.workerGroupSpecs[1].template"]),
    ({"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "ClusterTrainingRuntime",
      "spec": {"template": {"spec": jobset_spec()}}},
     ["spec.template.spec.replicatedJobs[0].template.spec.template",
      "spec.template.spec.replicatedJobs[1].template.spec.template"]),
    ({"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "TrainingRuntime",
      "spec": {"template": {"spec": jobset_spec()}}},
     ["spec.template.spec.replicatedJobs[0].template.spec.template",
      "spec.template.spec.replicatedJobs[1].template.spec.template"]),
    ({"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "spec": jobset_spec()},
     ["spec.replicatedJobs[0].template.spec.template", "spec.replicatedJobs[1].template.spec.template"]),
    ({"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job",
      "spec": {"tasks": [{"name": "ps", "template": tmpl()}, {"name": "worker", "template": tmpl()}]}},
     ["spec.tasks[0].template", "spec.tasks[1].template"]),
    ({"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
      "spec": {"leaderWorkerTemplate": {"leaderTemplate": tmpl("l"), "workerTemplate": tmpl("w")}}},
     ["spec.leaderWorkerTemplate.leaderTemplate", "spec.leaderWorkerTemplate.workerTemplate"]),
    ({"apiVersion": "leaderworkerset.x-k8s.io/v1", "kind": "LeaderWorkerSet",
      "spec": {"leaderWorkerTemplate": {"workerTemplate": tmpl("w")}}},
     ["spec.leaderWorkerTemplate.workerTemplate"]),
    ({"apiVersion": "sparkoperator.k8s.io/v1beta2", "kind": "SparkApplication",
      "spec": {"driver": {"cores": 1}, "executor": {"instances": 2}}}, []),
    ({"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus", "spec": {"replicas": 1}}, []),
    ({"apiVersion": "monitoring.coreos.com/v1", "kind": "Alertmanager", "spec": {"replicas": 1}}, []),
    ({"apiVersion": "example.com/v1", "kind": "Deployment", "spec": {"template": tmpl()}}, []),  # not apps/v1
    ({"apiVersion": "v1", "kind": "ConfigMap", "data": {}}, []),
]


@pytest.mark.parametrize("obj,paths", KINDS, ids=[f"{o['kind']}-{i}" for i, (o, _) in enumerate(KINDS)])
def test_pod_templates(obj, paths):
    found = pod_templates(obj)
    assert [p for p, _, _ in found] == paths
    for _, spec, meta in found:
        assert spec["containers"] and isinstance(meta, dict)


def test_pod_template_metadata_is_passed_for_apparmor():
    t = tmpl("app")
    t["metadata"]["annotations"] = {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}
    [(_, spec, meta)] = pod_templates({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": t}})
    assert any("AppArmor" in m for m in check_pod_spec(spec, "baseline", meta))


# --- namespaces and objects


def ns(name, level=None):
    labels = {"pod-security.kubernetes.io/enforce": level} if level else {"team": name}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def test_namespace_levels():
    objs = [ns("secure", "restricted"), ns("apps", "baseline"), ns("sys", "privileged"), ns("plain"),
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bare"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "secure"}}]
    assert namespace_levels(objs) == {"secure": "restricted", "apps": "baseline", "sys": "privileged",
                                      "plain": "privileged", "bare": "privileged"}


def deployment(name, namespace, spec):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"template": {"metadata": {}, "spec": spec}}}


def pod(name, namespace, spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def test_check_objects_end_to_end():
    dac = clean()
    dac["containers"][0]["name"] = "scheduler"
    csc(dac)["capabilities"]["add"] = ["DAC_OVERRIDE"]
    hostnet = clean()
    hostnet["hostNetwork"] = True
    objs = [
        ns("secure", "restricted"), ns("apps", "baseline"),
        deployment("sched", "secure", dac),          # restricted violation
        deployment("sched", "apps", dac),            # fine at baseline
        pod("net", "apps", hostnet),                 # baseline violation
        pod("ok", "secure", clean()),                # fine
        pod("elsewhere", "unknown", hostnet),        # namespace without a level: skipped
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "secure"}},
    ]
    found = check_objects(objs, namespace_levels(objs))
    assert [(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) for o, _ in found] == [
        ("Deployment", "secure", "sched"), ("Pod", "apps", "net")]
    assert found[0][1] == (
        'spec.template: restricted: container "scheduler" adds capability DAC_OVERRIDE '
        f"(only NET_BIND_SERVICE may be added); {CONTROLLER_CONSEQUENCE}")
    assert found[1][1].startswith("spec: baseline: pod sets hostNetwork=true")
    assert found[1][1].endswith("the API server rejects the pod") and found[1][1].endswith(POD_CONSEQUENCE)


def test_check_objects_invalid_level_fails_closed():
    spec = clean()
    csc(spec)["capabilities"]["add"] = ["DAC_OVERRIDE"]
    found = check_objects([deployment("d", "x", spec)], {"x": "bogus"})
    assert len(found) == 1 and "restricted:" in found[0][1]


def test_inputs_are_not_mutated():
    spec = clean()
    before = copy.deepcopy(spec)
    check_pod_spec(spec, "restricted")
    pod_templates(deployment("d", "n", spec))
    assert spec == before
