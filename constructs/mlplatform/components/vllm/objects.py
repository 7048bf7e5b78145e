"""Component `vllm`: one OpenAI-compatible vLLM server per model, scaled on its own queue.

Per entry of `serving.models`, in the team's namespace (its quota, GPU budget and default-deny
network policy apply):

- **Deployment `<model>`** (typed core object; no `spec.replicas`: the HPA owns the count, so Argo
  CD never resets it): the pinned `vllm/vllm-openai` image started as `vllm serve <repo>` with
  `--served-model-name <model>` (clients send `"model": "<model>"`; vLLM's `model_name` metric
  label is the same name), revision, context length, GPU memory share, tensor parallelism and
  LoRA adapters from config; `nvidia.com/gpu` = tensor parallel size, CPU/memory requests and
  limits; the GPU taint tolerated, the `gpu` NodePool selected and only instance types whose
  GPUs have `min_gpu_memory_gib` (Karpenter's `instance-gpu-memory` label); a memory-backed
  `/dev/shm`; the model cache on the team's EFS share (downloaded once per env) or an emptyDir
  per replica; the Hugging Face token (a mounted file) and the API key from ExternalSecrets; non-root (uid
  1000/gid 100: the EFS access point's owner), read-only root filesystem, caches under `/tmp`.
  Probes on vLLM's real port and health path (8000, `/health`): a startup probe that allows
  `startup_timeout_seconds` for download + load, readiness, and a liveness probe that only starts
  once the server is up, so a loading server is never killed. Draining: the pod leaves the
  endpoints and the ALB first (preStop sleep), then in-flight generations get the rest of
  `termination_grace_seconds`. Service links off (a Service named `vllm` would otherwise inject
  `VLLM_PORT=tcp://...`, which vLLM reads as its own setting).
- **Service `<model>`** (port `http` 8000) and a **ServiceMonitor** for `/metrics`.
- **PodDisruptionBudget** `maxUnavailable: 1` with `unhealthyPodEvictionPolicy: AlwaysAllow`:
  never blocks a node drain (the book's `minAvailable: <replicas>` does), even with one replica
  or a replica stuck loading.
- **HPA `<model>`** on `metrics.queue_metric(<model>)`, a Pods metric: this model's
  waiting requests per pod, served by prometheus-adapter from the custom metric this unit
  contributes for the same model list (`monitoring.custom_metrics`). Scale-up fast (bounded by
  `scale_up_pods_per_minute`: each replica needs a GPU node), scale-down stabilized for at least
  the model's startup time.
- **Ingress** `llm-<model>` (a route of `kit/routes.py`): `https://llm-<model>.<domain>/v1/...`
  on the shared ALB; vLLM itself refuses `/v1` requests without `Authorization: Bearer <key>`
  (Secrets Manager `serving/api-key`). Only `/v1` is routed: `/metrics` stays in-cluster.

Why per-model hosts instead of the production-stack router: the router image is published only
as `latest` (nothing to pin), and an ALB cannot route on the JSON body's `model` field; one host
per model needs nothing in between and keeps each model's traffic, TLS and health check apart.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ...kit import k8s, monitoring, routes, versions
from ...kit.ingress import ingress
from ...kit.meta import LABEL_TEAM, Obj, metadata
from ...kit.quantity import parse
from .. import storage
from .access import HF_TOKEN, VLLM_API_KEY
from ..node_pools import GPU_POOL, POOL_LABEL, gpu_pod_parts
from .config import ServedModel
from .metrics import queue_metric
from ..priority_classes import PRIORITY

if TYPE_CHECKING:
    from ...config.models import Env

NAME = "vllm"
PORT = 8000
PORT_NAME = "http"
HEALTH = "/health"
METRICS_PATH = "/metrics"
API_PATH = "/v1"
APP = "vllm"
UID, GID = 1000, 100  # the EFS access point's owner (terraform/efs.tf)
CACHE_MOUNT = "/models"
HF_SUBDIR = "huggingface"
HF_TOKEN_DIR = "/var/run/secrets/huggingface"  # on the EFS share: one Hugging Face cache per team namespace
TMP_SIZE = "8Gi"  # torch.compile / Triton / FlashInfer caches under /tmp
PRESTOP_SECONDS = 15  # endpoints and ALB target deregistration catch up before SIGTERM
SCRAPE_INTERVAL = "15s"
GPU_MEMORY_LABEL = "karpenter.k8s.aws/instance-gpu-memory"  # MiB per GPU, set by Karpenter


def selector(m: ServedModel) -> dict[str, str]:
    """The pods of one model: two labels that never change when code moves."""
    return {"app.kubernetes.io/name": APP, "app.kubernetes.io/instance": m.name}


def namespace(env: Env, m: ServedModel) -> str:
    team = next(t for t in env.teams if t.name == m.team)
    return env.team_namespace(team)


def models(env: Env) -> list[ServedModel]:
    return list(env.serving.models) if env.serving.enabled else []


def model_routes(env: Env) -> list[routes.Route]:
    """One public OpenAI-compatible endpoint per model: the unit's `routes` hook (collected by `kit/routes.py`)."""
    prefix = env.serving.host_prefix
    return [routes.Route(
        f"{prefix}-{m.name}", "platform", API_PATH, namespace(env, m), m.name, PORT, HEALTH, "none",
        label=f"{prefix}-{m.name}", component=NAME,
        description=f"OpenAI-compatible API of model {m.name} ({m.model}); API key required",
        pods=tuple(sorted(selector(m).items())), target_ports=(PORT,))
        for m in sorted(models(env), key=lambda m: m.name)]


