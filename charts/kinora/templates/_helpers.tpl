{{/*
What each service uses. The chart derives from this one table the environment of every service (the same wiring
as libs/testing/src/cluster.ts: `npm run cluster`) and what its NetworkPolicy lets it reach.
  edge: reachable from the ingress controller
  db / kafka / redis / storage: needs DATABASE_URL / KAFKA_BROKERS / REDIS_URL / STORAGE_URL
  upstreams: services it calls (<NAME>_SERVICE_URL); USER also serves the JWKS every verifier reads
*/}}
{{- define "kinora.catalogue" -}}
gateway:      {edge: true,  db: false, kafka: false, redis: true,  storage: false, upstreams: [user, video, comment, like, subscription, recommendation, analytics, realtime]}
user:         {edge: false, db: true,  kafka: true,  redis: false, storage: false, upstreams: [analytics]}
video:        {edge: false, db: true,  kafka: true,  redis: false, storage: true,  upstreams: [user, analytics]}
transcoder:   {edge: false, db: true,  kafka: true,  redis: false, storage: true,  upstreams: []}
comment:      {edge: false, db: true,  kafka: true,  redis: false, storage: false, upstreams: [user]}
like:         {edge: false, db: true,  kafka: true,  redis: false, storage: false, upstreams: [user]}
subscription: {edge: false, db: true,  kafka: true,  redis: false, storage: false, upstreams: [user]}
recommendation: {edge: false, db: true, kafka: true, redis: false, storage: false, upstreams: [user, video]}
analytics:    {edge: false, db: true,  kafka: true,  redis: true,  storage: false, upstreams: [user]}
realtime:     {edge: true,  db: true,  kafka: true,  redis: true,  storage: false, upstreams: [user, analytics]}
web:          {edge: true,  db: false, kafka: false, redis: false, storage: false, upstreams: []}
{{- end -}}

{{/* The names of the enabled services, in catalogue order, as a JSON list. */}}
{{- define "kinora.enabledServices" -}}
{{- $out := list -}}
{{- range $name := list "gateway" "user" "video" "transcoder" "comment" "like" "subscription" "recommendation" "analytics" "realtime" "web" -}}
{{- if (index $.Values.services $name).enabled -}}{{- $out = append $out $name -}}{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- define "kinora.fullname" -}}{{ include "kinora-common.names.fullname" . }}{{- end -}}
{{- define "kinora.namespace" -}}{{ include "kinora-common.names.namespace" . }}{{- end -}}

