"""A real kube-apiserver (v1.37.2) on etcd, both on 127.0.0.1, for ``kubectl apply --dry-run=server``.

The binaries come from ``make test-k8s`` (``k8s/test/build.sh``, built from the Go module proxy into
``.cache/k8s-test/bin``, or ``RANKSTREAM_K8S_BIN``). The admin authenticates with a static token in the group
``system:masters``; the server generates its own serving certificate. Every process is stopped by its PID.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from serving.testing import free_port

REPO = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("RANKSTREAM_K8S_BIN", REPO / ".cache" / "k8s-test" / "bin"))
BINARIES = ("kube-apiserver", "etcd")
MISSING = f"kube-apiserver and etcd are not built in {BIN}: run `make test-k8s`"


def built(bin_dir: Path = BIN) -> bool:
    return all((bin_dir / name).exists() for name in BINARIES)


KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{{name: test, cluster: {{server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}}}]
users: [{{name: admin, user: {{token: "{token}"}}}}]
contexts: [{{name: test, context: {{cluster: test, user: admin, namespace: default}}}}]
current-context: test
"""


@dataclass
class ApiServer:
    """etcd and kube-apiserver under ``root`` (data, keys, logs, kubeconfig), driven by ``kubectl``."""

    root: Path
    kubectl_bin: str
    bin_dir: Path = BIN
    processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self, timeout: float = 60) -> ApiServer:
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()  # etcd may already run
            raise

    def _start(self, timeout: float) -> ApiServer:
        etcd = self._start_etcd()
        port, token = free_port(), secrets.token_hex(16)
        (self.root / "tokens.csv").write_text(f'{token},admin,admin,"system:masters"\n')
        (self.root / "kubeconfig").write_text(KUBECONFIG.format(port=port, token=token))
        self._service_account_key()
        self._spawn("apiserver", [
            str(self.bin_dir / "kube-apiserver"), "--etcd-servers", etcd,
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", str(port),
            "--cert-dir", str(self.root / "certs"), "--token-auth-file", str(self.root / "tokens.csv"),
            "--authorization-mode", "RBAC", "--service-account-issuer", "https://kubernetes.default.svc",
            "--service-account-key-file", str(self.root / "sa.pub"),
            "--service-account-signing-key-file", str(self.root / "sa.key"),
            "--service-cluster-ip-range", "10.96.0.0/16", "--endpoint-reconciler-type", "none",
        ])  # fmt: skip
        self._wait_ready(timeout)
        return self

    def _start_etcd(self) -> str:
        client, peer, metrics = (f"http://127.0.0.1:{free_port()}" for _ in range(3))
        self._spawn("etcd", [
            str(self.bin_dir / "etcd"), "--name", "test", "--data-dir", str(self.root / "etcd"),
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"test={peer}", "--listen-metrics-urls", metrics,
        ])  # fmt: skip
        return client

    def _service_account_key(self) -> None:
        key, pub = self.root / "sa.key", self.root / "sa.pub"
        subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
        subprocess.run(
            ["openssl", "rsa", "-in", key, "-pubout", "-out", pub], check=True, capture_output=True
        )

    def _spawn(self, name: str, argv: list[str]) -> None:
        with open(self.root / f"{name}.log", "wb") as log:
            self.processes.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.kubectl("get", "--raw", "/readyz").returncode != 0:
            dead = [p.args[0] for p in self.processes if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                self.stop()
                why = f"{dead[0]} exited" if dead else f"not ready after {timeout:.0f} s"
                raise RuntimeError(f"test apiserver: {why}; logs in {self.root}")
            time.sleep(0.25)

    def kubectl(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        """``kubectl`` against this server, with its discovery cache under ``root`` (never ``~/.kube``)."""
        argv = [self.kubectl_bin, "--kubeconfig", str(self.root / "kubeconfig"),
                "--cache-dir", str(self.root / "kube-cache"), *args]  # fmt: skip
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120)

    def apply_crd(self, path: Path, timeout: float = 60) -> None:
        """Applies the CRD server-side (the operator's is over the client-side annotation limit), then waits
        until it is Established and kubectl's discovery maps its kind."""
        applied = self.kubectl("apply", "--server-side", "-f", str(path), "-o", "name")
        if applied.returncode != 0:
            raise RuntimeError(f"applying {path}: {applied.stderr}")
        name = applied.stdout.strip()
        plural, group = name.split("/")[-1].split(".", 1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.kubectl(
                "get", name, "-o", "jsonpath={.status.conditions[?(@.type=='Established')].status}"
            )
            found = self.kubectl("api-resources", f"--api-group={group}", "-o", "name").stdout.split()
            if status.stdout == "True" and f"{plural}.{group}" in found:
                return
            time.sleep(0.25)
        raise RuntimeError(f"{name} not established after {timeout:.0f} s")

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
