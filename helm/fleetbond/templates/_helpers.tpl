{{/*
Name helpers, in the usual Helm shape.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "fleetbond.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release-qualified name: fullnameOverride, or RELEASE-NAME (just RELEASE when the release
name already contains the chart name). Kept to 63 characters, the limit of a DNS label.
*/}}
{{- define "fleetbond.fullname" -}}
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

{{/* chart-version, for the helm.sh/chart label. */}}
{{- define "fleetbond.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "fleetbond.labels" -}}
helm.sh/chart: {{ include "fleetbond.chart" . }}
{{ include "fleetbond.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: fleetbond
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that select the release's pods (never change them after install). */}}
{{- define "fleetbond.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fleetbond.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Names of the parts. */}}
{{- define "fleetbond.controller.fullname" -}}
{{- printf "%s-controller" (include "fleetbond.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "fleetbond.node.fullname" -}}
{{- printf "%s-node" (include "fleetbond.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "fleetbond.settings.fullname" -}}
{{- printf "%s-settings" (include "fleetbond.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The controller's gRPC address as nodes and the CLI inside the cluster dial it. */}}
{{- define "fleetbond.controller.address" -}}
{{- if .Values.node.controllerAddress }}
{{- .Values.node.controllerAddress }}
{{- else }}
{{- printf "%s.%s.svc:%d" (include "fleetbond.controller.fullname" .) .Release.Namespace (int .Values.controller.grpcPort) }}
{{- end }}
{{- end }}