{{/* Secret of MEDIA_SIGNING_KEY and GATEWAY_IDENTITY_SECRET. */}}
{{- define "kinora.secretName" -}}
{{- default (printf "%s-secrets" (include "kinora.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* Secret of the access-token signing keys (auth.jwt), mounted into the user pods at JWT_KEYS_DIR. */}}
{{- define "kinora.jwtKeysSecretName" -}}
{{- default (printf "%s-jwt-keys" (include "kinora.fullname" .)) .Values.auth.jwt.existingSecret -}}
{{- end -}}

{{/* Where the user pods mount that Secret. */}}
{{- define "kinora.jwtKeysDir" -}}/var/run/secrets/kinora/jwt-keys{{- end -}}

{{/* The Strimzi Kafka cluster's name. */}}
{{- define "kinora.kafkaName" -}}{{ include "kinora.fullname" . | trunc 50 | trimSuffix "-" }}{{- end -}}

{{/* KAFKA_BROKERS */}}
{{- define "kinora.kafkaBrokers" -}}
{{- if eq .Values.kafka.mode "strimzi" -}}
{{- printf "%s-kafka-bootstrap.%s.svc:9092" (include "kinora.kafkaName" .) (include "kinora.namespace" .) -}}
{{- else -}}
{{- required "kafka.externalBrokers is required when kafka.mode is external" .Values.kafka.externalBrokers -}}
{{- end -}}
{{- end -}}

{{/* A CloudNativePG cluster's name: (dict "context" $ "db" "main") */}}
{{- define "kinora.pgClusterName" -}}{{ printf "%s-pg-%s" (include "kinora.fullname" .context) .db | trunc 50 | trimSuffix "-" }}{{- end -}}

{{/* The database name and owner in every CNPG cluster. */}}
{{- define "kinora.pgDatabase" -}}kinora{{- end -}}

{{/* The URL of a service: http://<fullname>-<svc>:<port> */}}
{{- define "kinora.serviceUrl" -}}
{{- printf "http://%s:%d" (include "kinora-common.names.component" (dict "context" .context "component" .svc)) (int .context.Values.service.port) -}}
{{- end -}}

{{/* The image of a service: its own image fields over the global ones. (dict "context" $ "svc" "gateway") */}}
{{- define "kinora.image" -}}
{{- $own := (index .context.Values.services .svc).image -}}
{{- $img := dict "registry" .context.Values.image.registry "repository" .context.Values.image.repository "tag" .context.Values.image.tag "digest" .context.Values.image.digest -}}
{{- if and $own.repository (ne $own.repository $img.repository) -}}
{{- /* Another repository: registry and tag still follow `image.*` unless set; a digest never does (other content). */ -}}
{{- $img = dict "registry" (default $img.registry $own.registry) "repository" $own.repository "tag" (default $img.tag $own.tag) "digest" $own.digest -}}
{{- else -}}
{{- range $k := list "registry" "tag" "digest" -}}{{- if index $own $k -}}{{- $_ := set $img $k (index $own $k) -}}{{- end -}}{{- end -}}
{{- end -}}
{{- include "kinora-common.images.image" (dict "image" $img "context" .context) -}}
{{- end -}}

{{/*
The database environment of a service (DATABASE_URL, DATABASE_REPLICA_URLS). (dict "context" $ "svc" "user")
CNPG: the `<cluster>-app` Secret's `uri` (host `<cluster>-rw`), or through the Pooler `<cluster>-pooler-rw` when it
is enabled (URL built from the Secret's username and password by Kubernetes' $(VAR) expansion); replicas through
the `<cluster>-ro` Service when the cluster has more than one instance.
*/}}
{{- define "kinora.databaseEnv" -}}
{{- $ctx := .context -}}
{{- $cfg := $ctx.Values.config -}}
{{- $db := (index $ctx.Values.services .svc).database -}}
{{- /* PgBouncer refuses timeouts as startup parameters: behind the Pooler they are the Cluster's parameters. */ -}}
{{- $pooled := false -}}
{{- if eq $ctx.Values.postgresql.mode "cnpg" -}}
{{- $pc := index $ctx.Values.postgresql.cnpg.clusters $db -}}
{{- if and $pc $pc.pooler $pc.pooler.enabled -}}{{- $pooled = true -}}{{- end -}}
{{- end }}
- name: DATABASE_STATEMENT_TIMEOUT_MS
  value: {{ ternary "0" ($cfg.databaseStatementTimeoutMs | toString) $pooled | quote }}
- name: DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS
  value: {{ ternary "0" ($cfg.databaseIdleInTransactionTimeoutMs | toString) $pooled | quote }}
- name: DATABASE_HEALTH_INTERVAL_MS
  value: {{ $cfg.databaseHealthIntervalMs | quote }}
{{ if eq $ctx.Values.postgresql.mode "cnpg" -}}
{{- $c := index $ctx.Values.postgresql.cnpg.clusters $db -}}
{{- if not $c -}}{{- fail (printf "services.%s.database: %q is not a key of postgresql.cnpg.clusters" .svc $db) -}}{{- end -}}
{{- $name := include "kinora.pgClusterName" (dict "context" $ctx "db" $db) -}}
{{- $ns := include "kinora.namespace" $ctx -}}
{{- $dbname := include "kinora.pgDatabase" $ctx -}}
- name: DB_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $name }}-app
      key: username
- name: DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $name }}-app
      key: password
{{- if and $c.pooler $c.pooler.enabled }}
- name: DATABASE_URL
  value: {{ printf "postgresql://$(DB_USERNAME):$(DB_PASSWORD)@%s-pooler-rw.%s.svc:5432/%s" $name $ns $dbname | quote }}
{{- else }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $name }}-app
      key: uri
{{- end }}
{{- if gt (int $c.instances) 1 }}
- name: DATABASE_REPLICA_URLS
  value: {{ printf "postgresql://$(DB_USERNAME):$(DB_PASSWORD)@%s-ro.%s.svc:5432/%s" $name $ns $dbname | quote }}
{{- end }}
{{- else -}}
{{- $e := index $ctx.Values.postgresql.external.databases $db -}}
{{- if not $e -}}{{- fail (printf "services.%s.database: %q is not a key of postgresql.external.databases" .svc $db) -}}{{- end -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "postgresql.external.databases.*.existingSecret is required" $e.existingSecret }}
      key: {{ default "url" $e.urlKey }}
{{- if $e.replicaUrlsKey }}
- name: DATABASE_REPLICA_URLS
  valueFrom:
    secretKeyRef:
      name: {{ $e.existingSecret }}
      key: {{ $e.replicaUrlsKey }}
{{- end }}
{{- end }}
{{- end -}}

{{/* STORAGE_URL: s3://bucket?endpoint=…&region=… (credentials as AWS_* variables, never in the URL). */}}
{{- define "kinora.storageUrl" -}}
{{- $s := .Values.storage.s3 -}}
{{- $q := list (printf "region=%s" (urlquery $s.region)) -}}
{{- if $s.endpoint -}}{{- $q = prepend $q (printf "endpoint=%s" (urlquery $s.endpoint)) -}}{{- end -}}
{{- printf "s3://%s?%s" (required "storage.s3.bucket is required" $s.bucket) (join "&" $q) -}}
{{- end -}}