def _quantity(x: float) -> str:
    """4 -> "4", 0.5 -> "500m" (Kubernetes quantity of an HPA target)."""
    if float(x).is_integer():
        return str(int(x))
    return f"{round(x * 1000)}m"


def server_args(env: Env, m: ServedModel) -> list[str]:
    """`vllm serve` arguments: everything that shapes the served model comes from config."""
    args = [m.model, "--served-model-name", m.name, "--host", "0.0.0.0", "--port", str(PORT),
            "--max-model-len", str(m.max_model_len),
            "--tensor-parallel-size", str(m.tensor_parallel_size), "--dtype", m.dtype]
    if m.gpu_memory_utilization is not None:  # unset: vLLM sizes the KV cache from measured memory
        args += ["--gpu-memory-utilization", str(m.gpu_memory_utilization)]
    if m.revision:
        args.append(f"--revision={m.revision}")  # one token: a commit id reads as one reviewable line
    if m.lora_adapters:
        args += ["--enable-lora", "--max-loras", str(len(m.lora_adapters)), "--max-lora-rank", str(m.max_lora_rank),
                 "--lora-modules", *[f"{a.name}={a.source}" for a in m.lora_adapters]]
    return args


def served_name(container: dict) -> str | None:
    """The `--served-model-name` of a vLLM container (what its metrics' `model_name` label says)."""
    args = list(container.get("args") or [])
    for i, a in enumerate(args[:-1]):
        if a == "--served-model-name":
            return args[i + 1]
    return None


def _env_vars(env: Env, m: ServedModel) -> list[dict]:
    def secret(name: str, secret_name: str, key: str) -> dict:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}

    return [
        secret("VLLM_API_KEY", VLLM_API_KEY, "api-key"),
        # the Hugging Face token as a file (huggingface_hub reads HF_TOKEN_PATH), not an env var
        {"name": "HF_TOKEN_PATH", "value": f"{HF_TOKEN_DIR}/token"},
        {"name": "HF_HOME", "value": f"{CACHE_MOUNT}/{HF_SUBDIR}"},
        {"name": "HOME", "value": "/tmp"},
        # uid 1000 has no passwd entry in the image: getpass.getuser() (torch inductor's cache
        # path) would raise without USER set.
        {"name": "USER", "value": "vllm"},
        {"name": "TORCHINDUCTOR_CACHE_DIR", "value": "/tmp/.cache/torchinductor"},
        {"name": "XDG_CACHE_HOME", "value": "/tmp/.cache"},
        {"name": "VLLM_CACHE_ROOT", "value": "/tmp/.cache/vllm"},
        {"name": "TRITON_CACHE_DIR", "value": "/tmp/.cache/triton"},
        {"name": "VLLM_NO_USAGE_STATS", "value": "1"},
        {"name": "DO_NOT_TRACK", "value": "1"},
    ]


