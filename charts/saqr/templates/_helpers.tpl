{{/* Chart name, or nameOverride. */}}
{{- define "saqr.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: fullnameOverride, else the release name when it contains the chart name,
else "<release>-<chart>"; at most 63 characters (a DNS label). */}}
{{- define "saqr.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "<chart>-<version>" for the helm.sh/chart label. */}}
{{- define "saqr.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "saqr.labels" -}}
helm.sh/chart: {{ include "saqr.chart" . }}
{{ include "saqr.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: saqr
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels shared by every component. */}}
{{- define "saqr.selectorLabels" -}}
app.kubernetes.io/name: {{ include "saqr.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component: include "saqr.componentLabels" (list $ "operator"). */}}
{{- define "saqr.componentLabels" -}}
{{ include "saqr.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* Selector labels of one component: include "saqr.componentSelector" (list $ "operator"). */}}
{{- define "saqr.componentSelector" -}}
{{ include "saqr.selectorLabels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* Image reference "repo:tag" or "repo:tag@digest": include "saqr.image" (list $ .Values.operator.image). */}}
{{- define "saqr.image" -}}
{{- $root := index . 0 }}
{{- $img := index . 1 }}
{{- $ref := printf "%s:%s" $img.repository (default $root.Chart.AppVersion $img.tag) }}
{{- if $img.digest }}
{{- $ref = printf "%s@%s" $ref $img.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{- define "saqr.operatorServiceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (printf "%s-operator" (include "saqr.fullname" .)) .Values.operator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "saqr.webhookServiceAccountName" -}}
{{- if .Values.webhook.serviceAccount.create }}
{{- default (printf "%s-webhook" (include "saqr.fullname" .)) .Values.webhook.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.webhook.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The webhook's Service; its DNS name is in the serving certificate. */}}
{{- define "saqr.webhookServiceName" -}}
{{- printf "%s-webhook" (include "saqr.fullname" .) }}
{{- end }}

{{- define "saqr.webhookSecretName" -}}
{{- default (printf "%s-webhook-tls" (include "saqr.fullname" .)) .Values.certificates.secretName }}
{{- end }}

{{- define "saqr.webhookCertificateName" -}}
{{- printf "%s-webhook" (include "saqr.fullname" .) }}
{{- end }}

{{- define "saqr.policyConfigMapName" -}}
{{- printf "%s-policy" (include "saqr.fullname" .) }}
{{- end }}

{{/* DNS names of the webhook Service, as the serving certificate must carry them. */}}
{{- define "saqr.webhookDNSNames" -}}
{{- $svc := include "saqr.webhookServiceName" . }}
{{- $ns := .Release.Namespace }}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) | join "," }}
{{- end }}

{{/* The default topology spread (nodes, then zones; best effort) for a component. */}}
{{- define "saqr.topologySpread" -}}
{{- $root := index . 0 }}
{{- $component := index . 1 }}
{{- $custom := index . 2 }}
{{- if $custom }}
{{- toYaml $custom }}
{{- else }}
- maxSkew: 1
  topologyKey: kubernetes.io/hostname
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "saqr.componentSelector" (list $root $component) | nindent 6 }}
- maxSkew: 1
  topologyKey: topology.kubernetes.io/zone
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "saqr.componentSelector" (list $root $component) | nindent 6 }}
{{- end }}
{{- end }}

{{/* The policy file the webhook loads: files/policy.yaml as shipped, or with .Values.policy
merged over it. */}}
{{- define "saqr.policy" -}}
{{- $file := .Files.Get "files/policy.yaml" }}
{{- if not $file }}
{{- fail "files/policy.yaml is missing from the chart (run `make manifests`)" }}
{{- end }}
{{- $overrides := omit (.Values.policy | default dict) "resource" }}
{{- if $overrides }}
{{- $base := fromYaml $file }}
{{- if hasKey $base "Error" }}
{{- fail (printf "files/policy.yaml does not parse: %s" $base.Error) }}
{{- end }}
{{- toYaml (mergeOverwrite $base (deepCopy $overrides)) }}
{{- else }}
{{- $file }}
{{- end }}
{{- end }}

{{/* Whether the policy is also an AdmissionPolicy that saqr-operator follows (policy.resource.enabled). */}}
{{- define "saqr.policyResourceEnabled" -}}
{{- if dig "resource" "enabled" false (.Values.policy | default dict) }}true{{ end }}
{{- end }}

{{/* The name of that cluster-scoped AdmissionPolicy. */}}
{{- define "saqr.policyResourceName" -}}
{{- dig "resource" "name" "" (.Values.policy | default dict) | default (include "saqr.fullname" .) }}
{{- end }}