{{/* The full environment of a service. (dict "context" $ "svc" "video") */}}
{{- define "kinora.env" -}}
{{- $ctx := .context -}}
{{- $svc := .svc -}}
{{- $cat := index (include "kinora.catalogue" $ctx | fromYaml) $svc -}}
{{- $cfg := $ctx.Values.config -}}
- name: PORT
  value: "8080"
- name: HOST
  value: "0.0.0.0"
- name: KINORA_DATA_DIR
  value: /tmp/kinora
- name: PUBLIC_URL
  value: {{ $cfg.publicUrl | quote }}
- name: REGION
  value: {{ $cfg.region | quote }}
- name: LOG_LEVEL
  value: {{ $cfg.logLevel | quote }}
{{- with $cfg.corsOrigins }}
- name: CORS_ORIGINS
  value: {{ join "," . | quote }}
{{- end }}
{{- with $cfg.trustedProxies }}
- name: TRUSTED_PROXIES
  value: {{ join "," . | quote }}
{{- end }}
{{- with $cfg.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: RATE_LIMIT_GENERAL
  value: {{ $cfg.rateLimits.general | quote }}
- name: RATE_LIMIT_AUTH
  value: {{ $cfg.rateLimits.auth | quote }}
- name: RATE_LIMIT_UPLOAD
  value: {{ $cfg.rateLimits.upload | quote }}
- name: RATE_LIMIT_FAIL_MODE
  value: {{ $cfg.rateLimits.failMode | quote }}
- name: UPLOAD_MAX_BYTES
  value: {{ $cfg.uploadMaxBytes | int64 | quote }}
- name: DATABASE_POOL_MAX
  value: {{ default $cfg.databasePoolMax (index $cfg.databasePoolMaxPerService $svc) | quote }}
- name: SHUTDOWN_GRACE_MS
  value: {{ $cfg.shutdownGraceMs | quote }}
{{- if eq $svc "web" }}
# The static server of the web app: the bundle the kinora image holds (no secret, no store, no upstream).
- name: WEB_ROOT
  value: /app/apps/web/dist
{{- else }}
- name: GATEWAY_IDENTITY_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "kinora.secretName" $ctx }}
      key: {{ $ctx.Values.secrets.gatewayIdentitySecretKey }}
{{- end }}
{{- if eq $svc "video" }}
- name: MEDIA_SIGNING_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "kinora.secretName" $ctx }}
      key: {{ $ctx.Values.secrets.mediaSigningKeyKey }}
{{- end }}
{{- if and (eq $svc "user") (eq $ctx.Values.auth.jwt.keysFrom "secret") }}
- name: JWT_KEYS_DIR
  value: {{ include "kinora.jwtKeysDir" $ctx | quote }}
{{- end }}
{{- if eq $svc "analytics" }}
- name: COUNTER_FLUSH_INTERVAL_MS
  value: {{ $cfg.counterFlushIntervalMs | quote }}
{{- end }}
{{- if eq $svc "transcoder" }}
- name: TRANSCODE_CONCURRENCY
  value: {{ $cfg.transcode.concurrency | quote }}
- name: TRANSCODE_PRESET
  value: {{ $cfg.transcode.preset | quote }}
- name: TRANSCODE_MAX_ATTEMPTS
  value: {{ $cfg.transcode.maxAttempts | quote }}
- name: TRANSCODE_MAX_DURATION_SEC
  value: {{ $cfg.transcode.maxDurationSec | quote }}
- name: TRANSCODE_WORK_DIR
  value: /work/transcode
{{- if eq (include "kinora.transcoderOnKubernetes" $ctx) "true" }}
{{- $k := $ctx.Values.services.transcoder.kubernetes }}
- name: TRANSCODE_RUNNER
  value: kubernetes
- name: TRANSCODE_NAMESPACE
  value: {{ include "kinora.namespace" $ctx | quote }}
- name: TRANSCODE_CHUNK_SEC
  value: {{ $k.chunkSeconds | quote }}
- name: TRANSCODE_MAX_PARALLEL
  value: {{ $k.maxParallel | quote }}
{{- with $k.image }}
- name: TRANSCODE_IMAGE
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- if $cat.db }}
{{ include "kinora.databaseEnv" (dict "context" $ctx "svc" $svc) }}
{{- end }}
{{- if $cat.kafka }}
- name: KAFKA_BROKERS
  value: {{ include "kinora.kafkaBrokers" $ctx | quote }}
- name: KAFKA_TOPIC_PARTITIONS
  value: {{ $ctx.Values.kafka.topics.partitions | quote }}
