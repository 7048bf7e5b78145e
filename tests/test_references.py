"""Cross-object references over the union of what Argo CD applies: a small consistent world
passes, and each broken reference planted in it is reported on the right object, naming the
reference and what the cluster does about it."""
import copy
import importlib.util
import sys
from pathlib import Path

import pytest

# Loaded by path: the package is stdlib-only and must not depend on mlplatform (nor its __init__).
_DIR = Path(__file__).resolve().parents[1] / "constructs/mlplatform/validate/references"
_spec = importlib.util.spec_from_file_location("mlplatform_validate_references", _DIR / "__init__.py",
                                               submodule_search_locations=[str(_DIR)])
references = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = references
_spec.loader.exec_module(references)
check, Externals = references.check, references.Externals

NS = "ml"
EXT = Externals(secrets=frozenset({(NS, "regcred")}))


def meta(name, ns=NS, **labels):
    m = {"name": name}
    if ns:
        m["namespace"] = ns
    if labels:
        m["labels"] = labels
    return m


def world():
    app_pod = {
        "metadata": {"labels": {"app": "app", "tier": "web"}},
        "spec": {
            "serviceAccountName": "app",
            "imagePullSecrets": [{"name": "regcred"}],
            "containers": [{
                "name": "app",
                "image": "app:1",
                "ports": [{"name": "http", "containerPort": 8080},
                          {"name": "metrics", "containerPort": 9090},
                          {"containerPort": 8443}],
                "env": [
                    {"name": "DB_USER", "valueFrom": {"secretKeyRef": {"name": "db", "key": "user"}}},
                    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pass"}}},
                    {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {"name": "api-secret", "key": "token"}}},
                    {"name": "DB_URL", "valueFrom": {"secretKeyRef": {"name": "db-url", "key": "url"}}},
                    {"name": "SETTINGS", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "settings.yaml"}}},
                ],
                "envFrom": [{"configMapRef": {"name": "app-config"}}, {"secretRef": {"name": "db"}}],
            }],
            "volumes": [
                {"name": "creds", "secret": {"secretName": "db", "items": [{"key": "user", "path": "u"}]}},
                {"name": "config", "configMap": {"name": "app-config",
                                                 "items": [{"key": "settings.yaml", "path": "s.yaml"}]}},
                {"name": "bundle", "projected": {"sources": [
                    {"secret": {"name": "api-secret"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                ]}},
                {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
            ],
        },
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "monitoring"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("app")},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta("db"),
         "data": {"user": "dQ=="}, "stringData": {"pass": "p"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta("app-tls"), "type": "kubernetes.io/tls",
         "data": {"tls.crt": "", "tls.key": ""}},
        {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": meta("api-keys"),
         "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "aws"},
                  "target": {"name": "api-secret"},
                  "data": [{"secretKey": "token", "remoteRef": {"key": "ml/api", "property": "token"}}]}},
        {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": meta("db-url"),
         "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "aws"},
                  "target": {"template": {"engineVersion": "v2",
                                          "data": {"url": "postgres://app:{{ .password }}@db/app"}}},
                  "data": [{"secretKey": "password", "remoteRef": {"key": "ml/db", "property": "password"}}]}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("app-config"),
         "data": {"settings.yaml": "a: 1"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("app", app="app"),
         "spec": {"selector": {"matchLabels": {"app": "app"}}, "template": app_pod}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta("app", app="app", tier="web"),
         "spec": {"selector": {"app": "app"},
                  "ports": [{"name": "http", "port": 80, "targetPort": "http"},
                            {"name": "metrics", "port": 9090, "targetPort": "metrics"}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": meta("webhook"),
         "spec": {"selector": {"app": "app"}, "ports": [{"port": 443, "targetPort": 8443}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta("app"),
         "spec": {"ingressClassName": "nginx",
                  "tls": [{"hosts": ["app.example.com"], "secretName": "app-tls"}],
                  "rules": [{"host": "app.example.com", "http": {"paths": [
                      {"path": "/", "pathType": "Prefix",
                       "backend": {"service": {"name": "app", "port": {"number": 80}}}},
                      {"path": "/metrics", "pathType": "Prefix",
                       "backend": {"service": {"name": "app", "port": {"name": "metrics"}}}}]}}]}},
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
         "metadata": {"name": "app-policy"},
         "webhooks": [{"name": "validate.app.example.com", "admissionReviewVersions": ["v1"],
                       "sideEffects": "None",
                       "clientConfig": {"service": {"namespace": NS, "name": "webhook", "path": "/v"}}}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta("reader"),
         "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta("app-reader"),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
         "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": NS}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "node-reader"},
         "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "app-node-reader"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "node-reader"},
         "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": NS},
                      {"kind": "Group", "name": "ml-team"}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "app-view"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
         "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": NS}]},
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast"},
         "provisioner": "ebs.csi.aws.com"},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta("data"),
         "spec": {"storageClassName": "fast", "accessModes": ["ReadWriteOnce"],
                  "resources": {"requests": {"storage": "1Gi"}}}},
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": meta("app", "monitoring"),
         "spec": {"namespaceSelector": {"matchNames": [NS]},
                  "selector": {"matchLabels": {"app": "app"},
                               "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]},
                                                    {"key": "canary", "operator": "DoesNotExist"}]},
                  "endpoints": [{"port": "metrics", "interval": "30s"}]}},
    ]