def _volumes(env: Env, m: ServedModel, ns: str) -> tuple[list[dict], list[dict]]:
    s = env.serving
    if s.model_cache == "efs":
        cache = {"name": "model-cache", "persistentVolumeClaim": {"claimName": storage.claim_name(ns)}}
        cache_mount = {"name": "model-cache", "mountPath": CACHE_MOUNT, "subPath": "vllm"}
    else:
        cache = {"name": "model-cache", "emptyDir": {"sizeLimit": s.pod_cache_size}}
        cache_mount = {"name": "model-cache", "mountPath": CACHE_MOUNT}
    volumes = [
        cache,
        # NCCL between tensor-parallel workers; memory-backed, so it counts against the memory limit.
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": m.shared_memory}},
        {"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE}},
        {"name": "hf-token", "secret": {"secretName": HF_TOKEN, "defaultMode": 0o440,
                                        "items": [{"key": "token", "path": "token"}]}},
    ]
    mounts = [cache_mount, {"name": "dshm", "mountPath": "/dev/shm"}, {"name": "tmp", "mountPath": "/tmp"},
              {"name": "hf-token", "mountPath": HF_TOKEN_DIR, "readOnly": True}]
    return volumes, mounts


def _probe(period: int, failures: int, timeout: int) -> dict:
    return {"httpGet": {"path": HEALTH, "port": PORT_NAME}, "periodSeconds": period,
            "failureThreshold": failures, "timeoutSeconds": timeout}


def _storage_request(env: Env) -> str:
    """Node disk the pod's emptyDirs may fill (scheduling: Karpenter sizes nothing else)."""
    total = parse(TMP_SIZE) + (parse(env.serving.pod_cache_size) if env.serving.model_cache == "pod" else 0)
    return f"{math.ceil(total / 2 ** 30)}Gi"


def container(env: Env, m: ServedModel, mounts: list[dict]) -> dict:
    r = m.resources
    gpus, _, _ = gpu_pod_parts(env, m.gpu_pool, m.mig_profile, m.gpus)
    return {
        "name": "vllm",
        "image": versions.IMAGES[env.serving.image].ref,
        "imagePullPolicy": "IfNotPresent",
        "command": ["vllm", "serve"],
        "args": server_args(env, m),
        "env": _env_vars(env, m),
        "ports": [{"name": PORT_NAME, "containerPort": PORT, "protocol": "TCP"}],
        "resources": {
            "requests": {"cpu": r.cpu_request, "memory": r.memory_request, **gpus,
                         "ephemeral-storage": _storage_request(env)},
            "limits": {"cpu": r.cpu_limit, "memory": r.memory_limit, **gpus},
        },
        # Download + load: nothing else runs until this succeeds, so liveness can't kill a loading server.
        "startupProbe": _probe(10, max(1, math.ceil(m.startup_timeout_seconds / 10)), 5),
        "readinessProbe": _probe(5, 3, 3),
        # A saturated engine answers /health slowly: a minute of failures before a restart.
        "livenessProbe": _probe(15, 4, 10),
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(PRESTOP_SECONDS)]}}},
        "volumeMounts": mounts,
        "securityContext": k8s.restricted_container(readOnlyRootFilesystem=True, runAsUser=UID, runAsGroup=GID),
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }


def pod_spec(env: Env, m: ServedModel) -> dict:
    ns = namespace(env, m)
    volumes, mounts = _volumes(env, m, ns)
    _, tolerations, node_selector = gpu_pod_parts(env, m.gpu_pool, m.mig_profile, m.gpus)
    spec: dict = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": UID, "runAsGroup": GID, "fsGroup": GID,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "terminationGracePeriodSeconds": m.termination_grace_seconds,
        "priorityClassName": PRIORITY.serving,
        "nodeSelector": node_selector,
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": GPU_MEMORY_LABEL, "operator": "Gt",
                                   "values": [str(m.min_gpu_memory_gib * 1024 - 1)]}]}]}}},
        "tolerations": tolerations,
        "containers": [container(env, m, mounts)],
        "volumes": volumes,
    }
    if env.serving.topology_spread:
        sel = {"matchLabels": selector(m)}
        spec["topologySpreadConstraints"] = [
            # Zones: best effort (GPU capacity is not in every zone at every moment).
            {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
             "labelSelector": sel, "matchLabelKeys": ["pod-template-hash"]},
            # Nodes: never two replicas on one node (one node failure takes one replica).
            {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
             "labelSelector": sel, "matchLabelKeys": ["pod-template-hash"]},
        ]
    return spec


