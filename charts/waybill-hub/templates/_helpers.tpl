{{- define "waybill-hub.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "waybill-hub.serviceAccountName" -}}
{{- default (include "waybill-hub.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "waybill-hub.selectorLabels" -}}
app.kubernetes.io/name: waybill-hub
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "waybill-hub.labels" -}}
{{ include "waybill-hub.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "waybill-hub.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}
