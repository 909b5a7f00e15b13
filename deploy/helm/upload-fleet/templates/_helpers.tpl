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
{{- if .Values.redis.poolShards }}
- name: POOL_SHARDS
  value: {{ include "upload-fleet.poolShards" . | quote }}
{{- end }}
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

{{/* POOL_SHARDS from redis.poolShards: "http:3,s3:2," (the fleet ignores the empty last entry). */}}
{{- define "upload-fleet.poolShards" -}}
{{- range $pool, $count := .Values.redis.poolShards }}{{ printf "%s:%v," $pool $count }}{{- end }}
{{- end }}

{{/* How many shards a pool has (called with (list $ $pool)): redis.poolShards, else 1. */}}
{{- define "upload-fleet.shardCount" -}}
{{- $root := index . 0 -}}
{{ default 1 (index $root.Values.redis.poolShards (index . 1)) }}
{{- end }}

{{/*
What BullMQ puts before ":wait" and ":active" of a pool's queue, as @upload-fleet/core
KeyLayout names it (called with (list $ $pool) or (list $ $pool $shard)): on Redis Cluster
with a plain prefix each pool's queue has its own hash tag, "{<prefix>:<pool>}:upload-<pool>",
and each further shard n its own, "{<prefix>:<pool>:<n>}:upload-<pool>-<n>"; otherwise (one
server, or a prefix with a hash tag) "<prefix>:upload-<pool>" and "<prefix>:upload-<pool>-<n>".
*/}}
{{- define "upload-fleet.queueKeyBase" -}}
{{- $root := index . 0 -}}
{{- $pool := index . 1 -}}
{{- $shard := index . 2 -}}
{{- $prefix := $root.Values.redis.prefix -}}
{{- if and $root.Values.redis.cluster (not (contains "{" $prefix)) -}}
{{- if $shard -}}
{{ printf "{%s:%s:%v}:upload-%s-%v" $prefix $pool $shard $pool $shard }}
{{- else -}}
{{ printf "{%s:%s}:upload-%s" $prefix $pool $pool }}
{{- end -}}
{{- else if $shard -}}
{{ printf "%s:upload-%s-%v" $prefix $pool $shard }}
{{- else -}}
{{ printf "%s:upload-%s" $prefix $pool }}
{{- end -}}
{{- end }}