def get(objs, kind, name):
    (hit,) = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    return hit


def container(objs):
    return get(objs, "Deployment", "app")["spec"]["template"]["spec"]["containers"][0]


def env(objs, name):
    (hit,) = [e for e in container(objs)["env"] if e["name"] == name]
    return hit["valueFrom"]


def findings(objs, external=EXT):
    return [(o["kind"], o["metadata"]["name"], m) for o, m in check(objs, external=external)]


def test_consistent_world_has_no_findings():
    assert findings(world()) == []


# --- each check catches its planted break ---------------------------------------------------


def _svc_selects_nothing(w):
    get(w, "Service", "app")["spec"]["selector"] = {"app": "ap"}


def _svc_target_port_name(w):
    get(w, "Service", "app")["spec"]["ports"][0]["targetPort"] = "grpc"


def _es_template_drops_provider_key(w):
    env(w, "DB_URL")["secretKeyRef"]["key"] = "password"  # in spec.data, but the template replaces it


def _es_data_key_missing(w):
    env(w, "API_TOKEN")["secretKeyRef"]["key"] = "secret"


def _secret_key_missing(w):
    env(w, "DB_PASSWORD")["secretKeyRef"]["key"] = "password"


def _secret_missing_for_volume(w):
    w.remove(get(w, "Secret", "db"))


def _sa_missing(w):
    w.remove(get(w, "ServiceAccount", "app"))


def _cm_key_missing(w):
    env(w, "SETTINGS")["configMapKeyRef"]["key"] = "other.yaml"


def _cm_missing_envfrom(w):
    container(w)["envFrom"][0]["configMapRef"]["name"] = "app-cfg"


def _root_ca_key_missing(w):
    vol = get(w, "Deployment", "app")["spec"]["template"]["spec"]["volumes"][2]
    vol["projected"]["sources"][1]["configMap"]["items"][0]["key"] = "ca.pem"


def _pvc_missing(w):
    w.remove(get(w, "PersistentVolumeClaim", "data"))


def _image_pull_secret_missing(w):
    get(w, "Deployment", "app")["spec"]["template"]["spec"]["imagePullSecrets"] = [{"name": "ghcr"}]


def _webhook_service_missing(w):
    w.remove(get(w, "Service", "webhook"))


def _webhook_port_missing(w):
    get(w, "ValidatingWebhookConfiguration", "app-policy")["webhooks"][0]["clientConfig"]["service"]["port"] = 9443


