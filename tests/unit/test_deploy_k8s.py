"""deploy/k8s/: every manifest is valid against the Kubernetes schema (kubernetes-validate ships
the schemas, no cluster or network needed), and the manifests keep the promises the deploy docs
make: probes on the right ports, requests and limits, API replicas on one PostgreSQL, matchers
spread and protected by a budget, gateways autoscaled, topics as anpr/topics.py creates them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from anpr.settings import CommonSettings
from anpr.topics import Topics
from api.archive.settings import ArchiveSettings
from api.settings import ApiSettings
from ingest.settings import GatewaySettings
from matcher.settings import MatcherSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
TOPICS = K8S / "kafka-topics"
KUBERNETES_VERSION = "1.33.0"
PORTS = {"gateway": 8080, "matcher": 9102, "api": 8000, "archive": 9104, "notify": 9103}
COMMANDS = {
    "gateway": "ingest",
    "matcher": "matcher",
    "api": "api",
    "archive": "archive",
    "notify": "notify",
}
# Scraped by the PodMonitor and prometheus.k8s.yml: every component.
SCRAPED = set(PORTS)


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def all_manifests() -> list[dict[str, Any]]:
    return [doc for path in manifest_files() for doc in documents(path)]


def kustomized() -> list[dict[str, Any]]:
    """The documents of the resources kustomization.yaml lists (what `kubectl apply -k` sends)."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return [doc for name in kustomization["resources"] for doc in documents(K8S / name)]


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in kustomized() if d["kind"] == kind}


def component(doc: dict[str, Any]) -> str:
    return str(doc["metadata"]["labels"]["app.kubernetes.io/component"])


@pytest.mark.parametrize(
    "doc",
    all_manifests(),
    ids=lambda d: f"{d['kind']}/{d['metadata']['name']}",
)
def test_manifest_is_valid_kubernetes(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_except_the_secret_example() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in manifest_files()} - {"secret.example.yaml"}
    assert kustomization["namespace"] == "anpr"
    assert "kafka-topics" not in listed


def test_every_role_is_deployed_from_one_image() -> None:
    deployments = by_kind("Deployment")
    assert {component(d) for d in deployments.values()} == set(PORTS)
    for deployment in deployments.values():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"] == "anpr-hitstream"
        assert container["args"] == [COMMANDS[component(deployment)]]


