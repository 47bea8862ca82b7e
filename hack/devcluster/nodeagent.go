package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// The node agent plays kubelet for simulated nodes: it registers Node objects, binds unscheduled
// Pods to them, runs each Pod whose image is in the image table as local processes inside a
// network namespace on the sluice0 bridge, and reports status the way a kubelet does.
type agentOpts struct {
	kubeconfig string
	dir        string
	repo       string
	imageTable string
	nodePrefix string
	nodes      int
}

type agent struct {
	opts     agentOpts
	client   kubernetes.Interface
	recorder record.EventRecorder
	images   *imageTable
	ips      *ipPool
	nodes    []string
	nodeSet  map[string]bool
	apiHost  string // what pods get as KUBERNETES_SERVICE_HOST
	apiPort  int

	pods       cache.SharedIndexInformer
	secrets    cache.SharedIndexInformer
	configMaps cache.SharedIndexInformer

	ctx     context.Context // the agent's lifetime; cancelled on SIGTERM/SIGINT
	mu      sync.Mutex
	workers map[types.UID]*podWorker
	binding map[types.UID]bool
	// finished holds pods whose worker is done but whose delete event has not arrived yet, so
	// that late events for them do not start them again.
	finished map[types.UID]bool
	wg       sync.WaitGroup
}

// agentFlags reads flags with SLUICE_* environment fallbacks (flags win).
func agentFlags(args []string) (agentOpts, error) {
	var o agentOpts
	fs := flag.NewFlagSet("node-agent", flag.ContinueOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of an identity allowed to manage nodes and pods (default DIR/kubeconfig)")
	fs.StringVar(&o.dir, "dir", ".devcluster", "state directory (pod logs and volumes go to DIR/pods)")
	fs.StringVar(&o.repo, "repo", envOr("SLUICE_REPO", ""), "repository root: ${REPO} in the image table (env SLUICE_REPO; default: found from the working directory)")
	fs.StringVar(&o.imageTable, "image-table", envOr("SLUICE_IMAGE_TABLE", ""), "image table JSON (env SLUICE_IMAGE_TABLE; default REPO/hack/images.json)")
	fs.StringVar(&o.nodePrefix, "node-name", "devnode", "node names are NAME-1 ... NAME-N")
	fs.IntVar(&o.nodes, "nodes", 1, "number of simulated nodes")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.nodes < 1 || o.nodes > 100 {
		return o, fmt.Errorf("--nodes must be between 1 and 100")
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return o, err
	}
	o.dir = dir
	if o.kubeconfig == "" {
		o.kubeconfig = filepath.Join(o.dir, "kubeconfig")
	}
	if o.repo == "" {
		o.repo = findRepo()
	}
	if o.repo, err = filepath.Abs(o.repo); err != nil {
		return o, err
	}
	if o.imageTable == "" {
		o.imageTable = filepath.Join(o.repo, "hack", "images.json")
	}
	return o, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// findRepo walks up from the working directory, then from the binary, to the directory that
// holds hack/images.json.
func findRepo() string {
	starts := []string{}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, s := range starts {
		for d := s; ; d = filepath.Dir(d) {
			if exists(filepath.Join(d, "hack", "images.json")) {
				return d
			}
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	if len(starts) > 0 {
		return starts[0]
	}
	return "."
}

func nodeAgentCmd(args []string) int {
	o, err := agentFlags(args)
	if err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := runAgent(ctx, o); err != nil {
		return fail(fmt.Errorf("node-agent: %w", err))
	}
	return 0
}

func runAgent(ctx context.Context, o agentOpts) error {
	lock, err := acquireAgentLock()
	if err != nil {
		return err
	}
	defer lock.Close()
	if n := cleanupStale(o.dir); n > 0 {
		logf("removed %d leftover(s) of an earlier run", n)
	}
	// Whatever happens from here on, the network goes away with us.
	defer func() {
		cleanupStale(o.dir)
		logf("stopped; pod network removed")
	}()
	if err := ensureBridge(); err != nil {
		return err
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 200, 400
	cfg.UserAgent = "devcluster-node-agent"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	apiURL, err := url.Parse(cfg.Host)
	if err != nil {
		return err
	}
	apiPort := 443
	if p := apiURL.Port(); p != "" {
		fmt.Sscan(p, &apiPort)
	}

	a := &agent{
		opts:     o,
		client:   client,
		images:   newImageTable(o.imageTable, o.repo),
		ips:      newIPPool(),
		nodeSet:  map[string]bool{},
		apiHost:  bridgeIP,
		apiPort:  apiPort,
		ctx:      ctx,
		workers:  map[types.UID]*podWorker{},
		binding:  map[types.UID]bool{},
		finished: map[types.UID]bool{},
	}
	for i := 1; i <= o.nodes; i++ {
		name := fmt.Sprintf("%s-%d", o.nodePrefix, i)
		a.nodes = append(a.nodes, name)
		a.nodeSet[name] = true
	}
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	a.recorder = broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: "kubelet", Host: a.nodes[0]})

	// Pods reach the API server at the bridge address; it only listens on loopback.
	fwd, err := forwardAPI(net.JoinHostPort(bridgeIP, fmt.Sprint(apiPort)), net.JoinHostPort(apiURL.Hostname(), fmt.Sprint(apiPort)))
	if err != nil {
		return fmt.Errorf("API server forwarder: %w", err)
	}
	defer fwd.Close()

	if err := a.registerNodes(ctx); err != nil {
		return err
	}
	a.wg.Add(1)
	go func() { defer a.wg.Done(); a.heartbeat(ctx) }()

	factory := informers.NewSharedInformerFactory(client, 0)
	a.pods = factory.Core().V1().Pods().Informer()
	a.secrets = factory.Core().V1().Secrets().Informer()
	a.configMaps = factory.Core().V1().ConfigMaps().Informer()
	_, _ = a.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.onPod(obj) },
		UpdateFunc: func(_, obj any) { a.onPod(obj) },
		DeleteFunc: func(obj any) { a.onPodDeleted(obj) },
	})
	refHandler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { a.onReferenced(obj) },
		UpdateFunc: func(_, obj any) { a.onReferenced(obj) },
		DeleteFunc: func(obj any) { a.onReferenced(obj) },
	}
	_, _ = a.secrets.AddEventHandler(refHandler)
	_, _ = a.configMaps.AddEventHandler(refHandler)
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	logf("running nodes %v; pods reach the API server at https://%s:%d; image table %s", a.nodes, bridgeIP, apiPort, o.imageTable)

	<-ctx.Done()
	logf("stopping pods")
	a.mu.Lock()
	workers := make([]*podWorker, 0, len(a.workers))
	for _, w := range a.workers {
		workers = append(workers, w)
	}
	a.mu.Unlock()
	for _, w := range workers {
		<-w.done
	}
	factory.Shutdown()
	a.wg.Wait()
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s node-agent: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func podKey(p *v1.Pod) string { return p.Namespace + "/" + p.Name }

