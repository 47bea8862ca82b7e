package main

import (
	"fmt"
	"strconv"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/kubernetes/pkg/api/v1/resource"
	"k8s.io/kubernetes/pkg/fieldpath"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// envList keeps first-definition order and last-definition value, like a container runtime.
type envList struct {
	order []string
	vals  map[string]string
}

func (e *envList) set(k, v string) {
	if _, ok := e.vals[k]; !ok {
		e.order = append(e.order, k)
	}
	e.vals[k] = v
}

func (e *envList) list() []string {
	out := make([]string, 0, len(e.order))
	for _, k := range e.order {
		out = append(out, k+"="+e.vals[k])
	}
	return out
}

// serviceEnv is what in-cluster clients look for: the API server at the bridge address.
func (a *agent) serviceEnv() map[string]string {
	host, port := a.apiHost, strconv.Itoa(a.apiPort)
	return map[string]string{
		"KUBERNETES_SERVICE_HOST":                host,
		"KUBERNETES_SERVICE_PORT":                port,
		"KUBERNETES_SERVICE_PORT_HTTPS":          port,
		"KUBERNETES_PORT":                        "tcp://" + host + ":" + port,
		"KUBERNETES_PORT_" + port + "_TCP":       "tcp://" + host + ":" + port,
		"KUBERNETES_PORT_" + port + "_TCP_PROTO": "tcp",
		"KUBERNETES_PORT_" + port + "_TCP_PORT":  port,
		"KUBERNETES_PORT_" + port + "_TCP_ADDR":  host,
	}
}

// containerEnv builds the process environment: defaults, the image table's env, the service
// variables, then envFrom and env from the pod spec (with $(VAR) expansion as a kubelet does).
func (w *podWorker) containerEnv(pod *v1.Pod, c *v1.Container, entry imageEntry) ([]string, map[string]string, error) {
	e := &envList{vals: map[string]string{}}
	e.set("PATH", defaultPath)
	e.set("HOSTNAME", pod.Name)
	e.set("HOME", "/root")
	for _, k := range sortedKeys(entry.Env) {
		e.set(k, entry.Env[k])
	}
	svc := w.a.serviceEnv()
	for _, k := range sortedKeys(svc) {
		e.set(k, svc[k])
	}
	for _, from := range c.EnvFrom {
		var data map[string]string
		switch {
		case from.ConfigMapRef != nil:
			cm, err := w.a.configMap(pod.Namespace, from.ConfigMapRef.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional {
					continue
				}
				return nil, nil, fmt.Errorf("configmap %q: %w", from.ConfigMapRef.Name, err)
			}
			data = cm.Data
		case from.SecretRef != nil:
			s, err := w.a.secret(pod.Namespace, from.SecretRef.Name)
			if err != nil {
				if apierrors.IsNotFound(err) && from.SecretRef.Optional != nil && *from.SecretRef.Optional {
					continue
				}
				return nil, nil, fmt.Errorf("secret %q: %w", from.SecretRef.Name, err)
			}
			data = map[string]string{}
			for k, v := range s.Data {
				data[k] = string(v)
			}
		}
		for _, k := range sortedKeys(data) {
			name := from.Prefix + k
			// Keys that are not valid variable names are skipped, as a kubelet does.
			if len(validation.IsEnvVarName(name)) == 0 {
				e.set(name, data[k])
			}
		}
	}
	for _, v := range c.Env {
		if v.ValueFrom == nil {
			e.set(v.Name, expansion.Expand(v.Value, expansion.MappingFuncFor(e.vals)))
			continue
		}
		val, skip, err := w.envValueFrom(pod, c, v.ValueFrom)
		if err != nil {
			return nil, nil, fmt.Errorf("env %s: %w", v.Name, err)
		}
		if !skip {
			e.set(v.Name, val)
		}
	}
	e.set(podMarkerEnv, pod.Namespace+"/"+pod.Name)
	return e.list(), e.vals, nil
}

func (w *podWorker) envValueFrom(pod *v1.Pod, c *v1.Container, from *v1.EnvVarSource) (string, bool, error) {
	optional := func(p *bool) bool { return p != nil && *p }
	switch {
	case from.FieldRef != nil:
		v, err := w.fieldValue(pod, from.FieldRef.FieldPath)
		return v, false, err
	case from.ResourceFieldRef != nil:
		v, err := resource.ExtractResourceValueByContainerNameAndNodeAllocatable(from.ResourceFieldRef, pod, c.Name, nodeCapacity)
		return v, false, err
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		s, err := w.a.secret(pod.Namespace, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional(ref.Optional) {
				return "", true, nil
			}
			return "", false, fmt.Errorf("secret %q: %w", ref.Name, err)
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			if optional(ref.Optional) {
				return "", true, nil
			}
			return "", false, fmt.Errorf("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name)
		}
		return string(v), false, nil
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		cm, err := w.a.configMap(pod.Namespace, ref.Name)
		if err != nil {
			if apierrors.IsNotFound(err) && optional(ref.Optional) {
				return "", true, nil
			}
			return "", false, fmt.Errorf("configmap %q: %w", ref.Name, err)
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if b, ok := cm.BinaryData[ref.Key]; ok {
				return string(b), false, nil
			}
			if optional(ref.Optional) {
				return "", true, nil
			}
			return "", false, fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name)
		}
		return v, false, nil
	}
	return "", false, fmt.Errorf("unsupported valueFrom source")
}

// fieldValue answers the downward API: the pod's fields, with the addresses this node assigned.
func (w *podWorker) fieldValue(pod *v1.Pod, path string) (string, error) {
	switch path {
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return bridgeIP, nil
	case "status.podIP", "status.podIPs":
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.ip == nil {
			return "", nil
		}
		return w.ip.String(), nil
	}
	return fieldpath.ExtractFieldPathAsString(pod, path)
}
