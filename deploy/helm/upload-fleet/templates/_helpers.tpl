{{/* Labels every object of a release carries. */}}
{{- define "upload-fleet.labels" -}}
app.kubernetes.io/name: upload-fleet
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* A variable read from the existing Secret: (list root envName secretKey). */}}
{{- define "upload-fleet.secretEnv" -}}
{{- $root := index . 0 -}}
- name: {{ index . 1 }}
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.secrets.existingSecret }}
      key: {{ index . 2 }}
{{- end }}

{{/* What every app reads: Redis, its prefix, the encryption keys, the log level. */}}
{{- define "upload-fleet.commonEnv" -}}
{{ include "upload-fleet.secretEnv" (list . "REDIS_URL" .Values.secrets.keys.redisUrl) }}
- name: REDIS_PREFIX
  value: {{ .Values.redis.prefix | quote }}
{{ include "upload-fleet.secretEnv" (list . "ENCRYPTION_KEYS" .Values.secrets.keys.encryptionKeys) }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end }}

{{/* Operator additions for the api and the workers (OAuth clients and the like). */}}
{{- define "upload-fleet.extraEnv" -}}
{{- range $name, $value := .Values.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- range $name, $key := .Values.secrets.extraEnv }}
{{ include "upload-fleet.secretEnv" (list $ $name $key) }}
{{- end }}
{{- end }}

{{/* Pod-level settings shared by every Deployment. */}}
{{- define "upload-fleet.podSecurity" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/* KEDA scaler type: "redis", or "redis-cluster" on Redis Cluster. */}}
{{- define "upload-fleet.kedaRedisType" -}}
{{- if .Values.redis.cluster }}redis-cluster{{ else }}redis{{ end }}
{{- end }}

{{/* Where KEDA's redis scaler connects (the password, if any, via TriggerAuthentication). */}}
{{- define "upload-fleet.kedaRedisAddress" -}}
{{- if .Values.redis.cluster }}
addresses: {{ .Values.redis.address | quote }}
{{- else }}
address: {{ .Values.redis.address | quote }}
{{- end }}
{{- if .Values.redis.tls }}
enableTLS: "true"
{{- end }}
{{- end }}

{{/*
What BullMQ puts before ":wait" and ":active" of a pool's queue, as @upload-fleet/core
KeyLayout names it (called with (list $ $pool)): on Redis Cluster with a plain prefix each
pool's queue has its own hash tag, "{<prefix>:<pool>}:upload-<pool>"; otherwise (one
server, or a prefix with a hash tag) "<prefix>:upload-<pool>".
*/}}
{{- define "upload-fleet.queueKeyBase" -}}
{{- $root := index . 0 -}}
{{- $pool := index . 1 -}}
{{- $prefix := $root.Values.redis.prefix -}}
{{- if and $root.Values.redis.cluster (not (contains "{" $prefix)) -}}
{{ printf "{%s:%s}:upload-%s" $prefix $pool $pool }}
{{- else -}}
{{ printf "%s:upload-%s" $prefix $pool }}
{{- end -}}
{{- end }}
