{{/* Names and labels shared by every template. */}}

{{- define "pgbroker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pgbroker.fullname" -}}
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

{{- define "pgbroker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pgbroker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "pgbroker.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "pgbroker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: pgbroker
{{- end -}}

{{- define "pgbroker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "pgbroker.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "pgbroker.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret and key holding BROKER_DATABASE_URL. */}}
{{- define "pgbroker.databaseSecretName" -}}
{{- default (printf "%s-database" (include "pgbroker.fullname" .)) .Values.database.existingSecret -}}
{{- end -}}

{{- define "pgbroker.databaseSecretKey" -}}
{{- if .Values.database.existingSecret -}}
{{- .Values.database.existingSecretKey -}}
{{- else -}}
database-url
{{- end -}}
{{- end -}}

{{- define "pgbroker.databaseEnv" -}}
- name: BROKER_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "pgbroker.databaseSecretName" . }}
      key: {{ include "pgbroker.databaseSecretKey" . }}
{{- end -}}

{{- define "pgbroker.validate" -}}
{{- if and (not .Values.database.url) (not .Values.database.existingSecret) -}}
{{- fail "pgbroker: set database.url or database.existingSecret (the chart does not run the embedded PostgreSQL)" -}}
{{- end -}}
{{- end -}}
