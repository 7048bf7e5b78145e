"""Offline Pod Security Admission: the Pod Security Standards, version "latest" (Kubernetes 1.35).

Every pod the platform makes -- our own objects, rendered Helm charts, and the pods controllers
create from templates -- is admitted by the API server against its namespace's
`pod-security.kubernetes.io/enforce` level. This module answers, before anything is applied,
which of those pods the cluster would refuse.

Levels are cumulative: `privileged` allows everything, `baseline` forbids known privilege
escalations, `restricted` adds current hardening practice on top of every baseline rule.

baseline
  hostProcess (pod and containers), host namespaces (hostNetwork/hostPID/hostIPC), privileged
  containers, capabilities added beyond the default set, hostPath volumes, non-zero hostPorts,
  AppArmor (annotations and `appArmorProfile`: RuntimeDefault/Localhost only), SELinux (type from
  the container_* set, no user/role), /proc mount type (Default only), seccomp (never
  Unconfined), sysctls (the namespaced "safe" set only).
restricted
  volume types (configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim,
  projected, secret), allowPrivilegeEscalation=false, runAsNonRoot=true, runAsUser != 0,
  seccomp RuntimeDefault/Localhost required, capabilities drop ALL and add at most
  NET_BIND_SERVICE. Pods with `spec.os.name: windows` are exempt from the Linux-only ones
  (privilege escalation, seccomp, capabilities), as the standard says.

Rules apply to `containers`, `initContainers` and `ephemeralContainers`; a container inherits
`runAsNonRoot`, `runAsUser` and `seccompProfile` from the pod's securityContext where unset.
Behaviour behind alpha feature gates (e.g. UserNamespacesPodSecurityStandards, which relaxes
procMount/runAsNonRoot for `hostUsers: false`) is not modelled: the default cluster is.

Standard library only, on purpose: this module imports nothing from the project.
"""
from __future__ import annotations

from typing import Any, Iterator

LEVELS = ("privileged", "baseline", "restricted")
ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"

# Capabilities the container runtime grants by default; baseline lets a container (re-)add these.
BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
RESTRICTED_ADD_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})

# Namespaced, isolated sysctls (1.27 added ip_local_reserved_ports, 1.29 the tcp keepalive/fin
# ones, 1.32 tcp_rmem/tcp_wmem).
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
})

SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
APPARMOR_TYPES = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
SECCOMP_TYPES = frozenset({"RuntimeDefault", "Localhost"})

# Volume sources restricted allows (`image`: OCI image volumes, allowed by admission since 1.33).
RESTRICTED_VOLUMES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim",
    "projected", "secret",
})

CONTAINER_LISTS = (
    ("initContainers", "init container"),
    ("containers", "container"),
    ("ephemeralContainers", "ephemeral container"),
)

POD_CONSEQUENCE = "the API server rejects the pod"
CONTROLLER_CONSEQUENCE = "the controller's pods are rejected at creation (the workload never becomes ready)"


def _d(v: Any) -> dict:
    return v if isinstance(v, dict) else {}


def _l(v: Any) -> list:
    return v if isinstance(v, list) else []


def _containers(spec: dict) -> Iterator[tuple[str, dict]]:
    """(label, container) for every container of the pod, init and ephemeral ones included."""
    for field, label in CONTAINER_LISTS:
        for c in _l(spec.get(field)):
            if isinstance(c, dict):
                yield f'{label} "{c.get("name", "?")}"', c


def _sc(c: dict) -> dict:
    return _d(c.get("securityContext"))


def _is_root(uid: Any) -> bool:
    return type(uid) is int and uid == 0


def _is_windows(spec: dict) -> bool:
    return _d(spec.get("os")).get("name") == "windows"


# ---------------------------------------------------------------------------------------------
# baseline


