{{/*
Names, labels and the few facts every template shares. Helpers that work on one service
take a dict: (dict "root" $ "name" "identity").
*/}}

{{/* The chart name, overridable with nameOverride. */}}
{{- define "sluis.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every resource name: fullnameOverride, else the release name when it
already contains the chart name ("sluis"), else "<release>-sluis". Truncated so that
"<fullname>-<service>-migrate" stays within 63 characters.
*/}}
{{- define "sluis.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "sluis-0.1.0", for the helm.sh/chart label. */}}
{{- define "sluis.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of one service's resources: "<fullname>-<service>". */}}
{{- define "sluis.serviceName" -}}
{{- printf "%s-%s" (include "sluis.fullname" .root) .name }}
{{- end }}

{{/*
Selector labels: stable for the life of a release (Deployments cannot change them).
The component is the service name ("identity"), or "<service>-migrate" for migration pods.
*/}}
{{- define "sluis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluis.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/* All labels of a resource that belongs to one component. */}}
{{- define "sluis.labels" -}}
helm.sh/chart: {{ include "sluis.chart" .root }}
{{ include "sluis.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: sluis
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
sluis.nl/region: {{ .root.Values.region.id | quote }}
{{- end }}

{{/*
The image of one service: <registry>/<repository>/<service>:<tag>, or @<digest> when
image.digests.<service> is set (immutable: what was scanned is what runs).
*/}}
{{- define "sluis.image" -}}
{{- $image := .root.Values.image }}
{{- $digest := index ($image.digests | default dict) .name | default "" }}
{{- if $digest }}
{{- printf "%s/%s/%s@%s" $image.registry $image.repository .name $digest }}
{{- else }}
{{- printf "%s/%s/%s:%s" $image.registry $image.repository .name $image.tag }}
{{- end }}
{{- end }}

{{/*
The gRPC target of one back end: its headless Service by DNS, so that clients resolve every
ready pod and spread calls over them (round_robin in services/common/clients.py).
*/}}
{{- define "sluis.grpcTarget" -}}
{{- printf "dns:///%s-headless.%s.svc.%s:%s" (include "sluis.serviceName" .) .root.Release.Namespace .root.Values.clusterDomain (include "sluis.grpcPort" .root) }}
{{- end }}

{{/* The Secret with one service's mTLS certificate, key and CA (tls.crt, tls.key, ca.crt). */}}
{{- define "sluis.tlsSecret" -}}
{{- index (.root.Values.mtls.secretNames | default dict) .name | default (printf "%s-tls" (include "sluis.serviceName" .)) }}
{{- end }}


{{/*
Who calls whom (gRPC, port 50051): the one source for client addresses, ingress rules and
egress rules. gateway is reached only through the Ingress; nobody calls it over gRPC.
*/}}
{{- define "sluis.calls" -}}
gateway: [identity, signal, match, notify]
identity: []
signal: [identity, match, notify]
match: [identity, notify]
notify: []
{{- end }}

{{/* The services that call .name, as a YAML list. */}}
{{- define "sluis.callers" -}}
{{- $calls := include "sluis.calls" . | fromYaml }}
{{- $callers := list }}
{{- range $caller, $callees := $calls }}
{{- if has $.name $callees }}
{{- $callers = append $callers $caller }}
{{- end }}
{{- end }}
{{- toYaml $callers }}
{{- end }}

{{/* Services that use Redis, and the one that sends mail and webhooks. */}}
{{- define "sluis.usesRedis" -}}
{{- if has .name (list "gateway" "notify") }}true{{ end }}
{{- end }}

{{- define "sluis.grpcPort" -}}50051{{- end }}
{{- define "sluis.httpPort" -}}8080{{- end }}

{{/*
The Secret holding one service's database URL, as {"name": ..., "key": ...}: the
CloudNativePG application Secret when cnpg.enabled, else services.<name>.database.
*/}}
{{- define "sluis.databaseSecret" -}}
{{- $svc := index .root.Values.services .name }}
{{- if .root.Values.cnpg.enabled }}
name: {{ printf "%s-db-app" (include "sluis.serviceName" .) }}
key: uri
{{- else }}
name: {{ required (printf "services.%s.database.existingSecret is required when cnpg.enabled is false: the name of the Secret holding the %s database URL" .name .name) $svc.database.existingSecret }}
key: {{ $svc.database.key }}
{{- end }}
{{- end }}

{{/*
Non-secret environment of one service, as a YAML map: the ConfigMap's data, and (because a
pre-install hook runs before the ConfigMap exists) the migration Job's inline env. The
chart's settings plus services.<name>.env (tuning knobs); the latter may not override the
former.
*/}}
{{- define "sluis.configEnv" -}}
{{- $env := include "sluis.chartEnv" . | fromYaml }}
{{- $svc := index .root.Values.services .name }}
{{- range $key, $value := $svc.env }}
{{- if hasKey $env $key }}
{{- fail (printf "services.%s.env.%s is set by the chart: use the chart value that sets it (see README.md)" $.name $key) }}
{{- end }}
{{- $_ := set $env $key (toString $value) }}
{{- end }}
{{- toYaml $env }}
{{- end }}

{{/* The settings the chart derives from its values, as a YAML map. */}}
{{- define "sluis.chartEnv" -}}
{{- $root := .root }}
{{- $values := $root.Values }}
{{- $svc := index $values.services .name }}
{{- $calls := index (include "sluis.calls" . | fromYaml) .name }}
SLUIS_REGION: {{ required "region.id is required" $values.region.id | quote }}
SLUIS_LOG_LEVEL: {{ $values.logLevel | quote }}
SLUIS_ENVIRONMENT: {{ $values.environment | quote }}
SLUIS_SHUTDOWN_GRACE_SECONDS: {{ $values.shutdownGraceSeconds | quote }}
SLUIS_RPC_TIMEOUT_SECONDS: {{ $values.rpcTimeoutSeconds | quote }}
SLUIS_DB_POOL_MAX: {{ $svc.dbPoolMax | quote }}
SLUIS_DB_POOL_TIMEOUT_SECONDS: {{ $values.dbPoolTimeoutSeconds | quote }}
OTEL_SERVICE_NAME: {{ printf "sluis-%s" .name | quote }}
{{- with $values.otel.endpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
SLUIS_TRACE_SAMPLE_RATIO: {{ $values.otel.sampleRatio | quote }}
{{- if eq .name "gateway" }}
SLUIS_HTTP_LISTEN: {{ printf "0.0.0.0:%s" (include "sluis.httpPort" .) | quote }}
SLUIS_MUNICIPALITIES: {{ join "," $values.region.municipalities | quote }}
SLUIS_TRUSTED_PROXIES: {{ $svc.trustedProxies | quote }}
SLUIS_PORTAL_URL: {{ include "sluis.portalUrl" $root | quote }}
SLUIS_INVITATION_HOURS: {{ $svc.invitationHours | quote }}
{{- else }}
SLUIS_GRPC_LISTEN: {{ printf "[::]:%s" (include "sluis.grpcPort" .) | quote }}
{{- end }}
{{- range $callee := $calls }}
{{ printf "SLUIS_%s_ADDR" (upper $callee) }}: {{ include "sluis.grpcTarget" (dict "root" $root "name" $callee) | quote }}
{{- end }}
SLUIS_ADMIN_LISTEN: {{ printf "0.0.0.0:%v" $values.admin.port | quote }}
{{- if eq .name "gateway" }}
PROMETHEUS_MULTIPROC_DIR: "/tmp/metrics"
{{- else }}
SLUIS_DRAIN_SECONDS: {{ $values.drainSeconds | quote }}
SLUIS_GRPC_MAX_CONNECTION_AGE_SECONDS: {{ $values.grpc.maxConnectionAgeSeconds | quote }}
SLUIS_GRPC_MAX_CONNECTION_AGE_GRACE_SECONDS: {{ $values.grpc.maxConnectionAgeGraceSeconds | quote }}
{{- end }}
{{- if $values.mtls.enabled }}
SLUIS_TLS_CERT_FILE: "/etc/sluis/tls/tls.crt"
SLUIS_TLS_KEY_FILE: "/etc/sluis/tls/tls.key"
SLUIS_TLS_CA_FILE: "/etc/sluis/tls/ca.crt"
{{- end }}
{{- if has .name (list "identity" "signal") }}
SLUIS_REGION_MUNICIPALITIES: {{ join "," $values.region.municipalities | quote }}
{{- end }}
{{- if eq .name "signal" }}
SLUIS_INFORMING_REMINDER_DAYS: {{ $svc.informingReminderDays | quote }}
SLUIS_BRP_RECHECK_INTERVAL_SECONDS: {{ $svc.brpRecheck.intervalSeconds | quote }}
SLUIS_BRP_RECHECK_BATCH_SIZE: {{ $svc.brpRecheck.batchSize | quote }}
SLUIS_BRP_RECHECK_RATE: {{ $svc.brpRecheck.rate | quote }}
{{- end }}
{{- if eq .name "identity" }}
{{- with $svc.brp }}
{{- if .url }}
SLUIS_BRP_URL: {{ .url | quote }}
SLUIS_BRP_API_KEY_HEADER: {{ .apiKeyHeader | quote }}
SLUIS_BRP_HOUSEHOLD: {{ .household | quote }}
SLUIS_BRP_CONNECT_TIMEOUT_SECONDS: {{ .connectTimeoutSeconds | quote }}
SLUIS_BRP_READ_TIMEOUT_SECONDS: {{ .readTimeoutSeconds | quote }}
SLUIS_BRP_BREAKER_FAILURES: {{ .breakerFailures | quote }}
SLUIS_BRP_BREAKER_COOLDOWN_SECONDS: {{ .breakerCooldownSeconds | quote }}
SLUIS_BRP_VAULT_TTL_HOURS: {{ .vaultTtlHours | quote }}
{{- if .clientCertificate.existingSecret }}
SLUIS_BRP_CLIENT_CERT_FILE: "/etc/sluis/brp/tls.crt"
SLUIS_BRP_CLIENT_KEY_FILE: "/etc/sluis/brp/tls.key"
{{- if .clientCertificate.hasCa }}
SLUIS_BRP_CA_FILE: "/etc/sluis/brp/ca.crt"
{{- end }}
{{- end }}
{{- end }}
{{- end }}
SLUIS_IDENTITY_KEK_DIR: "/etc/sluis/kek"
SLUIS_PEER_REGIONS: {{ join "," $values.region.peerRegions | quote }}
{{- with $svc.peerKeys }}
{{- $pairs := list }}
{{- range $peer, $public := . }}
{{- if not (has $peer $values.region.peerRegions) }}
{{- fail (printf "services.identity.peerKeys.%s: %s is not in region.peerRegions" $peer $peer) }}
{{- end }}
{{- $pairs = append $pairs (printf "%s=%s" $peer $public) }}
{{- end }}
SLUIS_PEER_KEYS: {{ join "," $pairs | quote }}
{{- end }}
{{- end }}
{{- if and (eq .name "match") $values.federation.enabled }}
{{- include "sluis.federationEnv" $root }}
{{- end }}
{{- if eq .name "match" }}
SLUIS_MATCH_FAMILY_MATCHES: {{ ternary "true" "false" (ne $values.region.familyMatches false) | quote }}
{{- with $values.region.coordination }}
SLUIS_MATCH_TAKEOVER_ACCEPTANCE: {{ .takeoverAcceptance | quote }}
SLUIS_MATCH_TAKEOVER_TIMEOUT_WORKING_DAYS: {{ .takeoverTimeoutWorkingDays | quote }}
SLUIS_MATCH_SUCCESSION_OFFER: {{ .successionOffer | quote }}
SLUIS_MATCH_OFFER_TIMEOUT_WORKING_DAYS: {{ .offerTimeoutWorkingDays | quote }}
SLUIS_MATCH_HANDOVER_SUGGESTION: {{ .handoverSuggestion | quote }}
{{- end }}
{{- end }}
{{- if eq .name "notify" }}
SLUIS_SMTP_HOST: {{ required "services.notify.smtp.host is required: the SMTP relay notify sends mail through" $svc.smtp.host | quote }}
SLUIS_SMTP_PORT: {{ $svc.smtp.port | quote }}
SLUIS_SMTP_USER: {{ $svc.smtp.user | quote }}
SLUIS_SMTP_STARTTLS: {{ $svc.smtp.starttls | quote }}
SLUIS_MAIL_FROM: {{ required "services.notify.mailFrom is required: the From: address of notification e-mails" $svc.mailFrom | quote }}
SLUIS_PORTAL_URL: {{ include "sluis.portalUrl" $root | quote }}
SLUIS_NOTIFY_CLAIM_SECONDS: {{ $svc.claimSeconds | quote }}
SLUIS_NOTIFY_REGION_ADMIN_EMAIL: {{ $values.region.adminEmail | quote }}
SLUIS_WEBHOOK_ALLOW_NETWORKS: {{ join "," $svc.webhookAllowNetworks | quote }}
{{- end }}
{{- end }}

{{/*
Federation with peer regions (issue 19): match's peer-facing mTLS server and its peers, from
federation.* (checked in sluis.federationValidate). Lists are "region=..." pairs.
*/}}
{{- define "sluis.federationEnv" -}}
{{- $fed := .Values.federation }}
{{- $peers := list }}
{{- $pins := list }}
{{- $share := list }}
{{- range $peer := $fed.peers }}
{{- $peers = append $peers (printf "%s=%s" $peer.region $peer.endpoint) }}
{{- $pins = append $pins (printf "%s=%s" $peer.region (join "|" $peer.pins | lower)) }}
{{- with $peer.shareOrganisations }}
{{- $share = append $share (printf "%s=%s" $peer.region (join "|" .)) }}
{{- end }}
{{- end }}
SLUIS_FEDERATION_LISTEN: {{ printf "0.0.0.0:%v" $fed.port | quote }}
SLUIS_FEDERATION_TLS_DIR: {{ include "sluis.federationDir" . | quote }}
SLUIS_FEDERATION_PEERS: {{ join "," $peers | quote }}
SLUIS_FEDERATION_PINS: {{ join "," $pins | quote }}
SLUIS_FEDERATION_SHARE: {{ join "," $share | quote }}
{{- end }}

{{- define "sluis.federationDir" -}}/etc/sluis/federation{{- end }}

{{/* The TCP port of a peer's endpoint ("host:port"). */}}
{{- define "sluis.endpointPort" -}}
{{- splitList ":" (toString .) | last }}
{{- end }}

{{/*
Refuse a federation the services could not run, or that would open more than the agreement:
a peer must be complete, a known peer region with identity's translation key, and pinned.
*/}}
{{- define "sluis.federationValidate" -}}
{{- $values := .Values }}
{{- $fed := $values.federation }}
{{- if $fed.enabled }}
{{- if not $fed.tlsSecret }}
{{- fail "federation.tlsSecret is required when federation.enabled: the Secret with this region's certificate and key (tls.crt, tls.key) and the CA bundle of the peers (ca.crt)" }}
{{- end }}
{{- if not $fed.peers }}
{{- fail "federation.peers is empty while federation.enabled: list the peer regions of the agreement (region, endpoint, cidr, pins)" }}
{{- end }}
{{- $seen := list }}
{{- range $i, $peer := $fed.peers }}
{{- $what := printf "federation.peers[%d]" $i }}
{{- if not $peer.region }}
{{- fail (printf "%s.region is required: the peer's region id" $what) }}
{{- end }}
{{- $what = printf "federation.peers[%d] (%s)" $i $peer.region }}
{{- if eq $peer.region $values.region.id }}
{{- fail (printf "%s: a region cannot be its own peer (region.id is %s)" $what $values.region.id) }}
{{- end }}
{{- if has $peer.region $seen }}
{{- fail (printf "%s: the region is listed twice" $what) }}
{{- end }}
{{- $seen = append $seen $peer.region }}
{{- if not (has $peer.region $values.region.peerRegions) }}
{{- fail (printf "%s: %s is not in region.peerRegions (identity must be allowed to translate pseudonyms with it)" $what $peer.region) }}
{{- end }}
{{- if not (hasKey ($values.services.identity.peerKeys | default dict) $peer.region) }}
{{- fail (printf "%s: services.identity.peerKeys.%s is missing (the peer's public exchange key, sent under the agreement)" $what $peer.region) }}
{{- end }}
{{- if not $peer.endpoint }}
{{- fail (printf "%s.endpoint is required: the peer's federation address, host:port" $what) }}
{{- end }}
{{- if not (regexMatch `^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):[0-9]{1,5}$` $peer.endpoint) }}
{{- fail (printf "%s.endpoint must be host:port (got %s)" $what $peer.endpoint) }}
{{- end }}
{{- if not $peer.cidr }}
{{- fail (printf "%s.cidr is required: the network the peer calls from and listens in (the NetworkPolicy allows only it)" $what) }}
{{- end }}
{{- if not (regexMatch `^([0-9]{1,3}(\.[0-9]{1,3}){3}/([1-9]|[12][0-9]|3[0-2])|[0-9a-fA-F:]+/([1-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))$` $peer.cidr) }}
{{- fail (printf "%s.cidr must be a network like 203.0.113.40/29 (got %s; /0 is refused)" $what $peer.cidr) }}
{{- end }}
{{- if not $peer.pins }}
{{- fail (printf "%s.pins is required: the SHA-256 of the peer's certificate (DER), 64 hex characters; two during a rollover" $what) }}
{{- end }}
{{- range $pin := $peer.pins }}
{{- if not (regexMatch "^[0-9a-fA-F]{64}$" (toString $pin)) }}
{{- fail (printf "%s.pins: %v is not a SHA-256 (64 hex characters)" $what $pin) }}
{{- end }}
{{- end }}
{{- $share := $peer.shareOrganisations | default list }}
{{- if and (has "*" $share) (gt (len $share) 1) }}
{{- fail (printf "%s.shareOrganisations: \"*\" (every organisation) stands alone" $what) }}
{{- end }}
{{- range $org := $share }}
{{- if not (or (eq $org "*") (regexMatch "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$" (toString $org))) }}
{{- fail (printf "%s.shareOrganisations: %v is not an organisation id (uuid) or \"*\"" $what $org) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The portal link in e-mails: services.notify.portalUrl, else https://<ingress.host>. */}}
{{- define "sluis.portalUrl" -}}
{{- if .Values.services.notify.portalUrl }}
{{- .Values.services.notify.portalUrl }}
{{- else }}
{{- printf "https://%s" (required "services.notify.portalUrl or ingress.host is required: the portal link in e-mails" .Values.ingress.host) }}
{{- end }}
{{- end }}

{{/* One env entry read from a Secret. */}}
{{- define "sluis.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key }}
{{- end }}

{{/*
Secret environment of one service: every secret arrives via secretKeyRef, never as a value.
*/}}
{{- define "sluis.secretEnvs" -}}
{{- $values := .root.Values }}
{{- $svc := index $values.services .name }}
{{- $db := include "sluis.databaseSecret" . | fromYaml }}
{{ include "sluis.secretEnv" (dict "env" "SLUIS_DATABASE_URL" "name" $db.name "key" $db.key) }}
{{- if include "sluis.usesRedis" . }}
{{ include "sluis.secretEnv" (dict "env" "SLUIS_REDIS_URL" "name" (required "redis.existingSecret is required: the Secret holding the Redis URL" $values.redis.existingSecret) "key" $values.redis.key) }}
{{- end }}
{{- if and (has .name (list "signal" "match" "notify" "gateway")) $values.processingLog.existingSecret }}
{{ include "sluis.secretEnv" (dict "env" "SLUIS_PROCESSING_LOG_KEY" "name" $values.processingLog.existingSecret "key" $values.processingLog.key) }}
{{- end }}
{{- if eq .name "identity" }}
{{- if and $svc.brp.url $svc.brp.apiKey.existingSecret }}
{{ include "sluis.secretEnv" (dict "env" "SLUIS_BRP_API_KEY" "name" $svc.brp.apiKey.existingSecret "key" $svc.brp.apiKey.key) }}
{{- end }}
{{- if $svc.exchangeKey.existingSecret }}
{{ include "sluis.secretEnv" (dict "env" "SLUIS_IDENTITY_EXCHANGE_KEY" "name" $svc.exchangeKey.existingSecret "key" $svc.exchangeKey.key) }}
{{- end }}
{{- end }}
{{- if eq .name "gateway" }}
{{ include "sluis.secretEnv" (dict "env" "SLUIS_SECRET_KEY" "name" (required "services.gateway.secretKey.existingSecret is required: the Secret holding the session signing key" $svc.secretKey.existingSecret) "key" $svc.secretKey.key) }}
{{- end }}
{{- if and (eq .name "notify") $svc.smtp.password.existingSecret }}
{{ include "sluis.secretEnv" (dict "env" "SLUIS_SMTP_PASSWORD" "name" $svc.smtp.password.existingSecret "key" $svc.smtp.password.key) }}
{{- end }}
{{- if and (eq .name "notify") $svc.secretKey.existingSecret }}
{{ include "sluis.secretEnv" (dict "env" "SLUIS_NOTIFY_SECRET_KEY" "name" $svc.secretKey.existingSecret "key" $svc.secretKey.key) }}
{{- end }}
{{- end }}

{{/* The pod-level settings shared by service pods and migration pods. */}}
{{- define "sluis.podSpecCommon" -}}
serviceAccountName: {{ include "sluis.serviceAccountName" . }}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.image.pullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/* The ServiceAccount of every pod: made by the chart, or an existing one. */}}
{{- define "sluis.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "sluis.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/* The KEK Secret of identity, mounted as files: one per KEK version ("1", "2", ...). */}}
{{- define "sluis.kekVolume" -}}
- name: kek
  secret:
    secretName: {{ required "services.identity.kek.existingSecret is required: the Secret holding the key-encryption key versions" .Values.services.identity.kek.existingSecret }}
    defaultMode: 0400
{{- end }}

{{/* The writable /tmp: the root filesystem is read-only. */}}
{{- define "sluis.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end }}

{{- define "sluis.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/* Refuse combinations the schema cannot express. */}}
{{- define "sluis.validate" -}}
{{- $stopping := addf .Values.shutdownGraceSeconds .Values.drainSeconds .Values.preStopSeconds }}
{{- if ge (float64 $stopping) (float64 .Values.terminationGracePeriodSeconds) }}
{{- fail (printf "preStopSeconds + drainSeconds + shutdownGraceSeconds (%v) must be shorter than terminationGracePeriodSeconds (%v): the pod would be killed while draining" $stopping .Values.terminationGracePeriodSeconds) }}
{{- end }}
{{- if and .Values.cnpg.enabled .Values.networkPolicy.enabled (not .Values.networkPolicy.egress.kubeApi.to) }}
{{- fail "networkPolicy.egress.kubeApi.to is empty: the CloudNativePG instance pods must reach the Kubernetes API (list the API server addresses)" }}
{{- end }}
{{- if and .Values.mtls.certManager.enabled (not .Values.mtls.certManager.issuerRef.name) }}
{{- fail "mtls.certManager.issuerRef.name is required: the cert-manager CA Issuer that signs the services' certificates" }}
{{- end }}
{{- range $name, $svc := .Values.services }}
{{- with $svc.autoscaling }}
{{- if and .enabled (gt (int .minReplicas) (int .maxReplicas)) }}
{{- fail (printf "services.%s.autoscaling: minReplicas (%v) is larger than maxReplicas (%v)" $name .minReplicas .maxReplicas) }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.services.identity.brp }}
{{- if and .url (not (hasPrefix "https://" .url)) }}
{{- fail (printf "services.identity.brp.url must be https:// (got %s): the BRP link carries BSNs" .url) }}
{{- end }}
{{- if and .clientCertificate.existingSecret (not .url) }}
{{- fail "services.identity.brp.clientCertificate is set but services.identity.brp.url is empty: set the BRP URL or drop the certificate" }}
{{- end }}
{{- end }}
{{- if has .Values.region.id .Values.region.peerRegions }}
{{- fail (printf "region.peerRegions must not contain the region itself (%s)" .Values.region.id) }}
{{- end }}
{{- if and (eq .Values.environment "production") (not .Values.processingLog.existingSecret) }}
{{- fail "processingLog.existingSecret is required in production: the Secret holding SLUIS_PROCESSING_LOG_KEY (base64 of 32 random bytes; docs/operations.md, \"Secrets\"); the services that keep a processing log refuse to start without it. Only a test installation sets environment: development (a public development key)" }}
{{- end }}
{{- include "sluis.federationValidate" . }}
{{- end }}

{{/*
An egress rule to a list of NetworkPolicyPeers on one TCP port. An empty peer list would
mean "anywhere", so it is refused with the value to set: .what names it.
*/}}
{{- define "sluis.egressTo" -}}
{{- if not .to }}
{{- fail (printf "%s is empty: list where this traffic may go (ipBlock, namespaceSelector or podSelector); an empty list would allow every destination" .what) }}
{{- end }}
- to:
    {{- toYaml .to | nindent 4 }}
  ports:
    - protocol: TCP
      port: {{ .port }}
{{- end }}

{{/* Egress to the cluster DNS, UDP and TCP 53. */}}
{{- define "sluis.egressDns" -}}
{{- if not .Values.networkPolicy.egress.dns.to }}
{{- fail "networkPolicy.egress.dns.to is empty: list where the cluster DNS runs" }}
{{- end }}
- to:
    {{- toYaml .Values.networkPolicy.egress.dns.to | nindent 4 }}
  ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
{{- end }}

{{/* Egress to one service's own PostgreSQL: the CloudNativePG pods, or the configured peers. */}}
{{- define "sluis.egressDatabase" -}}
{{- $values := .root.Values }}
{{- if $values.cnpg.enabled }}
- to:
    - podSelector:
        matchLabels:
          cnpg.io/cluster: {{ printf "%s-db" (include "sluis.serviceName" .) }}
  ports:
    - protocol: TCP
      port: 5432
{{- else }}
{{- include "sluis.egressTo" (dict "to" $values.networkPolicy.egress.database.to "port" $values.networkPolicy.egress.database.port "what" "networkPolicy.egress.database.to (cnpg.enabled is false)") }}
{{- end }}
{{- end }}