@pytest.mark.parametrize("role", sorted(PORTS))
def test_probes_resources_and_security(role: str) -> None:
    deployment = next(d for d in by_kind("Deployment").values() if component(d) == role)
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (port,) = container["ports"]
    assert port == {"name": "http", "containerPort": PORTS[role], "protocol": "TCP"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}
    sources = [next(iter(s.values()))["name"] for s in container["envFrom"]]
    assert sources == ["anpr-config", "anpr-secrets"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    # The pod template carries the labels the Prometheus configuration discovers pods by.
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/part-of"] == "anpr"
    assert labels["app.kubernetes.io/component"] == role


def test_services_select_their_pods_on_the_http_port() -> None:
    workloads = {
        component(d): d for kind in ("Deployment", "StatefulSet") for d in by_kind(kind).values()
    }
    for service in by_kind("Service").values():
        pod_labels = workloads[component(service)]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= pod_labels.items()
        (port,) = service["spec"]["ports"]
        if component(service) == "postgres":
            assert (port["port"], port["targetPort"]) == (5432, "postgres")
            continue
        assert port["targetPort"] == "http"
        assert port["port"] == PORTS[component(service)]


def test_api_replicas_share_the_postgres_statefulset() -> None:
    api = by_kind("Deployment")["anpr-api"]
    assert api["spec"]["replicas"] >= 2
    assert api["spec"]["strategy"]["type"] == "RollingUpdate"
    volumes = {v["name"]: v for v in api["spec"]["template"]["spec"]["volumes"]}
    assert "persistentVolumeClaim" not in volumes["data"]
    (postgres,) = by_kind("StatefulSet").values()
    assert postgres["spec"]["replicas"] == 1
    assert postgres["spec"]["serviceName"] in by_kind("Service")
    (claim,) = postgres["spec"]["volumeClaimTemplates"]
    (container,) = postgres["spec"]["template"]["spec"]["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == "/var/lib/postgresql/data"
    assert mounts["init"] == "/docker-entrypoint-initdb.d"
    init = by_kind("ConfigMap")["anpr-postgres-init"]["data"]["10-anpr.sh"]
    assert "CREATE ROLE anpr_app" in init and "OWNER anpr_owner" in init
    (secret,) = documents(K8S / "secret.example.yaml")
    url = secret["stringData"]["ANPR_DATABASE_URL"]
    assert url.startswith("postgresql://anpr_app:")
    assert url.endswith(f"@{postgres['spec']['serviceName']}:5432/anpr")
    assert not any(h["spec"]["scaleTargetRef"]["name"] == "anpr-api" for h in hpas())


def hpas() -> list[dict[str, Any]]:
    return list(by_kind("HorizontalPodAutoscaler").values())


def test_matchers_are_spread_and_protected_by_a_disruption_budget() -> None:
    matcher = by_kind("Deployment")["anpr-matcher"]
    spec = matcher["spec"]["template"]["spec"]
    terms = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    selector = matcher["spec"]["selector"]["matchLabels"]
    assert any(t["podAffinityTerm"]["labelSelector"]["matchLabels"] == selector for t in terms)
    budgets = [p for p in by_kind("PodDisruptionBudget").values() if component(p) == "matcher"]
    assert [p["spec"]["selector"]["matchLabels"] for p in budgets] == [selector]
    assert matcher["spec"]["replicas"] >= 2
    config = by_kind("ConfigMap")["anpr-config"]["data"]
    assert matcher["spec"]["replicas"] <= int(config["ANPR_TOPIC_PARTITIONS"])
    assert config["ANPR_MATCHER_GROUP"]


def test_gateways_are_autoscaled() -> None:
    (hpa,) = hpas()
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "anpr-gateway",
    }
    assert hpa["spec"]["minReplicas"] >= 2
    assert "replicas" not in by_kind("Deployment")["anpr-gateway"]["spec"]


def test_config_map_sets_only_real_settings_and_no_secret() -> None:
    known = {
        f"ANPR_{name.upper()}"
        for cls in (GatewaySettings, MatcherSettings, ApiSettings, ArchiveSettings)
        for name in cls.model_fields
    }
    data = by_kind("ConfigMap")["anpr-config"]["data"]
    assert set(data) <= known, set(data) - known
    assert "ANPR_ADMIN_TOKEN" not in data
    assert data["ANPR_ENVIRONMENT"] == "production"
    assert data["ANPR_HOST"] == "0.0.0.0"  # noqa: S104 - pods listen on every interface
    assert int(data["ANPR_TOPIC_REPLICATION"]) == 3


def test_the_secret_example_holds_the_admin_token() -> None:
    (secret,) = documents(K8S / "secret.example.yaml")
    assert secret["metadata"]["name"] == "anpr-secrets"
    assert set(secret["stringData"]) == {
        "ANPR_ADMIN_TOKEN",
        "ANPR_DATABASE_URL",
        "ANPR_DATABASE_MIGRATE_URL",
    }


def test_kafka_topics_match_anpr_topics() -> None:
    """The Strimzi topics are those anpr/topics.py would create (names, compaction, retention),
    with production replication: 3 replicas, min.insync.replicas=2."""
    kustomization = yaml.safe_load((TOPICS / "kustomization.yaml").read_text())
    topics = {
        d["spec"]["topicName"]: d
        for name in kustomization["resources"]
        for d in documents(TOPICS / name)
    }
    specs = Topics.from_prefix("anpr.").specs(CommonSettings())
    assert set(topics) == {spec.name for spec in specs}
    for spec in specs:
        topic = topics[spec.name]
        assert topic["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert topic["kind"] == "KafkaTopic"
        assert topic["metadata"]["labels"]["strimzi.io/cluster"]
        config = topic["spec"]["config"]
        assert topic["spec"]["replicas"] == 3
        assert config["min.insync.replicas"] == "2"
        for key, value in spec.config.items():
            assert config[key] == value, (spec.name, key)
        if spec.compacted:
            assert topic["spec"]["partitions"] == 1
        else:
            assert config["cleanup.policy"] == "delete"
            assert topic["spec"]["partitions"] >= min(6, spec.partitions)


def test_the_pod_monitor_gives_the_jobs_the_rules_expect() -> None:
    (monitor,) = documents(K8S / "monitoring" / "podmonitor.yaml")
    assert monitor["kind"] == "PodMonitor"
    (values,) = [e["values"] for e in monitor["spec"]["selector"]["matchExpressions"]]
    assert set(values) == SCRAPED
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "http"
    job = next(r for r in endpoint["relabelings"] if r["targetLabel"] == "job")
    assert job["replacement"] == "anpr-$1"


@pytest.mark.parametrize("role", sorted(PORTS))
def test_the_data_dir_is_a_writable_volume(role: str) -> None:
    """Every process makes ANPR_DATA_DIR private at start (`anpr.datadir.secure_data_dir`
    chmods it when it owns it, as it owns the image's /var/lib/anpr): on the read-only root
    filesystem that is EROFS and the process exits before it serves."""
    deployment = next(d for d in by_kind("Deployment").values() if component(d) == role)
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = dict(by_kind("ConfigMap")["anpr-config"]["data"])
    env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    data_dir = env.get("ANPR_DATA_DIR", "/var/lib/anpr")  # the image's default
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert data_dir in mounts, f"{role}: {data_dir} is on the read-only root filesystem"
    assert not mounts[data_dir].get("readOnly", False)
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "configMap" not in volumes[mounts[data_dir]["name"]]


# docs/configuration.md (ANPR_DEDUP_MAX_ENTRIES) and docs/performance.md: ~500 bytes per
# remembered (camera_id, read_id) pair; the gateway itself measured 63 MB before any read.
DEDUP_BYTES_PER_ENTRY = 500
GATEWAY_BASE_BYTES = 512 * 2**20


def quantity_bytes(value: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return int(value.removesuffix(suffix)) * factor
    return int(value)


def test_a_gateway_holds_its_full_dedup_memory() -> None:
    """Every gateway follows the dedup keys of all gateways, so at the documented 12,000
    reads/s it reaches ANPR_DEDUP_MAX_ENTRIES within minutes (and on start, from the 10 min
    warm-up): below that memory it is OOM-killed over and over at peak."""
    config = by_kind("ConfigMap")["anpr-config"]["data"]
    gateway = by_kind("Deployment")["anpr-gateway"]
    (container,) = gateway["spec"]["template"]["spec"]["containers"]
    env = {**config, **{e["name"]: e["value"] for e in container.get("env", []) if "value" in e}}
    entries = int(env.get("ANPR_DEDUP_MAX_ENTRIES", GatewaySettings().dedup_max_entries))
    dedup = entries * DEDUP_BYTES_PER_ENTRY
    resources = container["resources"]
    assert quantity_bytes(resources["requests"]["memory"]) >= dedup
    assert quantity_bytes(resources["limits"]["memory"]) >= dedup + GATEWAY_BASE_BYTES


def test_disruption_budgets_take_one_replica_at_a_time() -> None:
    """A drain (node upgrade, cluster autoscaler) evicts whatever no budget protects: every
    Deployment run with two or more replicas has a budget letting one go at a time, so the
    control room keeps an API and an HPA-scaled gateway fleet is not drained to one pod under
    load. A single replica has none (a budget would block every drain)."""
    budgets = {component(p): p["spec"] for p in by_kind("PodDisruptionBudget").values()}
    autoscaled = {h["spec"]["scaleTargetRef"]["name"] for h in hpas()}
    for name, deployment in by_kind("Deployment").items():
        role = component(deployment)
        replicated = name in autoscaled or deployment["spec"]["replicas"] >= 2
        if not replicated:
            assert role not in budgets, role
            continue
        assert role in budgets, f"{role}: no PodDisruptionBudget"
        assert budgets[role] == {
            "maxUnavailable": 1,
            "selector": {"matchLabels": deployment["spec"]["selector"]["matchLabels"]},
        }, role


def test_postgres_may_recover_for_longer_than_its_liveness_allows() -> None:
    """Crash recovery (WAL replay) and the first set-up do not listen on TCP: the liveness
    probe (`pg_isready -h 127.0.0.1`, 6 × 10 s) killed a recovery over a minute, which then
    started over. A startup probe holds liveness off for up to an hour."""
    (statefulset,) = by_kind("StatefulSet").values()
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    startup = container["startupProbe"]
    assert startup["exec"] == container["livenessProbe"]["exec"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 3600


def test_the_api_replicas_prefer_different_nodes() -> None:
    """Two API replicas on one node: losing the node takes the console and the hit stream
    from the whole control room (the disruption budget covers planned drains only)."""
    api = by_kind("Deployment")["anpr-api"]
    assert api["spec"]["replicas"] >= 2
    spec = api["spec"]["template"]["spec"]
    terms = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    selector = api["spec"]["selector"]["matchLabels"]
    assert any(
        t["podAffinityTerm"]["labelSelector"]["matchLabels"] == selector
        and t["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
        for t in terms
    )
