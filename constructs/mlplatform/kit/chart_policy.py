"""The checkov findings the platform accepts on what charts and upstream manifests render.

Argo CD renders a chart itself, so we cannot annotate what it makes (see kit/policy.py for our own
objects). Findings on chart renders are fixed through the chart's values in the component, or
excused by a row of `CHART_EXEMPTIONS`: the checks, the components whose renders it covers, the
objects it selects and why the finding is inherent. tests/test_policy_scan.py fails on a chart
finding no row excuses, and on a row that excuses no finding in any env (stale).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .meta import Obj
from .policy import CHECK_ID, PUBLIC_REGISTRIES, bom_source, images, pod_spec, registry

ANY_CHART = "*"  # in ChartExemption.components: the render of every component


@dataclass(frozen=True)
class ChartExemption:
    """Accepted findings on objects a chart (or upstream manifest) renders, which we cannot
    annotate: each of `checks` on the objects of `components` that `match` selects, because
    `reason`. Several checks share a row only where one fact explains them all (e.g. a chart
    that renders no securityContext for a pod and has no value for one)."""
    checks: tuple[str, ...]
    components: tuple[str, ...]
    objects: str    # which objects, in words (what `match` selects)
    reason: str     # what the software needs and why values cannot change it
    match: Callable[[Obj], bool]

    def __post_init__(self) -> None:
        if not self.checks or isinstance(self.checks, str):
            raise ValueError(f"{self.checks!r}: checks must be a non-empty tuple of check ids")
        for check in self.checks:
            if not CHECK_ID.match(check):
                raise ValueError(f"{check!r}: not a checkov Kubernetes check id")
        if not self.components or isinstance(self.components, str):
            raise ValueError(f"{self.checks}: components must be a non-empty tuple of component names")
        if "\n" in self.reason:
            raise ValueError(f"{self.checks}: a reason is one line")

    def covers(self, check: str, component: str, obj: Obj) -> bool:
        return (check in self.checks and (component in self.components or ANY_CHART in self.components)
                and self.match(obj))


def chart_exemptions_for(check: str, component: str, obj: Obj,
                         table: tuple[ChartExemption, ...] | None = None) -> list[ChartExemption]:
    """The chart exemptions that excuse `check` on `obj` rendered by `component` (one, or none;
    two is an ambiguity the test reports)."""
    return [e for e in (CHART_EXEMPTIONS if table is None else table) if e.covers(check, component, obj)]


def _objects(kinds: str | tuple[str, ...], name: str = ".*", namespace: str | None = None) -> Callable[[Obj], bool]:
    """Objects of `kinds` whose name fully matches the regular expression `name`."""
    kinds = (kinds,) if isinstance(kinds, str) else kinds
    pattern = re.compile(name)

    def match(obj: Obj) -> bool:
        md = obj.get("metadata") or {}
        return (obj.get("kind") in kinds and bool(pattern.fullmatch(str(md.get("name", ""))))
                and (namespace is None or md.get("namespace") == namespace))
    return match


def _workload(obj: Obj) -> bool:
    return pod_spec(obj) is not None


def _some_image_by_tag(obj: Obj) -> bool:
    return any("@sha256:" not in i for i in images(obj))


def _image_user_non_root(obj: Obj) -> bool:
    """Every container refuses root (runAsNonRoot, its own or the pod's) and no uid is set: the
    image's own user runs it."""
    spec = pod_spec(obj) or {}
    pod = spec.get("securityContext") or {}
    containers = [c for key in ("initContainers", "containers") for c in spec.get(key) or []]
    return bool(containers) and "runAsUser" not in pod and all(
        (c.get("securityContext") or {}).get("runAsNonRoot", pod.get("runAsNonRoot")) is True
        and "runAsUser" not in (c.get("securityContext") or {}) for c in containers)


def _public_images(obj: Obj) -> bool:
    """Every image from a public registry, or a registry mirror's copy of a BOM image from one."""
    found = images(obj)
    return bool(found) and all(registry(bom_source(i, chart_images=True) or i) in PUBLIC_REGISTRIES for i in found)


_WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")

_CONTROLLERS = ("aws-load-balancer-controller", "external-dns", "external-secrets", "gpu-operator", "karpenter",
                "kubeflow-trainer", "kuberay", "spark-operator", "volcano")
_GPU_OPERATOR_BARE = _objects(("Deployment", "Job"), "gpu-operator|gpu-operator-cleanup-gpucluster")

CHART_EXEMPTIONS: tuple[ChartExemption, ...] = (
    # --- images
    ChartExemption(
        ("CKV_K8S_43",), (ANY_CHART,), "every workload a chart renders with an image pinned by tag",
        "a chart's images are the defaults of the chart version pinned in charts.lock (archive sha256 "
        "verified) or rows of the versions table, always at a release tag; digests would be recorded "
        "next to those pins, which do not record them yet, never per rendered object",
        lambda o: _workload(o) and _some_image_by_tag(o)),
    ChartExemption(
        ("CKV_K8S_15",), (ANY_CHART,), "every workload a chart renders whose images all come from public registries",
        "public images at a pinned release tag: no pull credentials that a cached copy could bypass, and "
        "Always would not make a tag immutable but would add a registry round trip and rate limits to "
        "every container start",
        _public_images),
    # --- service account tokens: these pods call the Kubernetes API
    ChartExemption(
        ("CKV_K8S_38",), _CONTROLLERS, "the controller, operator, webhook and node-feature-discovery "
        "Deployments and DaemonSets of the operator charts",
        "these are Kubernetes controllers: they watch and write API objects (reconcile loops, leader "
        "election leases, webhook certificates and configurations, NodeFeature objects and node labels) "
        "with their ServiceAccount token, and cannot start without it",
        _objects(("Deployment", "DaemonSet"))),
    ChartExemption(
        ("CKV_K8S_38",), ("volcano", "gpu-operator"), "the hook Jobs volcano-admission-init, "
        "gpu-operator-cleanup-gpucluster and gpu-operator-node-feature-discovery-prune",
        "volcano-admission-init creates the admission webhook certificate Secret, and the gpu-operator "
        "cleanup and NFD prune Jobs delete cluster objects and node labels on uninstall: each does its "
        "work through the API with its ServiceAccount token",
        _objects("Job", "volcano-admission-init|gpu-operator-cleanup-gpucluster"
                        "|gpu-operator-node-feature-discovery-prune")),
    ChartExemption(
        ("CKV_K8S_38",), ("monitoring",), "Deployments kube-prometheus-stack-operator, "
        "kube-prometheus-stack-kube-state-metrics and grafana",
        "the Prometheus Operator reconciles Prometheus, Alertmanager and their monitors, kube-state-metrics "
        "lists and watches every object it exports, and the Grafana sidecars watch labelled ConfigMaps "
        "for dashboards and datasources: all through the API",
        _objects("Deployment", "kube-prometheus-stack-operator|kube-prometheus-stack-kube-state-metrics|grafana")),
    ChartExemption(
        ("CKV_K8S_38",), ("prometheus-adapter",), "Deployment prometheus-adapter",
        "the adapter serves the custom metrics API as an aggregated API server: it authenticates and "
        "authorizes every request through TokenReview and SubjectAccessReview and maps metrics to objects "
        "it looks up in the API",
        _objects("Deployment", "prometheus-adapter")),
    ChartExemption(
        ("CKV_K8S_38",), ("jupyterhub",), "Deployment hub",
        "KubeSpawner in the hub creates, watches and deletes every user's notebook pod, PVC and Service "
        "through the API with the hub ServiceAccount token",
        _objects("Deployment", "hub")),
    ChartExemption(
        ("CKV_K8S_38",), ("airflow",), "Deployments airflow-scheduler, airflow-triggerer, airflow-api-server "
        "and airflow-dag-processor",
        "with the KubernetesExecutor the scheduler launches and adopts task pods, the triggerer polls the "
        "pods of deferred KubernetesPodOperator tasks and the API server reads running task pods' logs; "
        "the dag-processor runs the top level code of DAG files, which may use the Kubernetes client, so "
        "it keeps the token until that is ruled out on a cluster",
        _objects("Deployment", "airflow-(scheduler|triggerer|api-server|dag-processor)")),
    ChartExemption(
        ("CKV_K8S_38",), ("airflow",), "Deployment airflow-statsd and Job airflow-run-airflow-migrations",
        "neither calls the API, so components/airflow.py turns the token off; the chart can only do that on "
        "their ServiceAccounts (automountServiceAccountToken false there), and checkov reads the pod spec",
        _objects(("Deployment", "Job"), "airflow-statsd|airflow-run-airflow-migrations")),
    # --- charts that render no securityContext where the software needs one unset
    ChartExemption(
        ("CKV_K8S_20", "CKV_K8S_22", "CKV_K8S_23", "CKV_K8S_28", "CKV_K8S_29", "CKV_K8S_30", "CKV_K8S_31",
         "CKV_K8S_37", "CKV_K8S_40"), ("gpu-operator",),
        "Deployment gpu-operator and Job gpu-operator-cleanup-gpucluster",
        "the gpu-operator chart renders no pod or container securityContext for its operator and cleanup "
        "pods and has no value for one, so they run as the image user (root); the namespace enforces the "
        "privileged level because the operator's DaemonSets need host access",
        _GPU_OPERATOR_BARE),
    ChartExemption(
        ("CKV_K8S_10", "CKV_K8S_11", "CKV_K8S_12", "CKV_K8S_13"), ("gpu-operator",),
        "Job gpu-operator-cleanup-gpucluster",
        "the chart renders the uninstall cleanup Job without resources and has no value to size it; it runs "
        "once when the release is deleted and only deletes the GPU cluster objects",
        _objects("Job", "gpu-operator-cleanup-gpucluster")),
    ChartExemption(
        ("CKV_K8S_29", "CKV_K8S_31"), ("gpu-operator",), "Job gpu-operator-node-feature-discovery-prune",
        "the node-feature-discovery subchart renders its post-delete prune Job with the master container's "
        "restricted securityContext but no pod securityContext, and has no value for one",
        _objects("Job", "gpu-operator-node-feature-discovery-prune")),
    ChartExemption(
        ("CKV_K8S_29",), ("kubeflow-trainer",), "Deployment kubeflow-trainer-controller-manager",
        "the Trainer chart renders no pod securityContext and has no value for one; its container "
        "securityContext is restricted (non-root, no escalation, no capabilities, RuntimeDefault seccomp) "
        "with a read-only root filesystem",
        _objects("Deployment", "kubeflow-trainer-controller-manager")),
    # --- read-only root filesystems
    ChartExemption(
        ("CKV_K8S_22",), ("airflow",), "the Airflow Deployments and the migration Job",
        "Airflow writes task and component logs, DAG bundle checkouts, the git-sync worktree and Python "
        "caches under AIRFLOW_HOME and the home directory of its image, and the chart mounts no writable "
        "volume for them",
        _objects(("Deployment", "Job"), "airflow-(api-server|dag-processor|scheduler|triggerer|run-airflow-migrations)")),
    ChartExemption(
        ("CKV_K8S_22",), ("jupyterhub",), "Deployments hub and proxy",
        "the JupyterHub chart supports no read-only root filesystem for the hub (only /srv/jupyterhub is "
        "writable, JupyterHub and its Python packages write runtime state elsewhere) or for the Node based "
        "proxy, and neither is documented to run that way",
        _objects("Deployment", "hub|proxy")),
    ChartExemption(
        ("CKV_K8S_22",), ("monitoring",), "Deployment grafana",
        "Grafana keeps plugins, sessions and its database under /var/lib/grafana (an emptyDir the chart "
        "mounts), but the chart mounts nothing writable for /tmp or the sidecars' working directories and "
        "does not document Grafana or its sidecars on a read-only root filesystem",
        _objects("Deployment", "grafana")),
    ChartExemption(
        ("CKV_K8S_22",), ("volcano",), "the Volcano Deployments and the admission-init Job",
        "the admission-init Job generates the webhook certificate with openssl in its working directory, "
        "and the Volcano chart mounts no writable scratch volume for its scheduler, controllers and "
        "admission server nor documents them on a read-only root filesystem",
        _objects(("Deployment", "Job"), "volcano-(admission|controllers|scheduler|admission-init)")),
    # --- uids
    ChartExemption(
        ("CKV_K8S_40",), ("gpu-operator", "kubeflow-trainer"), "workloads that run as their image's own "
        "non-root user, refusing root (node-feature-discovery, JobSet and Trainer controllers)",
        "the chart sets no uid, so the image's own non-root user runs the pod and the kubelet refuses "
        "root (runAsNonRoot); a uid picked here could differ from the owner of the files the image ships",
        lambda o: _workload(o) and _image_user_non_root(o)),
    ChartExemption(
        ("CKV_K8S_40",), ("spark-operator",), "Deployments spark-operator-controller and spark-operator-webhook",
        "uid 185 is the spark user of the Spark images: it owns /opt/spark, where the operator runs "
        "spark-submit, and the chart's securityContext pins it",
        _objects("Deployment", "spark-operator-(controller|webhook)")),
    ChartExemption(
        ("CKV_K8S_40",), ("volcano",), "the Volcano Deployments and the admission-init Job",
        "Volcano's images and chart run uid 1000 (our restricted default_csc keeps it); the admission-init "
        "script and the binaries are laid out for that user, and a high uid is not documented upstream",
        _objects(("Deployment", "Job"), "volcano-(admission|controllers|scheduler|admission-init)")),
    ChartExemption(
        ("CKV_K8S_40",), ("monitoring",), "Deployment grafana",
        "uid 472 is the grafana user of the Grafana image, which owns /usr/share/grafana and its plugin "
        "directories; the chart's securityContext pins it and fsGroup 472 owns the storage volume",
        _objects("Deployment", "grafana")),
    ChartExemption(
        ("CKV_K8S_40",), ("jupyterhub",), "Deployment hub",
        "uid 1000 is the jovyan user of the k8s-hub image and owns the hub database PVC (/srv/jupyterhub) "
        "through fsGroup 1000; changing it would orphan the existing database files",
        _objects("Deployment", "hub")),
    # --- host access
    ChartExemption(
        ("CKV_K8S_17", "CKV_K8S_19"), ("monitoring",), "DaemonSet kube-prometheus-stack-prometheus-node-exporter",
        "node-exporter reports the node's own network interfaces and processes, which it sees only in the "
        "host network and PID namespaces; it runs as nobody without capabilities and mounts /proc and /sys "
        "read-only (the monitoring namespace enforces the privileged level for it)",
        _objects("DaemonSet", "kube-prometheus-stack-prometheus-node-exporter")),
    # --- probes
    ChartExemption(
        ("CKV_K8S_8", "CKV_K8S_9"), ("airflow",), "Deployments airflow-scheduler, airflow-triggerer and "
        "airflow-dag-processor",
        "their main containers have the chart's liveness probe (Airflow job heartbeats); the git-sync and "
        "log-groomer sidecars serve nothing to probe, and the chart has no probe values for them or a "
        "readiness probe for components that take no traffic",
        _objects("Deployment", "airflow-(scheduler|triggerer|dag-processor)")),
    ChartExemption(
        ("CKV_K8S_8", "CKV_K8S_9"), ("monitoring",), "Deployment grafana",
        "the grafana container has the chart's liveness and readiness probes; its dashboard and datasource "
        "sidecars only watch ConfigMaps, serve nothing, and the chart has no probe values for them",
        _objects("Deployment", "grafana")),
    ChartExemption(
        ("CKV_K8S_8", "CKV_K8S_9"), ("volcano",), "Deployments volcano-scheduler, volcano-controllers and "
        "volcano-admission",
        "the Volcano chart renders no probes and has no values for them; the Deployments restart a failed "
        "process, and the admission webhook's failure policy covers a server that is not ready",
        _objects("Deployment", "volcano-(scheduler|controllers|admission)")),
    # --- secrets as environment variables
    ChartExemption(
        ("CKV_K8S_35",), ("airflow", "jupyterhub", "monitoring"),
        "Airflow, JupyterHub hub and proxy, and Grafana workloads",
        "Airflow reads its fernet key, database URL and API secrets, configurable-http-proxy its auth token "
        "and Grafana its admin password only from environment variables the charts set from Secrets by "
        "reference; the values come from ExternalSecrets, never from the chart",
        _objects(("Deployment", "Job"), "airflow-.*|hub|proxy|grafana")),
    # --- RBAC
    ChartExemption(
        ("CKV_K8S_155",), ("external-secrets", "kubeflow-trainer", "spark-operator", "volcano"),
        "the ClusterRoles of the controllers that manage their own admission webhooks",
        "each controller rotates its webhook serving certificate and writes the CA bundle into its own "
        "Validating and Mutating webhook configurations, which needs update on those cluster scoped kinds",
        _objects("ClusterRole", "external-secrets-cert-controller|jobset-controller"
                                "|kubeflow-trainer-controller-manager|spark-operator-webhook|volcano-admission")),
    ChartExemption(
        ("CKV_K8S_49",), ("monitoring",), "ClusterRole kube-prometheus-stack-operator",
        "the Prometheus Operator owns the monitoring.coreos.com kinds it reconciles and needs every verb on "
        "them (and their status and finalizers); the wildcard is on verbs of that one API group",
        _objects("ClusterRole", "kube-prometheus-stack-operator")),
    ChartExemption(
        ("CKV_K8S_49", "CKV2_K8S_1", "CKV2_K8S_2", "CKV2_K8S_3", "CKV2_K8S_4", "CKV2_K8S_5"), ("prometheus-adapter",),
        "ClusterRole prometheus-adapter-server-resources and its ClusterRoleBinding",
        "the wildcard is on resources and verbs of custom.metrics.k8s.io, the metrics API the adapter itself "
        "serves; it grants no secrets, pods, nodes, services or impersonation, which the graph checks "
        "assume of any wildcard",
        _objects(("ClusterRole", "ClusterRoleBinding"), "prometheus-adapter-(server-resources|hpa-controller)")),
    ChartExemption(
        ("CKV2_K8S_5",), ("kubeflow-trainer", "monitoring", "volcano"),
        "RoleBindings jobset-manager-secrets-rolebinding, grafana and volcano-admission-init-role",
        "namespaced Roles on Secrets of the component's own namespace: JobSet rotates its webhook "
        "certificate Secret, volcano-admission-init creates the admission one, and the Grafana sidecar "
        "reads datasource Secrets of the monitoring namespace",
        _objects("RoleBinding", "jobset-manager-secrets-rolebinding|grafana|volcano-admission-init-role")),
)
