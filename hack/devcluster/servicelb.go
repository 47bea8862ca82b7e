package main

// service-lb plays the cloud load balancer for the local cluster: every Service of type
// LoadBalancer gets its own loopback address (127.0.1.N), listeners on its ports there, and TCP
// forwarding to the Service's ready endpoints (the pods' 198.18.x.y addresses, through the
// bridge). The address is written to the Service's status.loadBalancer, as a cloud provider does.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

func serviceLB(args []string) int {
	fs := flag.NewFlagSet("service-lb", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", ".devcluster/kubeconfig", "admin kubeconfig")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fail(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	lb := newLoadBalancers(client)
	lb.run(ctx)
	return 0
}

type lbKey struct{ namespace, name string }

type loadBalancers struct {
	client   kubernetes.Interface
	services cache.GenericLister
	slices   cache.GenericLister
	mu       sync.Mutex
	active   map[lbKey]*lbService
	nextIP   int
	trigger  chan struct{}
}

// lbService is one Service's address and listeners; endpoints are swapped atomically.
type lbService struct {
	ip        string
	listeners map[int32]net.Listener // by service port
	targets   map[int32]*atomic.Pointer[[]string]
	rr        atomic.Uint64
}

func newLoadBalancers(client kubernetes.Interface) *loadBalancers {
	return &loadBalancers{client: client, active: map[lbKey]*lbService{}, nextIP: 1, trigger: make(chan struct{}, 1)}
}

func (l *loadBalancers) run(ctx context.Context) {
	f := informers.NewSharedInformerFactory(l.client, 10*time.Minute)
	svcInf := f.Core().V1().Services()
	sliceInf := f.Discovery().V1().EndpointSlices()
	kick := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { l.kick() },
		UpdateFunc: func(any, any) { l.kick() },
		DeleteFunc: func(any) { l.kick() },
	}
	_, _ = svcInf.Informer().AddEventHandler(kick)
	_, _ = sliceInf.Informer().AddEventHandler(kick)
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	for {
		select {
		case <-ctx.Done():
			l.mu.Lock()
			for k, s := range l.active {
				s.close()
				delete(l.active, k)
			}
			l.mu.Unlock()
			return
		case <-l.trigger:
			l.sync(ctx, svcInf.Lister().List, sliceInf.Lister().List)
		}
	}
}

func (l *loadBalancers) kick() {
	select {
	case l.trigger <- struct{}{}:
	default:
	}
}

func (l *loadBalancers) sync(ctx context.Context,
	listServices func(labels.Selector) ([]*corev1.Service, error),
	listSlices func(labels.Selector) ([]*discoveryv1.EndpointSlice, error),
) {
	svcs, _ := listServices(labels.Everything())
	slices, _ := listSlices(labels.Everything())
	sort.Slice(svcs, func(i, j int) bool {
		return svcs[i].CreationTimestamp.Before(&svcs[j].CreationTimestamp) ||
			(svcs[i].CreationTimestamp.Equal(&svcs[j].CreationTimestamp) && svcs[i].Namespace+"/"+svcs[i].Name < svcs[j].Namespace+"/"+svcs[j].Name)
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[lbKey]bool{}
	for _, svc := range svcs {
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			continue
		}
		k := lbKey{svc.Namespace, svc.Name}
		seen[k] = true
		s := l.active[k]
		if s == nil {
			s = &lbService{ip: fmt.Sprintf("127.0.1.%d", l.nextIP), listeners: map[int32]net.Listener{}, targets: map[int32]*atomic.Pointer[[]string]{}}
			l.nextIP++
			l.active[k] = s
		}
		for _, p := range svc.Spec.Ports {
			if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
				continue
			}
			if s.targets[p.Port] == nil {
				s.targets[p.Port] = &atomic.Pointer[[]string]{}
			}
			addrs := readyAddresses(svc, p, slices)
			s.targets[p.Port].Store(&addrs)
			if s.listeners[p.Port] == nil {
				ln, err := net.Listen("tcp", net.JoinHostPort(s.ip, strconv.Itoa(int(p.Port))))
				if err != nil {
					fmt.Fprintf(os.Stderr, "service-lb: %s/%s port %d: %v\n", k.namespace, k.name, p.Port, err)
					continue
				}
				s.listeners[p.Port] = ln
				go s.serve(ln, s.targets[p.Port])
			}
		}
		if len(svc.Status.LoadBalancer.Ingress) != 1 || svc.Status.LoadBalancer.Ingress[0].IP != s.ip {
			upd := svc.DeepCopy()
			upd.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: s.ip}}
			if _, err := l.client.CoreV1().Services(svc.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{}); err != nil {
				fmt.Fprintf(os.Stderr, "service-lb: status of %s/%s: %v\n", k.namespace, k.name, err)
			}
		}
	}
	for k, s := range l.active {
		if !seen[k] {
			s.close()
			delete(l.active, k)
		}
	}
}

// readyAddresses lists ip:port of ready endpoints for one Service port (target port resolved by
// the EndpointSlice port name, as kube-proxy does).
func readyAddresses(svc *corev1.Service, p corev1.ServicePort, slices []*discoveryv1.EndpointSlice) []string {
	var out []string
	for _, sl := range slices {
		if sl.Namespace != svc.Namespace || sl.Labels[discoveryv1.LabelServiceName] != svc.Name {
			continue
		}
		var port int32
		for _, sp := range sl.Ports {
			if sp.Port != nil && (sp.Name == nil && p.Name == "" || sp.Name != nil && *sp.Name == p.Name) {
				port = *sp.Port
			}
		}
		if port == 0 {
			continue
		}
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				// Only simulated pods: an EndpointSlice written by hand must not turn the
				// load balancer into a way out to other networks.
				if ip := net.ParseIP(a); ip == nil || !podNet.Contains(ip) {
					continue
				}
				out = append(out, net.JoinHostPort(a, strconv.Itoa(int(port))))
			}
		}
	}
	sort.Strings(out)
	return out
}

func (s *lbService) serve(ln net.Listener, targets *atomic.Pointer[[]string]) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			list := targets.Load()
			if list == nil || len(*list) == 0 {
				return
			}
			target := (*list)[s.rr.Add(1)%uint64(len(*list))]
			up, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				return
			}
			defer up.Close()
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(up, conn); closeWrite(up); done <- struct{}{} }()
			go func() { _, _ = io.Copy(conn, up); closeWrite(conn); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

func (s *lbService) close() {
	for _, ln := range s.listeners {
		_ = ln.Close()
	}
}