def _ingress_port_missing(w):
    paths = get(w, "Ingress", "app")["spec"]["rules"][0]["http"]["paths"]
    paths[0]["backend"]["service"]["port"]["number"] = 8080


def _ingress_port_name_missing(w):
    paths = get(w, "Ingress", "app")["spec"]["rules"][0]["http"]["paths"]
    paths[1]["backend"]["service"]["port"]["name"] = "web"


def _ingress_tls_missing(w):
    w.remove(get(w, "Secret", "app-tls"))


def _role_ref_missing(w):
    get(w, "RoleBinding", "app-reader")["roleRef"]["name"] = "writer"


def _cluster_role_ref_missing(w):
    w.remove(get(w, "ClusterRole", "node-reader"))


def _binding_subject_missing(w):
    get(w, "RoleBinding", "app-reader")["subjects"][0]["name"] = "ghost"


def _storage_class_missing(w):
    get(w, "PersistentVolumeClaim", "data")["spec"]["storageClassName"] = "slow"


def _sm_port_missing(w):
    get(w, "ServiceMonitor", "app")["spec"]["endpoints"][0]["port"] = "web"


def _sm_selects_nothing(w):
    get(w, "ServiceMonitor", "app")["spec"]["namespaceSelector"] = {}  # now: its own namespace only


def _namespace_missing(w):
    w.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("orphan", "ghost"), "data": {}})


CASES = {
    "service-selects-nothing": (_svc_selects_nothing, "Service", "app",
                                "spec.selector {app=ap}: selects no pods: the Service has no endpoints"),
    "service-target-port-name": (_svc_target_port_name, "Service", "app",
                                 'spec.ports[http].targetPort: no selected pod has a container port named "grpc"'),
    "externalsecret-template-replaces-keys": (
        _es_template_drops_provider_key, "Deployment", "app",
        'spec.template.spec.containers[app].env[DB_URL]: Secret "db-url" has no key "password" (keys: url): '
        "the pod fails to start (CreateContainerConfigError)"),
    "externalsecret-key-missing": (_es_data_key_missing, "Deployment", "app",
                                   'env[API_TOKEN]: Secret "api-secret" has no key "secret" (keys: token)'),
    "secret-key-missing": (_secret_key_missing, "Deployment", "app",
                           'spec.template.spec.containers[app].env[DB_PASSWORD]: Secret "db" has no key '
                           '"password" (keys: user, pass): the pod fails to start (CreateContainerConfigError)'),
    "secret-missing-volume": (_secret_missing_for_volume, "Deployment", "app",
                              'spec.template.spec.volumes[creds].secret: Secret "db" not found in namespace "ml": '
                              "the pod is stuck in ContainerCreating (FailedMount)"),
    "service-account-missing": (_sa_missing, "Deployment", "app",
                                'spec.template.spec.serviceAccountName: ServiceAccount "app" not found'),
    "configmap-key-missing": (_cm_key_missing, "Deployment", "app",
                              'env[SETTINGS]: ConfigMap "app-config" has no key "other.yaml" (keys: settings.yaml)'),
    "configmap-missing-envfrom": (_cm_missing_envfrom, "Deployment", "app",
                                  'containers[app].envFrom[0].configMapRef: ConfigMap "app-cfg" not found'),
    "root-ca-key-missing": (_root_ca_key_missing, "Deployment", "app",
                            'volumes[bundle].projected.sources[1].configMap: ConfigMap "kube-root-ca.crt" '
                            'has no key "ca.pem"'),
    "pvc-missing": (_pvc_missing, "Deployment", "app",
                    'volumes[data].persistentVolumeClaim: PersistentVolumeClaim "data" not found'),
    "image-pull-secret-missing": (_image_pull_secret_missing, "Deployment", "app",
                                  'imagePullSecrets[ghcr]: Secret "ghcr" not found'),
    "webhook-service-missing": (_webhook_service_missing, "ValidatingWebhookConfiguration", "app-policy",
                                'webhooks[validate.app.example.com].clientConfig.service: Service "ml/webhook" '
                                "not found: failurePolicy Fail: every matching request is rejected while the "
                                "Service is missing"),
    "webhook-port-missing": (_webhook_port_missing, "ValidatingWebhookConfiguration", "app-policy",
                             'Service "ml/webhook" has no port 9443: failurePolicy Fail: every matching '
                             "request is rejected (the webhook is unreachable)"),
    "ingress-port-missing": (_ingress_port_missing, "Ingress", "app",
                             'spec.rules[app.example.com].http.paths[/].backend.service: Service "app" has no '
                             "port 8080 (ports: 80/http, 9090/metrics)"),
    "ingress-port-name-missing": (_ingress_port_name_missing, "Ingress", "app",
                                  'Service "app" has no port named "web"'),
    "ingress-tls-secret-missing": (_ingress_tls_missing, "Ingress", "app",
                                   'spec.tls[app-tls].secretName: Secret "app-tls" not found'),
    "role-ref-missing": (_role_ref_missing, "RoleBinding", "app-reader",
                         'roleRef: Role "writer" not found in namespace "ml"'),
    "cluster-role-ref-missing": (_cluster_role_ref_missing, "ClusterRoleBinding", "app-node-reader",
                                 'roleRef: ClusterRole "node-reader" not found'),
    "binding-subject-missing": (_binding_subject_missing, "RoleBinding", "app-reader",
                                "subjects[ServiceAccount ml/ghost]: ServiceAccount not found: binds nothing"),
    "storage-class-missing": (_storage_class_missing, "PersistentVolumeClaim", "data",
                              'spec.storageClassName: StorageClass "slow" not found'),
    "servicemonitor-port-missing": (_sm_port_missing, "ServiceMonitor", "app",
                                    'spec.endpoints[0].port: no matched Service has a port named "web"'),
    "servicemonitor-selects-nothing": (_sm_selects_nothing, "ServiceMonitor", "app",
                                       "spec.selector: matches no Service in monitoring"),
    "namespace-missing": (_namespace_missing, "ConfigMap", "orphan",
                          'metadata.namespace: namespace "ghost" does not exist: Argo CD\'s sync fails'),
}