- name: KAFKA_REPLICATION_FACTOR
  value: {{ $ctx.Values.kafka.topics.replicas | quote }}
{{- end }}
{{- if $cat.redis }}
{{- $sentinel := $ctx.Values.redis.sentinel }}
{{- if $sentinel.enabled }}
- name: REDIS_SENTINELS
  value: {{ required "redis.sentinel.hosts needs at least one host:port when redis.sentinel.enabled" (join "," $sentinel.hosts) | quote }}
- name: REDIS_SENTINEL_MASTER
  value: {{ $sentinel.masterName | quote }}
{{- if $sentinel.tls }}
- name: REDIS_SENTINEL_TLS
  value: "true"
{{- end }}
{{- range $env, $key := dict "REDIS_PASSWORD" $sentinel.passwordKey "REDIS_SENTINEL_PASSWORD" $sentinel.sentinelPasswordKey }}
{{- if $key }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "redis.existingSecret names the Secret of %s" $env) $ctx.Values.redis.existingSecret }}
      key: {{ $key }}
{{- end }}
{{- end }}
{{- else if $ctx.Values.redis.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $ctx.Values.redis.existingSecret }}
      key: {{ $ctx.Values.redis.urlKey }}
{{- else if $ctx.Values.redis.url }}
- name: REDIS_URL
  value: {{ $ctx.Values.redis.url | quote }}
{{- end }}
{{- with $ctx.Values.redis.tlsCaKey }}
{{- if and $sentinel.enabled (not $sentinel.tls) }}
{{- fail "redis.tlsCaKey is for Redis over TLS: set redis.sentinel.tls=true (or leave tlsCaKey empty)" }}
{{- end }}
{{- if and (not $sentinel.enabled) (hasPrefix "redis://" $ctx.Values.redis.url) (not $ctx.Values.redis.existingSecret) }}
{{- fail "redis.tlsCaKey is for Redis over TLS: use a rediss:// redis.url (or leave tlsCaKey empty)" }}
{{- end }}
- name: REDIS_TLS_CA
  valueFrom:
    secretKeyRef:
      name: {{ required "redis.existingSecret names the Secret of REDIS_TLS_CA (redis.tlsCaKey)" $ctx.Values.redis.existingSecret }}
      key: {{ . }}
{{- end }}
{{- end }}
{{- if $cat.storage }}
- name: STORAGE_URL
  value: {{ include "kinora.storageUrl" $ctx | quote }}
{{- with $ctx.Values.storage.s3.existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $ctx.Values.storage.s3.accessKeyIdKey }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $ctx.Values.storage.s3.secretAccessKeyKey }}
{{- end }}
{{- end }}
{{- range $up := $cat.upstreams }}
{{- if (index $ctx.Values.services $up).enabled }}
- name: {{ printf "%s_SERVICE_URL" (upper $up) }}
  value: {{ include "kinora.serviceUrl" (dict "context" $ctx "svc" $up) | quote }}
{{- end }}
{{- end }}
{{- range $k, $v := $cfg.extraEnv }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- range $k, $v := (index $ctx.Values.services $svc).extraEnv }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end -}}

{{/* The platform's topics: keep in step with TOPICS in libs/contracts/src/events.schemas.ts (a test checks it). */}}
{{- define "kinora.topics" -}}
- video.views
- video.likes
- video.comments
- channel.subscriptions
- live.chat
- video.lifecycle
- video.transcoded
- user.notifications
- analytics.counters
{{- end -}}

{{/*
"true" when the transcoder is enabled and creates TranscodeJobs (runner kubernetes): it then gets a Role on
transcodejobs.kinora.io and its ServiceAccount token. A TranscodeJob allows at most 20 attempts.
*/}}
{{- define "kinora.transcoderOnKubernetes" -}}
{{- $t := .Values.services.transcoder -}}
{{- if and $t.enabled (eq $t.runner "kubernetes") -}}
{{- if gt (int .Values.config.transcode.maxAttempts) 20 -}}
{{- fail "config.transcode.maxAttempts must be at most 20 with services.transcoder.runner kubernetes (a TranscodeJob's limit)" -}}
{{- end -}}
true
{{- else -}}
false
{{- end -}}
{{- end -}}

{{/* The ServiceAccount a service's pods run as. */}}
{{- define "kinora.serviceAccountName" -}}
{{- if .context.Values.serviceAccount.create }}{{ include "kinora-common.names.component" . }}{{ else }}default{{ end -}}
{{- end -}}

{{/* Whether a service's pods mount their ServiceAccount token: the chart-wide value, or the transcoder with runner kubernetes. */}}
{{- define "kinora.automountToken" -}}
{{- if or .context.Values.serviceAccount.automountToken (and (eq .component "transcoder") (eq (include "kinora.transcoderOnKubernetes" .context) "true")) }}true{{ else }}false{{ end -}}
{{- end -}}
