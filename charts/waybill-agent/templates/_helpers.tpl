{{- define "waybill-agent.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "waybill-agent.selectorLabels" -}}
app.kubernetes.io/name: waybill-agent
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "waybill-agent.labels" -}}
{{ include "waybill-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
waybill.dev/cluster: {{ .Values.clusterName | quote }}
{{- end -}}

{{- define "waybill-agent.secretName" -}}
{{- default (printf "%s-hub-kubeconfig" (include "waybill-agent.fullname" .)) .Values.existingHubKubeconfigSecret -}}
{{- end -}}

{{- define "waybill-agent.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}