@pytest.mark.parametrize("mutate,kind,name,text", CASES.values(), ids=CASES.keys())
def test_planted_break_is_reported(mutate, kind, name, text):
    w = world()
    mutate(w)
    got = findings(w)
    assert any(k == kind and n == name and text in m for k, n, m in got), got


def test_optional_references_are_not_flagged():
    w = world()
    spec = get(w, "Deployment", "app")["spec"]["template"]["spec"]
    c = spec["containers"][0]
    c["env"].append({"name": "X", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k", "optional": True}}})
    c["env"].append({"name": "Y", "valueFrom": {"secretKeyRef": {"name": "db", "key": "nope", "optional": True}}})
    c["env"].append({"name": "Z", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k", "optional": True}}})
    c["envFrom"].append({"secretRef": {"name": "nope", "optional": True}})
    c["envFrom"].append({"configMapRef": {"name": "nope", "optional": True}})
    spec["volumes"].append({"name": "o1", "secret": {"secretName": "nope", "optional": True}})
    spec["volumes"].append({"name": "o2", "configMap": {"name": "nope", "optional": True}})
    spec["volumes"].append({"name": "o3", "projected": {"sources": [
        {"secret": {"name": "nope", "optional": True}}, {"configMap": {"name": "nope", "optional": True}}]}})
    assert findings(w) == []


# --- ExternalSecret key semantics -----------------------------------------------------------


def _db_url_spec(w):
    return get(w, "ExternalSecret", "db-url")["spec"]


def test_externalsecret_merge_policy_keeps_provider_keys():
    w = world()
    _db_url_spec(w)["target"]["template"]["mergePolicy"] = "Merge"
    env(w, "DB_URL")["secretKeyRef"]["key"] = "password"
    assert findings(w) == []


def test_externalsecret_template_without_data_keeps_provider_keys():
    w = world()
    _db_url_spec(w)["target"]["template"] = {"engineVersion": "v2", "type": "Opaque"}
    env(w, "DB_URL")["secretKeyRef"]["key"] = "password"
    assert findings(w) == []
    env(w, "DB_URL")["secretKeyRef"]["key"] = "url"
    assert [m for *_, m in findings(w)] == [
        'spec.template.spec.containers[app].env[DB_URL]: Secret "db-url" has no key "url" (keys: password): '
        "the pod fails to start (CreateContainerConfigError)"]


def test_externalsecret_data_from_accepts_any_key():
    w = world()
    get(w, "ExternalSecret", "api-keys")["spec"]["dataFrom"] = [{"extract": {"key": "ml/api"}}]
    env(w, "API_TOKEN")["secretKeyRef"]["key"] = "anything"
    assert findings(w) == []


def test_externalsecret_creation_policy_none_makes_no_secret():
    w = world()
    get(w, "ExternalSecret", "api-keys")["spec"]["target"]["creationPolicy"] = "None"
    assert any('Secret "api-secret" not found' in m for *_, m in findings(w))


def test_external_runtime_secret_accepts_any_key():
    w = world()
    w.remove(get(w, "Secret", "db"))
    assert findings(w, Externals(secrets=frozenset({(NS, "regcred"), (NS, "db")}))) == []


# --- other workload shapes ------------------------------------------------------------------


def _runtime(kind, ns, secret):
    job = {"template": {"metadata": {"labels": {"role": "node"}}, "spec": {
        "serviceAccountName": "trainer",
        "containers": [{"name": "node", "envFrom": [{"secretRef": {"name": secret}}]}],
        "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "datasets"}}]}}}
    return {"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": kind, "metadata": meta("torch", ns),
            "spec": {"template": {"spec": {"replicatedJobs": [{"name": "node", "template": {"spec": job}}]}}}}


def test_cluster_training_runtime_namespaced_refs_are_skipped():
    w = world() + [_runtime("ClusterTrainingRuntime", None, "hf-token")]
    assert findings(w) == []


def test_training_runtime_pod_template_is_checked():
    got = findings(world() + [_runtime("TrainingRuntime", NS, "hf-token")])
    prefix = "spec.template.spec.replicatedJobs[node].template.spec.template.spec"
    assert [m for k, n, m in got if k == "TrainingRuntime"] == [
        f'{prefix}.containers[node].envFrom[0].secretRef: Secret "hf-token" not found in namespace "ml": '
        "the pod fails to start (CreateContainerConfigError)",
        f'{prefix}.serviceAccountName: ServiceAccount "trainer" not found in namespace "ml": '
        "pod creation is rejected (error looking up service account), so no pods run",
        f'{prefix}.volumes[d].persistentVolumeClaim: PersistentVolumeClaim "datasets" not found: '
        "the pod stays Pending (unschedulable)",
    ]


def test_statefulset_claims_and_ray_head_service():
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta("db"),
           "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}},
                                 "spec": {"containers": [{"name": "pg", "ports": [{"name": "pg", "containerPort": 5432}]}]}},
                    "volumeClaimTemplates": [{"metadata": {"name": "pgdata"},
                                              "spec": {"storageClassName": "gp9"}}]}}
    backup = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("backup"),
              "spec": {"jobTemplate": {"spec": {"template": {"spec": {
                  "containers": [{"name": "b"}],
                  "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "pgdata-db-0"}},
                              {"name": "w", "persistentVolumeClaim": {"claimName": "pgdata-db-x"}}]}}}}}}
    pod0 = {"apiVersion": "v1", "kind": "Service", "metadata": meta("db-0"),
            "spec": {"selector": {"statefulset.kubernetes.io/pod-name": "db-0"}, "ports": [{"port": 5432, "targetPort": "pg"}]}}
    ray = {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": meta("research"),
           "spec": {"headGroupSpec": {"template": {"spec": {"containers": [{"name": "ray-head"}]}}},
                    "workerGroupSpecs": [{"groupName": "gpu", "template": {"spec": {"containers": [{"name": "w"}]}}}]}}
    ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta("dash"),
           "spec": {"rules": [{"http": {"paths": [{"path": "/", "backend": {
               "service": {"name": "research-head-svc", "port": {"number": 8265}}}}]}}]}}
    got = findings(world() + [sts, backup, pod0, ray, ing])
    assert [(k, n) for k, n, _ in got] == [("CronJob", "backup"), ("StatefulSet", "db")]
    assert 'PersistentVolumeClaim "pgdata-db-x" not found' in got[0][2]
    assert got[1][2].startswith('spec.volumeClaimTemplates[pgdata].spec.storageClassName: StorageClass "gp9"')


def test_alb_ingress_skips_tls_secret_and_checks_oidc_secret():
    w = world()
    ing = get(w, "Ingress", "app")
    ing["spec"]["ingressClassName"] = "platform-alb"
    ing["spec"]["tls"] = [{"hosts": ["app.example.com"], "secretName": "not-used-by-alb"}]
    ing["metadata"]["annotations"] = {"alb.ingress.kubernetes.io/auth-type": "oidc",
                                      "alb.ingress.kubernetes.io/auth-idp-oidc": '{"secretName": "db"}'}
    w.append({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "platform-alb"},
              "spec": {"controller": "ingress.k8s.aws/alb"}})
    assert [m for *_, m in findings(w)] == [
        'metadata.annotations[alb.ingress.kubernetes.io/auth-idp-oidc].secretName: Secret "db" has no key '
        f'"{k}" (keys: user, pass): the AWS Load Balancer Controller cannot configure OIDC and stops '
        "reconciling this Ingress" for k in ("clientID", "clientSecret")]


