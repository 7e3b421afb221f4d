{{/*
Names. Every helper takes the root context (`.`) or a dict with `context` (the root context) and, where a
component is meant, `component` (e.g. "gateway").
*/}}

{{/* The chart's name, or .Values.nameOverride. */}}
{{- define "kinora-common.names.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name: .Values.fullnameOverride, else <release> (when it contains the chart name) or <release>-<chart>. */}}
{{- define "kinora-common.names.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<component>: the name of a component's objects (Deployment, Service, ServiceAccount, ...). */}}
{{- define "kinora-common.names.component" -}}
{{- printf "%s-%s" (include "kinora-common.names.fullname" .context) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The value of app.kubernetes.io/name of a component: <name>-<component> (selectors tell components apart by it). */}}
{{- define "kinora-common.names.componentName" -}}
{{- printf "%s-%s" (include "kinora-common.names.name" .context) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* chart label value: <chart>-<version>. */}}
{{- define "kinora-common.names.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The namespace of the release, or .Values.namespaceOverride. */}}
{{- define "kinora-common.names.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}
