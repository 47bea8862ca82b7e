package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubernetes/pkg/api/v1/resource"
	cmvolume "k8s.io/kubernetes/pkg/volume/configmap"
	secretvolume "k8s.io/kubernetes/pkg/volume/secret"
	volumeutil "k8s.io/kubernetes/pkg/volume/util"
)

// cachedToken is a projected service-account token and when to ask for a new one (at 80 % of its
// lifetime, as a kubelet does).
type cachedToken struct {
	token     string
	refreshAt time.Time
}

// syncVolumes writes every volume of the pod into DIR/pods/<pod>/volumes/<name> with the
// kubelet's atomic writer (a ..data symlink swap), so bind-mounted volumes follow updates of
// their Secrets and ConfigMaps.
func (w *podWorker) syncVolumes() error {
	pod := w.current()
	for _, vol := range pod.Spec.Volumes {
		dir := w.volumeDir(vol.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if vol.EmptyDir != nil {
			continue
		}
		payload, err := w.volumePayload(pod, vol)
		if err != nil {
			return fmt.Errorf("MountVolume.SetUp failed for volume %q: %v", vol.Name, err)
		}
		writer, err := volumeutil.NewAtomicWriter(dir, "volume "+vol.Name)
		if err != nil {
			return err
		}
		if err := writer.Write(payload, nil); err != nil {
			return fmt.Errorf("MountVolume.SetUp failed for volume %q: %v", vol.Name, err)
		}
	}
	return nil
}

// syncVolumesReport refreshes volumes of a running pod; failures become Warning events only (the
// containers keep the last content, as with a kubelet).
func (w *podWorker) syncVolumesReport() {
	if err := w.syncVolumes(); err != nil {
		w.a.recorder.Eventf(w.current(), v1.EventTypeWarning, "FailedMount", "%v", err)
	}
}

func mode(p *int32, def int32) *int32 {
	if p != nil {
		return p
	}
	return &def
}

func (w *podWorker) volumePayload(pod *v1.Pod, vol v1.Volume) (map[string]volumeutil.FileProjection, error) {
	src := vol.VolumeSource
	switch {
	case src.Secret != nil:
		optional := src.Secret.Optional != nil && *src.Secret.Optional
		s, err := w.a.secret(pod.Namespace, src.Secret.SecretName)
		if apierrors.IsNotFound(err) && optional {
			s, err = &v1.Secret{}, nil
		}
		if err != nil {
			return nil, err
		}
		return secretvolume.MakePayload(src.Secret.Items, s, mode(src.Secret.DefaultMode, v1.SecretVolumeSourceDefaultMode), optional)
	case src.ConfigMap != nil:
		optional := src.ConfigMap.Optional != nil && *src.ConfigMap.Optional
		cm, err := w.a.configMap(pod.Namespace, src.ConfigMap.Name)
		if apierrors.IsNotFound(err) && optional {
			cm, err = &v1.ConfigMap{}, nil
		}
		if err != nil {
			return nil, err
		}
		return cmvolume.MakePayload(src.ConfigMap.Items, cm, mode(src.ConfigMap.DefaultMode, v1.ConfigMapVolumeSourceDefaultMode), optional)
	case src.DownwardAPI != nil:
		return w.downwardPayload(pod, src.DownwardAPI.Items, *mode(src.DownwardAPI.DefaultMode, v1.DownwardAPIVolumeSourceDefaultMode))
	case src.Projected != nil:
		return w.projectedPayload(pod, vol.Name, src.Projected)
	}
	return nil, fmt.Errorf("this volume type is not supported by the node agent (supported: secret, configMap, projected, downwardAPI, emptyDir)")
}

func (w *podWorker) downwardPayload(pod *v1.Pod, items []v1.DownwardAPIVolumeFile, defMode int32) (map[string]volumeutil.FileProjection, error) {
	out := map[string]volumeutil.FileProjection{}
	for _, it := range items {
		var data string
		var err error
		switch {
		case it.FieldRef != nil:
			data, err = w.fieldValue(pod, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			data, err = resource.ExtractResourceValueByContainerNameAndNodeAllocatable(it.ResourceFieldRef, pod, it.ResourceFieldRef.ContainerName, nodeCapacity)
		}
		if err != nil {
			return nil, err
		}
		out[filepath.Clean(it.Path)] = volumeutil.FileProjection{Data: []byte(data), Mode: *mode(it.Mode, defMode)}
	}
	return out, nil
}

func (w *podWorker) projectedPayload(pod *v1.Pod, volName string, p *v1.ProjectedVolumeSource) (map[string]volumeutil.FileProjection, error) {
	defMode := *mode(p.DefaultMode, v1.ProjectedVolumeSourceDefaultMode)
	out := map[string]volumeutil.FileProjection{}
	merge := func(m map[string]volumeutil.FileProjection) {
		for k, v := range m {
			out[k] = v
		}
	}
	for _, s := range p.Sources {
		switch {
		case s.Secret != nil:
			optional := s.Secret.Optional != nil && *s.Secret.Optional
			sec, err := w.a.secret(pod.Namespace, s.Secret.Name)
			if apierrors.IsNotFound(err) && optional {
				continue
			}
			if err != nil {
				return nil, err
			}
			m, err := secretvolume.MakePayload(s.Secret.Items, sec, &defMode, optional)
			if err != nil {
				return nil, err
			}
			merge(m)
		case s.ConfigMap != nil:
			optional := s.ConfigMap.Optional != nil && *s.ConfigMap.Optional
			cm, err := w.a.configMap(pod.Namespace, s.ConfigMap.Name)
			if apierrors.IsNotFound(err) && optional {
				continue
			}
			if err != nil {
				return nil, err
			}
			m, err := cmvolume.MakePayload(s.ConfigMap.Items, cm, &defMode, optional)
			if err != nil {
				return nil, err
			}
			merge(m)
		case s.DownwardAPI != nil:
			m, err := w.downwardPayload(pod, s.DownwardAPI.Items, defMode)
			if err != nil {
				return nil, err
			}
			merge(m)
		case s.ServiceAccountToken != nil:
			tok, err := w.serviceAccountToken(pod, volName, s.ServiceAccountToken)
			if err != nil {
				return nil, err
			}
			out[filepath.Clean(s.ServiceAccountToken.Path)] = volumeutil.FileProjection{Data: []byte(tok), Mode: defMode}
		default:
			return nil, fmt.Errorf("projected source not supported by the node agent (supported: secret, configMap, downwardAPI, serviceAccountToken)")
		}
	}
	return out, nil
}

// serviceAccountToken asks the TokenRequest API for a token bound to this pod; an empty audience
// means the API server's own.
func (w *podWorker) serviceAccountToken(pod *v1.Pod, volName string, src *v1.ServiceAccountTokenProjection) (string, error) {
	key := volName + "/" + src.Path
	w.mu.Lock()
	cached, ok := w.tokens[key]
	w.mu.Unlock()
	if ok && time.Now().Before(cached.refreshAt) {
		return cached.token, nil
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: src.ExpirationSeconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	ctx, cancel := context.WithTimeout(w.a.ctx, 10*time.Second)
	defer cancel()
	issued := time.Now()
	resp, err := w.a.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token for service account %q: %w", sa, err)
	}
	life := resp.Status.ExpirationTimestamp.Sub(issued)
	refresh := issued.Add(life * 8 / 10)
	if d := issued.Add(24 * time.Hour); refresh.After(d) {
		refresh = d
	}
	w.mu.Lock()
	w.tokens[key] = cachedToken{token: resp.Status.Token, refreshAt: refresh}
	w.mu.Unlock()
	return resp.Status.Token, nil
}
