"""The Kubernetes manifests of deploy/kubernetes/, with no cluster and no network.

Each manifest is validated strictly (unknown fields are errors) against the Kubernetes JSON
schemas of the oldest and the newest release supported; the schemas ship inside the
kubernetes-validate package. Then what schemas cannot check: that the manifests agree with
the image (the port the Dockerfile EXPOSEs, the path of its HEALTHCHECK), with each other,
and that a pod's resources hold its job slots as snekbox.settings sizes them.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from snekbox import settings as settings_module

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
# The service itself: gunicorn's master and workers, warm jails' bookkeeping (deploy/README.md).
SERVICE_BYTES = 100 * 2**20


def documents() -> list[tuple[str, dict]]:
    return [
        (f"{path.name}#{i}", doc)
        for path in MANIFESTS
        for i, doc in enumerate(yaml.safe_load_all(path.read_text()))
        if doc
    ]


DOCUMENTS = documents()


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Any attempt to reach the network fails the test: the check works without one."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def of_kind(kind: str) -> list[dict]:
    return [doc for _, doc in DOCUMENTS if doc["kind"] == kind]


@pytest.fixture(scope="module")
def deployment() -> dict:
    deployments = of_kind("Deployment")
    assert len(deployments) == 1, "expected one Deployment"
    return deployments[0]


@pytest.fixture(scope="module")
def pod_labels(deployment) -> dict:
    return deployment["spec"]["template"]["metadata"]["labels"]


@pytest.fixture(scope="module")
def container(deployment) -> dict:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, "expected one container"
    return containers[0]


@pytest.fixture(scope="module")
def image() -> tuple[int, str]:
    """(port, health path) of the image: its one EXPOSEd port and its HEALTHCHECK's URL."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    exposed = {
        int(port)
        for line in re.findall(r"^EXPOSE\s+(.+)$", dockerfile, re.M)
        for port in re.findall(r"(\d+)(?:/tcp)?", line)
    }
    assert len(exposed) == 1, f"Dockerfile EXPOSEs {sorted(exposed)}, expected one port"
    health = re.search(
        r"^HEALTHCHECK\b.*?http://(?:127\.0\.0\.1|localhost):(\d+)(/[^'\"\s]*)",
        dockerfile,
        re.M | re.S,
    )
    assert health, "Dockerfile: no HEALTHCHECK asking http://127.0.0.1:PORT/PATH"
    port = exposed.pop()
    assert int(health.group(1)) == port, "the HEALTHCHECK asks another port than EXPOSEd"
    return port, health.group(2)


@pytest.fixture(scope="module")
def pod_settings(container) -> settings_module.Settings:
    """The service's settings as the Deployment's environment makes them."""
    return settings_module.load({e["name"]: e["value"] for e in container.get("env", [])})


def port_number(container: dict, port: int | str) -> int:
    """A port given by number or by the name of one of the container's ports."""
    named = {p.get("name"): p["containerPort"] for p in container["ports"]}
    return named.get(port) if isinstance(port, str) else port


def quantity(text: str) -> float:
    """A Kubernetes quantity (512Mi, 2Gi, 2, 500m) in bytes or cores."""
    units = {
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "k": 10**3,
        "M": 10**6,
        "G": 10**9,
        "T": 10**12,
        "m": 10**-3,
        "": 1,
    }
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text)).groups()
    return float(number) * units[unit]


def test_there_are_manifests():
    assert {doc["kind"] for _, doc in DOCUMENTS} >= {
        "Namespace",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name,document", DOCUMENTS, ids=[name for name, _ in DOCUMENTS])
def test_schema(name, document, version):
    kubernetes_validate.validate(document, version, strict=True)


def test_compose_publishes_the_image_port(image):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    published = [
        str(p) for service in compose["services"].values() for p in service.get("ports", [])
    ]
    assert any(p.rsplit(":", 1)[-1].split("/")[0] == str(image[0]) for p in published), published


def test_container_port_and_probes_are_the_image(container, image):
    port, health_path = image
    assert port in [p["containerPort"] for p in container["ports"]]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert (port_number(container, get["port"]), get["path"]) == (port, health_path), probe


def test_one_namespace(deployment):
    namespace = deployment["metadata"]["namespace"]
    assert [n["metadata"]["name"] for n in of_kind("Namespace")] == [namespace]
    for name, doc in DOCUMENTS:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == namespace, name


def test_selectors_find_the_pods(deployment, pod_labels):
    selectors = [deployment["spec"]["selector"]["matchLabels"]]
    selectors += [s["spec"]["selector"] for s in of_kind("Service")]
    selectors += [p["spec"]["podSelector"]["matchLabels"] for p in of_kind("NetworkPolicy")]
    selectors += [b["spec"]["selector"]["matchLabels"] for b in of_kind("PodDisruptionBudget")]
    for selector in selectors:
        assert selector and selector.items() <= pod_labels.items(), selector


def test_service_and_network_policy_ports_are_the_image(container, image):
    for service in of_kind("Service"):
        for p in service["spec"]["ports"]:
            assert port_number(container, p.get("targetPort", p["port"])) == image[0]
    for policy in of_kind("NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            for p in rule.get("ports", []):
                assert port_number(container, p["port"]) == image[0]


def test_autoscaler_scales_the_deployment_on_cpu(deployment):
    hpas = of_kind("HorizontalPodAutoscaler")
    assert hpas
    for hpa in hpas:
        assert hpa["apiVersion"] == "autoscaling/v2"
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
        assert "cpu" in [m.get("resource", {}).get("name") for m in hpa["spec"]["metrics"]]


def test_memory_holds_every_slot_at_its_largest(container, pod_settings):
    """Each slot holds its job (memory and a full /home), then its answer until sent; each
    worker holds its request bodies; then the service itself."""
    s = pod_settings
    assert s.max_jobs > 0, (
        "set SNEKBOX_MAX_JOBS: the automatic value counts the node's cores "
        "and memory, not the pod's"
    )
    slot = s.slot_bytes
    needed = s.jobs_at_once * slot + s.workers * s.worker_body_budget + SERVICE_BYTES
    limit = container["resources"]["limits"]["memory"]
    assert quantity(limit) >= needed, (
        f"memory limit {limit} is under {s.jobs_at_once} slots x {slot} B + {s.workers} x "
        f"{s.worker_body_budget} B of bodies + {SERVICE_BYTES} B = {needed / 2**20:.0f} MiB"
    )


def test_at_most_8_jobs_per_core(container, pod_settings):
    cores = quantity(container["resources"]["requests"]["cpu"])
    assert pod_settings.jobs_at_once / cores <= 8


def test_read_only_root_has_volumes_where_snekbox_writes(container, pod_settings):
    if not container.get("securityContext", {}).get("readOnlyRootFilesystem"):
        pytest.skip("the root filesystem is writable")
    mounted = [Path(m["mountPath"]) for m in container.get("volumeMounts", [])]
    # /tmp: gunicorn's heartbeat files, nsjail's scratch directories, the metrics files.
    for path in map(Path, (pod_settings.work_dir, pod_settings.job_uid_locks, "/tmp")):
        assert any(path == m or m in path.parents for m in mounted), f"{path} is on no volume"