def _baseline(spec: dict, meta: dict) -> list[str]:
    out: list[str] = []
    psc = _d(spec.get("securityContext"))
    containers = list(_containers(spec))

    def v(msg: str) -> None:
        out.append(f"baseline: {msg}")

    # HostProcess
    if _d(psc.get("windowsOptions")).get("hostProcess") is True:
        v("pod sets securityContext.windowsOptions.hostProcess=true (HostProcess pods are forbidden)")
    for who, c in containers:
        if _d(_sc(c).get("windowsOptions")).get("hostProcess") is True:
            v(f"{who} sets securityContext.windowsOptions.hostProcess=true (HostProcess containers are forbidden)")

    # Host namespaces
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field) is True:
            v(f"pod sets {field}=true (sharing host namespaces is forbidden)")

    # Privileged containers
    for who, c in containers:
        if _sc(c).get("privileged") is True:
            v(f"{who} sets securityContext.privileged=true (privileged containers are forbidden)")

    # Capabilities
    for who, c in containers:
        for cap in _l(_d(_sc(c).get("capabilities")).get("add")):
            if cap not in BASELINE_CAPABILITIES:
                v(f"{who} adds capability {cap} (only the runtime's default capabilities may be added)")

    # HostPath volumes
    for vol in _l(spec.get("volumes")):
        if isinstance(vol, dict) and vol.get("hostPath") is not None:
            v(f'volume "{vol.get("name", "?")}" is a hostPath volume (hostPath volumes are forbidden)')

    # Host ports
    for who, c in containers:
        for p in _l(c.get("ports")):
            hp = _d(p).get("hostPort")
            if hp not in (None, 0):
                v(f"{who} uses hostPort {hp} (host ports are forbidden)")

    # AppArmor: legacy annotations and the securityContext field.
    for key, val in sorted(_d(meta.get("annotations")).items()):
        if isinstance(key, str) and key.startswith(APPARMOR_ANNOTATION):
            if not (val == "runtime/default" or (isinstance(val, str) and val.startswith("localhost/"))):
                target = key[len(APPARMOR_ANNOTATION):]
                v(f'container "{target}" has AppArmor annotation {key}={val!r} '
                  "(only runtime/default or localhost/* is allowed)")
    aa = _d(psc.get("appArmorProfile")).get("type")
    if aa is not None and aa not in APPARMOR_TYPES:
        v(f"pod sets securityContext.appArmorProfile.type={aa} (only RuntimeDefault or Localhost is allowed)")
    for who, c in containers:
        aa = _d(_sc(c).get("appArmorProfile")).get("type")
        if aa is not None and aa not in APPARMOR_TYPES:
            v(f"{who} sets securityContext.appArmorProfile.type={aa} (only RuntimeDefault or Localhost is allowed)")

    # SELinux
    def selinux(who: str, opts: dict) -> None:
        t = opts.get("type")
        if t is not None and t not in SELINUX_TYPES:
            v(f"{who} sets securityContext.seLinuxOptions.type={t} "
              "(only container_t, container_init_t, container_kvm_t or container_engine_t is allowed)")
        for f in ("user", "role"):
            if opts.get(f) not in (None, ""):
                v(f"{who} sets securityContext.seLinuxOptions.{f}={opts[f]} (custom SELinux {f}s are forbidden)")

    selinux("pod", _d(psc.get("seLinuxOptions")))
    for who, c in containers:
        selinux(who, _d(_sc(c).get("seLinuxOptions")))

    # /proc mount type
    for who, c in containers:
        pm = _sc(c).get("procMount")
        if pm not in (None, "Default"):
            v(f"{who} sets securityContext.procMount={pm} (only the Default /proc mount is allowed)")

    # Seccomp: never Unconfined.
    if _d(psc.get("seccompProfile")).get("type") == "Unconfined":
        v("pod sets securityContext.seccompProfile.type=Unconfined (seccomp may not be disabled)")
    for who, c in containers:
        if _d(_sc(c).get("seccompProfile")).get("type") == "Unconfined":
            v(f"{who} sets securityContext.seccompProfile.type=Unconfined (seccomp may not be disabled)")

    # Sysctls
    for s in _l(psc.get("sysctls")):
        name = _d(s).get("name")
        if name not in SAFE_SYSCTLS:
            v(f"pod sets sysctl {name} (only the safe, namespaced sysctls are allowed)")
    return out


# ---------------------------------------------------------------------------------------------
# restricted


