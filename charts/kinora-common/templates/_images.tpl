{{/*
An image reference from {registry, repository, tag, digest}; the tag defaults to the chart's appVersion.
Usage: include "kinora-common.images.image" (dict "image" .Values.image "context" $)
*/}}
{{- define "kinora-common.images.image" -}}
{{- $repo := .image.repository -}}
{{- if .image.registry -}}{{- $repo = printf "%s/%s" .image.registry .image.repository -}}{{- end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repo .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (toString (default .context.Chart.AppVersion .image.tag)) -}}
{{- end -}}
{{- end -}}
