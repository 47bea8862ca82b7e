{{/* Names. Every object name derives from the release so several releases can coexist. */}}
{{- define "sluice.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sluice.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "sluice.operator.name" -}}{{ include "sluice.fullname" . }}-operator{{- end -}}
{{- define "sluice.webhook.name" -}}{{ include "sluice.fullname" . }}-webhook{{- end -}}
{{- define "sluice.dataplane.name" -}}{{ include "sluice.fullname" . }}-dataplane{{- end -}}
{{/* Headless Service over the data-plane pods' config API: the operator finds replicas through its EndpointSlices. */}}
{{- define "sluice.dataplane.internalName" -}}{{ include "sluice.fullname" . }}-dataplane-internal{{- end -}}
{{- define "sluice.webhook.certSecret" -}}{{ include "sluice.fullname" . }}-webhook-tls{{- end -}}
{{- define "sluice.webhook.configName" -}}{{ include "sluice.fullname" . }}-admission{{- end -}}
{{- define "sluice.leaseName" -}}{{ default (include "sluice.operator.name" .) .Values.operator.leaderElection.leaseName }}{{- end -}}

{{- define "sluice.configTokenSecret" -}}
{{- default (printf "%s-config-token" (include "sluice.fullname" .)) .Values.configApi.existingSecret -}}
{{- end -}}

{{- define "sluice.image" -}}
{{- printf "%s:%s" .Values.image.repository (toString .Values.image.tag) -}}
{{- end -}}

{{/* Where the webhook applies: namespaces with the given labels, never kube-system nor Sluice's own (the webhook must not lock out its own pods). */}}
{{- define "sluice.webhook.namespaceSelector" -}}
{{- $never := dict "key" "kubernetes.io/metadata.name" "operator" "NotIn" "values" (list "kube-system" .Release.Namespace | uniq) -}}
{{- $out := dict "matchExpressions" (list $never) -}}
{{- with .Values.webhook.namespaceLabels }}{{ $_ := set $out "matchLabels" . }}{{ end -}}
{{ toYaml $out }}
{{- end -}}

{{/* Class names the webhook is sent: Sluice's, and ingress-nginx's in ingress-nginx mode. */}}
{{- define "sluice.webhook.classNames" -}}
{{- $names := list .Values.ingressClass.name -}}
{{- if .Values.compat.ingressNginx.enabled -}}
{{- $names = concat $names .Values.compat.ingressNginx.classNames | uniq -}}
{{- end -}}
{{- toJson $names -}}
{{- end -}}

{{/* The ingress-nginx mode's environment, shared by the operator and the webhook. */}}
{{- define "sluice.ingressNginxEnv" -}}
{{- if .Values.compat.ingressNginx.enabled -}}
- name: SLUICE_INGRESS_NGINX_COMPAT
  value: "true"
- name: SLUICE_INGRESS_NGINX_CLASS_NAMES
  value: {{ join "," .Values.compat.ingressNginx.classNames | quote }}
- name: SLUICE_INGRESS_NGINX_SNIPPETS
  value: {{ .Values.compat.ingressNginx.snippets | quote }}
{{- end -}}
{{- end -}}

{{/* CEL: is this Ingress possibly Sluice's? Same expression as ingressClassCondition() in webhooks/manifests.ts. */}}
{{- define "sluice.webhook.classCondition" -}}
{{- $list := include "sluice.webhook.classNames" . | replace "," ", " -}}
{{- $ann := "\"kubernetes.io/ingress.class\"" -}}
{{- printf "has(object.spec.ingressClassName) && object.spec.ingressClassName != \"\" ? object.spec.ingressClassName in %s : (has(object.metadata.annotations) && %s in object.metadata.annotations ? object.metadata.annotations[%s] in %s : true)" $list $ann $ann $list -}}
{{- end -}}

{{/* Labels. */}}
{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sluice.labels" -}}
{{ include "sluice.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sluice
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Per-component labels: call with (dict "root" $ "component" "operator"). */}}
{{- define "sluice.componentLabels" -}}
{{ include "sluice.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "sluice.componentSelector" -}}
{{ include "sluice.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Soft spreading of replicas over nodes unless the user gave an affinity. */}}
{{- define "sluice.affinity" -}}
{{- if .values.affinity -}}
{{ toYaml .values.affinity }}
{{- else -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "sluice.componentSelector" (dict "root" .root "component" .component) | nindent 12 }}
{{- end -}}
{{- end -}}

{{/* Pod-level scheduling and security shared by the three Deployments. */}}
{{- define "sluice.podCommon" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
enableServiceLinks: false
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
affinity:
  {{- include "sluice.affinity" . | nindent 2 }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/* Cross-field checks the schema cannot express, each with a message that says what to change. */}}
{{- define "sluice.validate" -}}
{{- $svc := .Values.dataplane.service -}}
{{- if and (ne $svc.type "NodePort") (or $svc.nodePorts.http $svc.nodePorts.https) -}}
{{- fail (printf "dataplane.service.nodePorts is set but dataplane.service.type is %q: nodePorts only apply to type NodePort" $svc.type) -}}
{{- end -}}
{{- if and (eq $svc.type "ClusterIP") (ne $svc.externalTrafficPolicy "Cluster") -}}
{{- fail "dataplane.service.externalTrafficPolicy only applies to LoadBalancer and NodePort Services; leave it at Cluster for type ClusterIP" -}}
{{- end -}}
{{- $as := .Values.dataplane.autoscaling -}}
{{- if and $as.enabled (gt (int $as.minReplicas) (int $as.maxReplicas)) -}}
{{- fail (printf "dataplane.autoscaling.minReplicas (%d) must not exceed maxReplicas (%d)" (int $as.minReplicas) (int $as.maxReplicas)) -}}
{{- end -}}
{{- if ge (int .Values.dataplane.drain.preStopSeconds) (int .Values.dataplane.terminationGracePeriodSeconds) -}}
{{- fail (printf "dataplane.terminationGracePeriodSeconds (%d) must be longer than dataplane.drain.preStopSeconds (%d), or in-flight requests are cut off" (int .Values.dataplane.terminationGracePeriodSeconds) (int .Values.dataplane.drain.preStopSeconds)) -}}
{{- end -}}
{{- if and .Values.ingressClass.default (not .Values.ingressClass.create) -}}
{{- fail "ingressClass.default needs ingressClass.create: the chart can only mark the IngressClass it creates as default" -}}
{{- end -}}
{{- end -}}
