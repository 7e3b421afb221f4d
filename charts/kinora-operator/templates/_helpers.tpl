{{/* The operator's component context (names and labels come from kinora-common). */}}
{{- define "kinora-operator.ctx" -}}
{{- dict "context" . "component" "operator" | toJson -}}
{{- end -}}

{{- define "kinora-operator.namespace" -}}
{{- include "kinora-common.names.namespace" . -}}
{{- end -}}

{{- define "kinora-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kinora-common.names.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}