func asPod(obj any) *v1.Pod {
	switch o := obj.(type) {
	case *v1.Pod:
		return o
	case cache.DeletedFinalStateUnknown:
		p, _ := o.Obj.(*v1.Pod)
		return p
	}
	return nil
}

func terminalPhase(p *v1.Pod) bool {
	return p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed
}

func (a *agent) onPod(obj any) {
	pod := asPod(obj)
	if pod == nil || a.ctx.Err() != nil {
		return
	}
	if pod.Spec.NodeName == "" {
		a.maybeBind(pod)
		return
	}
	if !a.nodeSet[pod.Spec.NodeName] {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if w := a.workers[pod.UID]; w != nil {
		w.update(pod)
		return
	}
	if a.finished[pod.UID] {
		return
	}
	if terminalPhase(pod) {
		// Finished before we saw it (e.g. an earlier run of the agent): nothing to run, only to
		// remove once it is deleted.
		if pod.DeletionTimestamp != nil {
			go a.deletePodObject(pod)
		}
		return
	}
	w := newPodWorker(a, pod)
	a.workers[pod.UID] = w
	go w.run()
}

func (a *agent) onPodDeleted(obj any) {
	pod := asPod(obj)
	if pod == nil {
		return
	}
	a.mu.Lock()
	w := a.workers[pod.UID]
	delete(a.finished, pod.UID)
	a.mu.Unlock()
	if w != nil {
		w.objectGone()
	}
}

func (a *agent) workerDone(uid types.UID, objectDeleted bool) {
	a.mu.Lock()
	delete(a.workers, uid)
	if objectDeleted {
		a.finished[uid] = true
	}
	a.mu.Unlock()
}

// onReferenced wakes the workers of the object's namespace: a Secret or ConfigMap may feed their
// volumes or a container that waits for it.
func (a *agent) onReferenced(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, w := range a.workers {
		if w.namespace == m.GetNamespace() {
			w.wake()
		}
	}
}

// maybeBind plays the scheduler for pods that ask for the default one: the node with the fewest
// pods among those that match the pod's nodeSelector and required node affinity.
func (a *agent) maybeBind(pod *v1.Pod) {
	if pod.DeletionTimestamp != nil || terminalPhase(pod) {
		return
	}
	if s := pod.Spec.SchedulerName; s != "" && s != v1.DefaultSchedulerName {
		return
	}
	a.mu.Lock()
	if a.binding[pod.UID] {
		a.mu.Unlock()
		return
	}
	a.binding[pod.UID] = true
	a.mu.Unlock()
	go func() {
		defer func() {
			a.mu.Lock()
			delete(a.binding, pod.UID)
			a.mu.Unlock()
		}()
		node := a.pickNode(pod)
		if node == "" {
			a.markUnschedulable(pod)
			return
		}
		err := a.client.CoreV1().Pods(pod.Namespace).Bind(a.ctx, &v1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID},
			Target:     v1.ObjectReference{Kind: "Node", Name: node},
		}, metav1.CreateOptions{})
		switch {
		case err == nil:
			a.recorder.Eventf(pod, v1.EventTypeNormal, "Scheduled", "Successfully assigned %s to %s", podKey(pod), node)
		case apierrors.IsConflict(err), apierrors.IsNotFound(err), a.ctx.Err() != nil:
			// bound meanwhile, or gone
		default:
			logf("bind %s: %v", podKey(pod), err)
		}
	}()
}

