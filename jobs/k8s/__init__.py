"""Kubernetes: the manifests `rankstream k8s-manifest` prints and the entry point of the jobs in Flink pods."""
