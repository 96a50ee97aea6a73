-- Expected Argo CD health for every sample in tests/data/argocd/ (see run.lua).
local function case(name, kind, status, message)
  return { name = name, sample = name, kind = kind, status = status, message = message }
end

local MD, TJ, DP = "ModelDeployment", "TrainingJob", "DriftPolicy"

return {
  case("md-healthy", MD, "Healthy", "Available: 2/2 replicas ready, serving fraud-scorer 3.2.0"),
  case("md-rolling-out", MD, "Progressing", "ReplicaSetUpdated: rolling out fraud-scorer 3.3.0: 1 of 2 updated"),
  case("md-no-status", MD, "Progressing", "Waiting for the operator to report status"),
  case("md-generation-mismatch", MD, "Progressing", "Waiting for the operator to observe generation 3"),
  case("md-stale-ready", MD, "Progressing", "Ready condition is from generation 2"),
  case("md-no-ready-condition", MD, "Progressing", "Waiting for the Ready condition"),
  case("md-starting", MD, "Progressing", "Progressing: 0/2 replicas ready"),
  case("md-ready-unknown", MD, "Progressing", "Reconciling"),
  case("md-progress-deadline", MD, "Degraded", "ProgressDeadlineExceeded: deployment fraud-scorer exceeded its progress deadline"),
  case("md-invalid-spec", MD, "Degraded", "InvalidSpec: spec.canary.weight 120 is above 100"),
  case("md-degraded", MD, "Degraded", "RollbackFailed: history holds no model before 3.2.0"),
  case("md-deleting", MD, "Progressing", "Deleting"),

  case("tj-no-status", TJ, "Progressing", "Waiting for the operator to report status"),
  case("tj-generation-mismatch", TJ, "Progressing", "Waiting for the operator to observe generation 2"),
  case("tj-pending", TJ, "Progressing", "Pending: waiting for 4 pods to start"),
  case("tj-running", TJ, "Progressing", "JobRunning: training on 4 nodes (4 active)"),
  case("tj-succeeded", TJ, "Healthy", "JobSucceeded: 4/4 completions; promoted fraud-scorer to 3.3.0"),
  case("tj-succeeded-suspend-set", TJ, "Healthy", "JobSucceeded: 4/4 completions"),
  case("tj-backoff-exceeded", TJ, "Degraded", "BackoffLimitExceeded: Job has reached the specified backoff limit (3)"),
  case("tj-deadline-exceeded", TJ, "Degraded", "DeadlineExceeded: Job was active longer than 86400s"),
  case("tj-invalid-spec", TJ, "Degraded", "InvalidSpec: spec.promote.modelDeployment fraud-scorer does not exist"),
  case("tj-suspended-spec", TJ, "Suspended", "Suspended by spec.suspend"),
  case("tj-suspended-condition", TJ, "Suspended", "JobSuspended: queue gpu-a100 is full"),
  case("tj-deleting", TJ, "Progressing", "Deleting"),

  case("dp-no-status", DP, "Progressing", "Waiting for the operator to report status"),
  case("dp-generation-mismatch", DP, "Progressing", "Waiting for the operator to observe generation 3"),
  case("dp-stale-ready", DP, "Progressing", "Ready condition is from generation 2"),
  case("dp-first-evaluation", DP, "Progressing", "Waiting for the first evaluation"),
  case("dp-capturing-baseline", DP, "Progressing", "CapturingBaseline: first window ends at 2025-11-20T10:10:00Z"),
  case("dp-healthy", DP, "Healthy", "Evaluated: 2 features within thresholds; p99 182ms"),
  case("dp-drift-detected", DP, "Healthy", "drift: FeatureDrift: amount psi 0.31 >= 0.1"),
  case("dp-drift-and-slo", DP, "Healthy", "drift: FeatureDrift: amount psi 0.31 >= 0.1; SLO: LatencyP99: p99 412ms > 250ms"),
  case("dp-source-unavailable", DP, "Degraded", "SourceUnavailable: prometheus.monitoring.svc:9090: connection refused"),
  case("dp-target-not-found", DP, "Degraded", "TargetNotFound: ModelDeployment fraud/fraud-scorer not found"),
  case("dp-degraded", DP, "Degraded", "SinkUnavailable: 3 notifications pending for servicenow"),
  case("dp-suspended-spec", DP, "Suspended", "Evaluation suspended"),
  case("dp-suspended-condition", DP, "Suspended", "Evaluation suspended"),
  case("dp-deleting", DP, "Progressing", "Deleting"),
}
