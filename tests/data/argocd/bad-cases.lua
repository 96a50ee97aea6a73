-- Cases that must fail: run.lua has to report each one and exit 1 (tests/unit/test_argocd_health.c).
return {
  { name = "wrong-status", sample = "md-healthy", kind = "ModelDeployment", status = "Degraded",
    message = "Available: 2/2 replicas ready, serving fraud-scorer 3.2.0" },
  { name = "wrong-message", sample = "tj-running", kind = "TrainingJob", status = "Progressing",
    message = "Running" },
  { name = "wrong-kind", sample = "dp-healthy", kind = "TrainingJob", status = "Healthy",
    message = "Evaluated: 2 features within thresholds; p99 182ms" },
  { name = "missing-sample", sample = "no-such-sample", kind = "DriftPolicy", status = "Healthy",
    message = "x" },
  { name = "malformed-json", sample = "malformed", kind = "DriftPolicy", status = "Healthy",
    message = "x" },
  { name = "right", sample = "dp-deleting", kind = "DriftPolicy", status = "Progressing",
    message = "Deleting" },
}