def _restricted(spec: dict) -> list[str]:
    out: list[str] = []
    psc = _d(spec.get("securityContext"))
    containers = list(_containers(spec))
    linux = not _is_windows(spec)

    def v(msg: str) -> None:
        out.append(f"restricted: {msg}")

    # Volume types
    for vol in _l(spec.get("volumes")):
        if not isinstance(vol, dict):
            continue
        for source in sorted(k for k in vol if k != "name"):
            if source not in RESTRICTED_VOLUMES:
                v(f'volume "{vol.get("name", "?")}" is a {source} volume (only configMap, csi, downwardAPI, '
                  "emptyDir, ephemeral, image, persistentVolumeClaim, projected and secret volumes are allowed)")

    # Privilege escalation (Linux only)
    if linux:
        for who, c in containers:
            ape = _sc(c).get("allowPrivilegeEscalation")
            if ape is not False:
                state = "sets allowPrivilegeEscalation=true" if ape is True else "does not set allowPrivilegeEscalation"
                v(f"{who} {state} (securityContext.allowPrivilegeEscalation must be false)")

    # Running as non-root: pod-level true covers containers that leave it unset; false anywhere fails.
    pod_nonroot = psc.get("runAsNonRoot")
    if pod_nonroot is False:
        v("pod sets securityContext.runAsNonRoot=false (runAsNonRoot must be true)")
    for who, c in containers:
        nr = _sc(c).get("runAsNonRoot")
        if nr is False:
            v(f"{who} sets securityContext.runAsNonRoot=false (runAsNonRoot must be true)")
        elif nr is None and pod_nonroot is not True:
            v(f"{who} does not set runAsNonRoot and the pod does not set it to true "
              "(runAsNonRoot must be true on the container or the pod)")

    # Running as a non-root user
    if _is_root(psc.get("runAsUser")):
        v("pod sets securityContext.runAsUser=0 (running as UID 0 is forbidden)")
    for who, c in containers:
        if _is_root(_sc(c).get("runAsUser")):
            v(f"{who} sets securityContext.runAsUser=0 (running as UID 0 is forbidden)")

    if linux:
        # Seccomp: RuntimeDefault or Localhost, on the container or inherited from the pod.
        pod_type = _d(psc.get("seccompProfile")).get("type")
        if pod_type is not None and pod_type not in SECCOMP_TYPES:
            v(f"pod sets securityContext.seccompProfile.type={pod_type} (must be RuntimeDefault or Localhost)")
        for who, c in containers:
            t = _d(_sc(c).get("seccompProfile")).get("type")
            if t is not None and t not in SECCOMP_TYPES:
                v(f"{who} sets securityContext.seccompProfile.type={t} (must be RuntimeDefault or Localhost)")
            elif t is None and pod_type is None:
                v(f"{who} has no seccompProfile and the pod sets none "
                  "(seccompProfile.type must be RuntimeDefault or Localhost on the container or the pod)")

        # Capabilities: drop ALL, add at most NET_BIND_SERVICE.
        for who, c in containers:
            caps = _d(_sc(c).get("capabilities"))
            if "ALL" not in _l(caps.get("drop")):
                v(f'{who} does not drop ALL capabilities (securityContext.capabilities.drop must include "ALL")')
            for cap in _l(caps.get("add")):
                if cap not in RESTRICTED_ADD_CAPABILITIES:
                    v(f"{who} adds capability {cap} (only NET_BIND_SERVICE may be added)")
    return out


# ---------------------------------------------------------------------------------------------
# public API


