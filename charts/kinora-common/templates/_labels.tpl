{{/*
Labels. Selectors are ONLY app.kubernetes.io/name + app.kubernetes.io/instance: they are immutable on
Deployments, so nothing that changes between versions (chart version, app version) may ever be part of them.
Components are told apart by app.kubernetes.io/name (<name>-<component>).

Usage: include "kinora-common.labels.standard" (dict "context" $ "component" "gateway")
       include "kinora-common.labels.matchLabels" (dict "context" $ "component" "gateway")
Without "component" the labels describe the release as a whole (name = the chart's name).
*/}}

{{- define "kinora-common.labels.nameValue" -}}
{{- if .component -}}
{{- include "kinora-common.names.componentName" . -}}
{{- else -}}
{{- include "kinora-common.names.name" .context -}}
{{- end -}}
{{- end -}}

{{- define "kinora-common.labels.standard" -}}
app.kubernetes.io/name: {{ include "kinora-common.labels.nameValue" . | quote }}
app.kubernetes.io/instance: {{ .context.Release.Name | quote }}
app.kubernetes.io/managed-by: {{ .context.Release.Service | quote }}
app.kubernetes.io/part-of: {{ include "kinora-common.names.name" .context | quote }}
{{- with .context.Chart.AppVersion }}
app.kubernetes.io/version: {{ . | quote }}
{{- end }}
{{- with .component }}
app.kubernetes.io/component: {{ . | quote }}
{{- end }}
helm.sh/chart: {{ include "kinora-common.names.chart" .context | quote }}
{{- with .context.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "kinora-common.labels.matchLabels" -}}
app.kubernetes.io/name: {{ include "kinora-common.labels.nameValue" . | quote }}
app.kubernetes.io/instance: {{ .context.Release.Name | quote }}
{{- end -}}