func (a *agent) nodeLabels(name string) map[string]string {
	return map[string]string{
		"kubernetes.io/hostname":          name,
		"kubernetes.io/os":                "linux",
		"kubernetes.io/arch":              goarch(),
		"devcluster.sluice.dev/simulated": "true",
	}
}

func (a *agent) pickNode(pod *v1.Pod) string {
	counts := map[string]int{}
	for _, obj := range a.pods.GetStore().List() {
		if p, ok := obj.(*v1.Pod); ok && a.nodeSet[p.Spec.NodeName] && !terminalPhase(p) {
			counts[p.Spec.NodeName]++
		}
	}
	// nodeSelector and required node affinity (DaemonSet pods name their node that way).
	required := nodeaffinity.GetRequiredNodeAffinity(pod)
	best := ""
	for _, n := range a.nodes {
		node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: a.nodeLabels(n)}}
		if ok, err := required.Match(node); err != nil || !ok {
			continue
		}
		if best == "" || counts[n] < counts[best] {
			best = n
		}
	}
	return best
}

func (a *agent) markUnschedulable(pod *v1.Pod) {
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse {
			return
		}
	}
	p := pod.DeepCopy()
	p.Status.Conditions = append(p.Status.Conditions, v1.PodCondition{
		Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: v1.PodReasonUnschedulable,
		Message:            fmt.Sprintf("0/%d nodes are available: %d node(s) didn't match Pod's node affinity/selector.", len(a.nodes), len(a.nodes)),
		LastTransitionTime: metav1.Now(),
	})
	if _, err := a.client.CoreV1().Pods(p.Namespace).UpdateStatus(a.ctx, p, metav1.UpdateOptions{}); err == nil {
		a.recorder.Eventf(pod, v1.EventTypeWarning, "FailedScheduling", "%s", p.Status.Conditions[len(p.Status.Conditions)-1].Message)
	}
}

// deletePodObject removes a pod whose containers are gone (grace 0, guarded by its UID).
func (a *agent) deletePodObject(pod *v1.Pod) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	zero := int64(0)
	uid := pod.UID
	err := a.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &zero,
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		logf("delete %s: %v", podKey(pod), err)
	}
}

// secret and configMap read from the informer cache, falling back to the API for objects the
// cache has not seen yet.
func (a *agent) secret(ns, name string) (*v1.Secret, error) {
	if obj, ok, _ := a.secrets.GetStore().GetByKey(ns + "/" + name); ok {
		return obj.(*v1.Secret), nil
	}
	ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
	defer cancel()
	return a.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
}

func (a *agent) configMap(ns, name string) (*v1.ConfigMap, error) {
	if obj, ok, _ := a.configMaps.GetStore().GetByKey(ns + "/" + name); ok {
		return obj.(*v1.ConfigMap), nil
	}
	ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
	defer cancel()
	return a.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
