{{/*
Names, labels and the pieces every Lendflow pod shares (the shape `helm create` gives).
*/}}

{{- define "lendflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "lendflow.fullname" -}}
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

{{- define "lendflow.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of one component's objects: <fullname>-<component>. Call with (dict "root" $ "component" "api"). */}}
{{- define "lendflow.componentName" -}}
{{- printf "%s-%s" (include "lendflow.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Common labels (the recommended app.kubernetes.io/* set). */}}
{{- define "lendflow.labels" -}}
helm.sh/chart: {{ include "lendflow.chart" . }}
{{ include "lendflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lendflow
{{- end }}

{{- define "lendflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lendflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component. Call with (dict "root" $ "component" "api"). */}}
{{- define "lendflow.componentLabels" -}}
{{ include "lendflow.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "lendflow.componentSelectorLabels" -}}
{{ include "lendflow.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "lendflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "lendflow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The application image, by digest when one is given (what production deploys). */}}
{{- define "lendflow.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "lendflow.krakendImage" -}}
{{- if .Values.krakend.image.digest }}
{{- printf "%s@%s" .Values.krakend.image.repository .Values.krakend.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.krakend.image.repository .Values.krakend.image.tag }}
{{- end }}
{{- end }}

{{/* The in-cluster address of the api Service, where KrakenD sends requests. */}}
{{- define "lendflow.apiUrl" -}}
{{- printf "http://%s.%s.svc.cluster.local:%d" (include "lendflow.componentName" (dict "root" . "component" "api")) .Release.Namespace (int .Values.api.service.port) }}
{{- end }}

{{/* Pod-level securityContext: a non-root user, the runtime's default seccomp profile. */}}
{{- define "lendflow.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level securityContext: read-only root filesystem, no privilege escalation, no capabilities. */}}
{{- define "lendflow.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Where the application writes (the root filesystem is read-only): its run dir and /tmp. */}}
{{- define "lendflow.writableVolumes" -}}
- name: run-dir
  emptyDir:
    sizeLimit: 256Mi
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end }}

{{- define "lendflow.writableMounts" -}}
- name: run-dir
  mountPath: /var/lib/lendflow
- name: tmp
  mountPath: /tmp
{{- end }}

{{/* Settings from the chart's ConfigMap, secrets from the existing Secret(s) the values name. */}}
{{- define "lendflow.envFrom" -}}
- configMapRef:
    name: {{ include "lendflow.fullname" . }}-config
{{- range .Values.secrets.existingSecrets }}
- secretRef:
    name: {{ . }}
{{- end }}
{{- end }}

{{/* Spread one component's pods across zones (and hosts). Call with (dict "root" $ "component" "api"). */}}
{{- define "lendflow.topologySpread" -}}
- maxSkew: {{ .root.Values.topologySpread.maxSkew }}
  topologyKey: topology.kubernetes.io/zone
  whenUnsatisfiable: {{ .root.Values.topologySpread.zoneWhenUnsatisfiable }}
  labelSelector:
    matchLabels:
      {{- include "lendflow.componentSelectorLabels" . | nindent 6 }}
- maxSkew: 1
  topologyKey: kubernetes.io/hostname
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "lendflow.componentSelectorLabels" . | nindent 6 }}
{{- end }}

{{/* Scheduling shared by the application pods: Karpenter's nodes, by node selector and tolerations from values. */}}
{{- define "lendflow.scheduling" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
checkov skips that apply to every application container, each with its reason, as annotations
(checkov.io/skipN: CHECK_ID=reason). Call with (dict "root" $ "extra" (list ...)).
*/}}
{{- define "lendflow.checkovSkips" -}}
{{- $skips := list -}}
{{- $skips = append $skips "CKV_K8S_35=Lendflow reads its settings only from LENDFLOW_* environment variables (pydantic-settings); the Secret is an existing one, projected into this container alone, and SecretStr keeps it out of logs" -}}
{{- if not .root.Values.image.digest -}}
{{- $skips = append $skips "CKV_K8S_43=non-production values deploy a tag; production values require image.digest (the schema refuses them without one)" -}}
{{- end -}}
{{- range .extra -}}
{{- $skips = append $skips . -}}
{{- end -}}
{{- range $i, $skip := $skips }}
checkov.io/skip{{ add1 $i }}: {{ $skip | quote }}
{{- end }}
{{- end }}

{{/* The settings every process reads, as JSON (the ConfigMap's data; the migration Job gets the same as env). */}}
{{- define "lendflow.configJson" -}}
{{- $settings := dict
  "LENDFLOW_ENVIRONMENT" "production"
  "LENDFLOW_LOG_JSON" "true"
  "LENDFLOW_LOG_LEVEL" .Values.config.logLevel
  "LENDFLOW_RUN_DIR" "/var/lib/lendflow"
  "LENDFLOW_API__HOST" "0.0.0.0"
  "LENDFLOW_API__PORT" (toString .Values.api.service.port)
  "LENDFLOW_API__TRUSTED_PROXIES" (toJson .Values.api.trustedProxies)
  "LENDFLOW_TEMPORAL__ADDRESS" .Values.temporal.address
  "LENDFLOW_TEMPORAL__NAMESPACE" .Values.temporal.namespace
  "LENDFLOW_TEMPORAL__TASK_QUEUE" .Values.temporal.taskQueue
  "LENDFLOW_TEMPORAL__UI_URL" .Values.temporal.uiUrl
  "LENDFLOW_TEMPORAL__WORKER_METRICS_HOST" "0.0.0.0"
  "LENDFLOW_TEMPORAL__WORKER_METRICS_PORT" (toString .Values.worker.metricsPort)
  "LENDFLOW_TEMPORAL__WORKER_HEALTH_PORT" (toString .Values.worker.healthPort)
  "LENDFLOW_KAFKA__BOOTSTRAP_SERVERS" .Values.kafka.bootstrapServers
  "LENDFLOW_KAFKA__REPLICATION_FACTOR" (toString .Values.kafka.replicationFactor)
  "LENDFLOW_KAFKA__PARTITIONS_BY_TOPIC" (toJson .Values.kafka.partitions)
  "LENDFLOW_PIPELINE__METRICS_HOST" "0.0.0.0"
  "LENDFLOW_PIPELINE__METRICS_PORT" (toString .Values.pipeline.metricsPort)
  "LENDFLOW_PROVIDERS__WEBHOOK_TARGET_BASE_URL" .Values.providers.webhookTargetBaseUrl
-}}
{{- range $key, $topic := .Values.kafka.topics -}}
{{- $_ := set $settings (printf "LENDFLOW_KAFKA__TOPICS__%s" (upper $key)) $topic -}}
{{- end -}}
{{- range $name, $stage := .Values.pipeline.stages -}}
{{- if $stage.consumerGroup -}}
{{- $_ := set $settings (printf "LENDFLOW_PIPELINE__GROUPS__%s" (upper $name)) $stage.consumerGroup -}}
{{- end -}}
{{- end -}}
{{- $providers := .Values.providers.baseUrls -}}
{{- if .Values.simulator.enabled -}}
{{- $sim := printf "http://%s:%d" (include "lendflow.componentName" (dict "root" . "component" "simulator")) (int .Values.simulator.port) -}}
{{- $providers = dict "FEDERAL_REVENUE" (printf "%s/federal-revenue" $sim) "CREDIT_BUREAU" (printf "%s/credit-bureau" $sim) "ECM" (printf "%s/ecm" $sim) "ESIGNATURE" (printf "%s/esignature" $sim) "PIX" (printf "%s/pix" $sim) -}}
{{- $_ := set $settings "LENDFLOW_SIMULATOR__HOST" "0.0.0.0" -}}
{{- $_ := set $settings "LENDFLOW_SIMULATOR__PORT" (toString .Values.simulator.port) -}}
{{- $_ := set $settings "LENDFLOW_SIMULATOR__PUBLIC_BASE_URL" $sim -}}
{{- /* Webhooks go in the way the real providers' do: through the gateway. */ -}}
{{- $webhooks := printf "%s/v1/webhooks/" (include "lendflow.apiUrl" .) -}}
{{- if .Values.krakend.enabled -}}
{{- $webhooks = printf "http://%s:%d/v1/webhooks/" (include "lendflow.componentName" (dict "root" . "component" "krakend")) (int .Values.krakend.port) -}}
{{- end -}}
{{- $_ := set $settings "LENDFLOW_SIMULATOR__WEBHOOK_TARGET_BASE_URL" $webhooks -}}
{{- end -}}
{{- range $provider, $url := $providers -}}
{{- $_ := set $settings (printf "LENDFLOW_PROVIDERS__%s__BASE_URL" (upper $provider)) $url -}}
{{- end -}}
{{- range $name, $value := .Values.config.extra -}}
{{- $_ := set $settings $name (toString $value) -}}
{{- end -}}
{{- toJson $settings }}
{{- end }}