def _labels(m: ServedModel) -> dict[str, str]:
    return {**selector(m), LABEL_TEAM: m.team}


def deployment(env: Env, m: ServedModel) -> Obj:
    ns = namespace(env, m)
    strategy = ({"maxSurge": 1, "maxUnavailable": 0} if m.rollout == "surge"
                else {"maxSurge": 0, "maxUnavailable": 1})
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": metadata(m.name, component=NAME, env=env.name, namespace=ns, extra_labels=_labels(m)),
        "spec": {
            # no `replicas`: the HPA owns it (Argo CD must not reset what the HPA decided)
            "selector": {"matchLabels": selector(m)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": strategy},
            # a new replica may wait for a GPU node (minutes) and then download + load
            "progressDeadlineSeconds": m.startup_timeout_seconds + 900,
            "revisionHistoryLimit": 5,
            "template": {
                "metadata": {"labels": {**selector(m), LABEL_TEAM: m.team}},
                "spec": pod_spec(env, m),
            },
        },
    }


def service(env: Env, m: ServedModel) -> Obj:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": metadata(m.name, component=NAME, env=env.name, namespace=namespace(env, m),
                             extra_labels=_labels(m)),
        "spec": {"type": "ClusterIP", "selector": selector(m),
                 "ports": [{"name": PORT_NAME, "port": PORT, "targetPort": PORT_NAME, "protocol": "TCP"}]},
    }


def service_monitor(env: Env, m: ServedModel) -> Obj:
    return {
        "apiVersion": versions.crd("ServiceMonitor").api_version, "kind": "ServiceMonitor",
        "metadata": metadata(m.name, component=NAME, env=env.name, namespace=namespace(env, m),
                             extra_labels=monitoring.monitor_labels(_labels(m))),
        "spec": {
            "selector": {"matchLabels": selector(m)},
            "namespaceSelector": {"matchNames": [namespace(env, m)]},
            "endpoints": [{"port": PORT_NAME, "path": METRICS_PATH, "interval": SCRAPE_INTERVAL}],
        },
    }


def pdb(env: Env, m: ServedModel) -> Obj:
    return {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": metadata(m.name, component=NAME, env=env.name, namespace=namespace(env, m),
                             extra_labels=_labels(m)),
        "spec": {"maxUnavailable": 1, "unhealthyPodEvictionPolicy": "AlwaysAllow",
                 "selector": {"matchLabels": selector(m)}},
    }


def scale_down_window(m: ServedModel) -> int:
    a = m.autoscaling
    return a.scale_down_stabilization_seconds if a.scale_down_stabilization_seconds is not None \
        else m.startup_timeout_seconds


def hpa(env: Env, m: ServedModel) -> Obj:
    a = m.autoscaling
    return {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(m.name, component=NAME, env=env.name, namespace=namespace(env, m),
                             extra_labels=_labels(m)),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": m.name},
            "minReplicas": a.min_replicas,
            "maxReplicas": a.max_replicas,
            "metrics": [{"type": "Pods", "pods": {
                "metric": {"name": queue_metric(m.name)},
                "target": {"type": "AverageValue", "averageValue": _quantity(a.target_waiting_per_replica)}}}],
            "behavior": {
                "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                            "policies": [{"type": "Pods", "value": a.scale_up_pods_per_minute, "periodSeconds": 60}]},
                "scaleDown": {"stabilizationWindowSeconds": scale_down_window(m), "selectPolicy": "Min",
                              "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}]},
            },
        },
    }


def build(env: Env) -> list[Obj]:
    objs: list[Obj] = []
    by_name = {r.name: r for r in model_routes(env)}
    for m in sorted(models(env), key=lambda m: m.name):
        objs += [deployment(env, m), service(env, m), service_monitor(env, m), pdb(env, m), hpa(env, m),
                 ingress(env, by_name[f"{env.serving.host_prefix}-{m.name}"], component=NAME)]
    return objs