def test_webhook_with_ignore_policy_and_apiservice():
    w = world()
    w.remove(get(w, "Service", "webhook"))
    get(w, "ValidatingWebhookConfiguration", "app-policy")["webhooks"][0]["failurePolicy"] = "Ignore"
    w.append({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
              "metadata": {"name": "v1beta1.metrics.k8s.io"},
              "spec": {"group": "metrics.k8s.io", "version": "v1beta1",
                       "service": {"namespace": "monitoring", "name": "prometheus-adapter"}}})
    msgs = [m for *_, m in findings(w)]
    assert msgs == [
        'spec.service: Service "monitoring/prometheus-adapter" not found: the APIService is Unavailable: '
        "requests to metrics.k8s.io/v1beta1 fail (503) and API discovery reports it as failing",
        'webhooks[validate.app.example.com].clientConfig.service: Service "ml/webhook" not found: '
        "failurePolicy Ignore: the webhook is skipped for every matching request",
    ]


def test_order_is_deterministic_and_externals_default():
    w = world()
    planted = [c for c in CASES if c not in ("pvc-missing", "webhook-service-missing")]
    for case in planted:
        CASES[case][0](w)
    forward = findings(w)
    assert len(forward) >= len(planted)
    assert findings(list(reversed(copy.deepcopy(w)))) == forward
    assert all(m for *_, m in check(w))  # external=None works


def test_label_selector_operators():
    sel = references.selector_matches
    labels = {"app": "a", "tier": "web"}
    assert sel({}, labels)
    assert sel({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]}, labels)
    assert not sel({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}, labels)
    assert sel({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["x"]}]}, labels)
    assert sel({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, labels)
    assert not sel({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, labels)
    assert not sel({"matchLabels": {"app": "b"}}, labels)


def test_the_package_imports_only_the_standard_library():
    """Every module of validate/references/ imports the standard library or its siblings, nothing else."""
    import ast
    for path in sorted(_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                tops = [] if node.level else [(node.module or "").split(".")[0]]
            else:
                continue
            assert all(t in sys.stdlib_module_names or t == "__future__" for t in tops), f"{path.name}:{node.lineno}"
