"""Cross-object references, checked over everything Argo CD applies to a cluster.

The input is the union of what lands on a cluster: our own objects, what pinned Helm charts
render (operators, webhooks, RBAC, chart-made Secrets) and upstream manifests, as plain dicts in
Kubernetes API shape. `check` reports each reference that the cluster would find broken, with a
message that names the reference (as a field path) and says what happens on the cluster:

    spec.template.spec.containers[app].env[DB_PASSWORD]: Secret "db" has no key "password"
    (keys: user, pass): the pod fails to start (CreateContainerConfigError)

What exists on the cluster without being in the input (namespaces made by the installer,
Secrets made at runtime by a controller or hook, ...) is passed as `Externals`. Built-ins are
known here: the default/kube-* namespaces, the `default` ServiceAccount and the
`kube-root-ca.crt` ConfigMap of every namespace, the cluster-admin/admin/edit/view and
`system:*` ClusterRoles. Objects some operators create from a custom resource are modelled too,
so references to them are not reported as broken: Secrets made by ExternalSecret,
ClusterExternalSecret, SealedSecret and cert-manager Certificate (and Ingress-shim TLS); the
Services KubeRay and the Keycloak operator create; the pods of prometheus-operator's Prometheus
and Alertmanager.

Standard library only, on purpose: this package must not depend on the rest of mlplatform.
`model` holds the vocabulary (externals, built-ins, key sets, label selectors), `pods` where pods
come from, `index` what exists, `checks` the checks.
"""
from __future__ import annotations

from .checks import check
from .model import Externals, selector_matches
from .pods import operator_pods, pod_templates

__all__ = ["Externals", "check", "operator_pods", "pod_templates", "selector_matches"]