def check_pod_spec(spec: dict, level: str, pod_metadata: dict | None = None) -> list[str]:
    """Every violation of `level` by a PodSpec (API shape), restricted including all baseline rules.

    Each message starts with the level the rule belongs to, names the pod/container/volume and
    the offending setting, and ends with the rule in parentheses.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown Pod Security level {level!r} (one of {', '.join(LEVELS)})")
    spec, meta = _d(spec), _d(pod_metadata)
    if level == "privileged":
        return []
    out = _baseline(spec, meta)
    if level == "restricted":
        out += _restricted(spec)
    return out


def _group(obj: dict) -> str:
    api = obj.get("apiVersion") or ""
    return api.rsplit("/", 1)[0] if "/" in api else ""


def _tmpl(path: str, template: Any) -> list[tuple[str, dict, dict]]:
    t = _d(template)
    if not isinstance(t.get("spec"), dict):
        return []
    return [(path, t["spec"], _d(t.get("metadata")))]


def _ray_cluster(prefix: str, cluster_spec: Any) -> list[tuple[str, dict, dict]]:
    cs = _d(cluster_spec)
    out = _tmpl(f"{prefix}.headGroupSpec.template", _d(cs.get("headGroupSpec")).get("template"))
    for i, g in enumerate(_l(cs.get("workerGroupSpecs"))):
        out += _tmpl(f"{prefix}.workerGroupSpecs[{i}].template", _d(g).get("template"))
    return out


def _jobset(prefix: str, jobset_spec: Any) -> list[tuple[str, dict, dict]]:
    out = []
    for i, rj in enumerate(_l(_d(jobset_spec).get("replicatedJobs"))):
        job_spec = _d(_d(_d(rj).get("template")).get("spec"))
        out += _tmpl(f"{prefix}.replicatedJobs[{i}].template.spec.template", job_spec.get("template"))
    return out


_SPEC_TEMPLATE_KINDS = {
    ("", "ReplicationController"), ("apps", "Deployment"), ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("batch", "Job"),
}
# Known kinds whose operator builds the pods itself from fields that are not pod templates
# (pod_templates gives []; checked elsewhere). Public so callers can tell them from unknown kinds.
NO_POD_TEMPLATE_KINDS = {
    ("sparkoperator.k8s.io", "SparkApplication"), ("sparkoperator.k8s.io", "ScheduledSparkApplication"),
    ("monitoring.coreos.com", "Prometheus"), ("monitoring.coreos.com", "Alertmanager"),
}


def pod_templates(obj: dict) -> list[tuple[str, dict, dict]]:
    """Every pod `obj` makes: (path, podSpec, podMetadata). Unknown kinds give []."""
    obj = _d(obj)
    key = (_group(obj), obj.get("kind"))
    spec = _d(obj.get("spec"))
    if key == ("", "Pod"):
        return [("spec", spec, _d(obj.get("metadata")))] if isinstance(obj.get("spec"), dict) else []
    if key == ("", "PodTemplate"):
        return _tmpl("template", obj.get("template"))
    if key in _SPEC_TEMPLATE_KINDS:
        return _tmpl("spec.template", spec.get("template"))
    if key == ("batch", "CronJob"):
        return _tmpl("spec.jobTemplate.spec.template", _d(_d(spec.get("jobTemplate")).get("spec")).get("template"))
    if key == ("ray.io", "RayCluster"):
        return _ray_cluster("spec", spec)
    if key == ("ray.io", "RayJob"):
        # The submitter pod (K8sJobMode) is a pod the operator makes too, when templated.
        return (_ray_cluster("spec.rayClusterSpec", spec.get("rayClusterSpec"))
                + _tmpl("spec.submitterPodTemplate", spec.get("submitterPodTemplate")))
    if key == ("ray.io", "RayService"):
        return _ray_cluster("spec.rayClusterConfig", spec.get("rayClusterConfig"))
    if key in {("trainer.kubeflow.org", "ClusterTrainingRuntime"), ("trainer.kubeflow.org", "TrainingRuntime")}:
        return _jobset("spec.template.spec", _d(spec.get("template")).get("spec"))
    if key == ("jobset.x-k8s.io", "JobSet"):
        return _jobset("spec", spec)
    if key == ("batch.volcano.sh", "Job"):
        out = []
        for i, task in enumerate(_l(spec.get("tasks"))):
            out += _tmpl(f"spec.tasks[{i}].template", _d(task).get("template"))
        return out
    if key == ("leaderworkerset.x-k8s.io", "LeaderWorkerSet"):
        lwt = _d(spec.get("leaderWorkerTemplate"))
        return (_tmpl("spec.leaderWorkerTemplate.leaderTemplate", lwt.get("leaderTemplate"))
                + _tmpl("spec.leaderWorkerTemplate.workerTemplate", lwt.get("workerTemplate")))
    return []  # NO_POD_TEMPLATE_KINDS, and unknown kinds: other code decides


def namespace_levels(objs: list[dict]) -> dict[str, str]:
    """Namespace name -> enforce level from its labels; no label means `privileged` (cluster default).

    The label value is returned as written; `check_objects` evaluates a value that is not a level
    as `restricted`, the way admission fails closed on an unparsable policy.
    """
    out: dict[str, str] = {}
    for o in objs:
        o = _d(o)
        if o.get("kind") != "Namespace" or _group(o) != "":
            continue
        meta = _d(o.get("metadata"))
        name = meta.get("name")
        if name:
            out[name] = _d(meta.get("labels")).get(ENFORCE_LABEL, "privileged")
    return out


def check_objects(objs: list[dict], levels: dict[str, str]) -> list[tuple[dict, str]]:
    """(object, message) for every violation by a pod an object makes in a namespace with a level.

    Messages read `<template path>: <level>: <violation> (<rule>); <what happens on the cluster>`.
    Objects outside `levels` (cluster-scoped, or namespaces we don't know) are skipped.
    """
    out: list[tuple[dict, str]] = []
    for o in objs:
        if not isinstance(o, dict):
            continue
        ns = _d(o.get("metadata")).get("namespace")
        if ns not in levels:
            continue
        templates = pod_templates(o)
        if not templates:
            continue
        level = levels[ns] if levels[ns] in LEVELS else "restricted"
        consequence = POD_CONSEQUENCE if (_group(o), o.get("kind")) == ("", "Pod") else CONTROLLER_CONSEQUENCE
        for path, spec, meta in templates:
            for msg in check_pod_spec(spec, level, meta):
                out.append((o, f"{path}: {msg}; {consequence}"))
    return out
