{{/*
Security contexts. Defaults are non-root, read-only root filesystem, no capabilities, seccomp RuntimeDefault;
values given by the user are merged over them (a key set in values wins).
Usage: include "kinora-common.security.pod" .Values.podSecurityContext
       include "kinora-common.security.container" .Values.containerSecurityContext
*/}}
{{- define "kinora-common.security.pod" -}}
{{- $defaults := dict "runAsNonRoot" true "runAsUser" 1000 "runAsGroup" 1000 "fsGroup" 1000 "seccompProfile" (dict "type" "RuntimeDefault") -}}
{{- toYaml (mergeOverwrite $defaults (deepCopy (default (dict) .))) -}}
{{- end -}}

{{- define "kinora-common.security.container" -}}
{{- $defaults := dict "runAsNonRoot" true "allowPrivilegeEscalation" false "readOnlyRootFilesystem" true "privileged" false "capabilities" (dict "drop" (list "ALL")) "seccompProfile" (dict "type" "RuntimeDefault") -}}
{{- toYaml (mergeOverwrite $defaults (deepCopy (default (dict) .))) -}}
{{- end -}}
