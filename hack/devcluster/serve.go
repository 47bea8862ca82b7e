package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

type serveOpts struct {
	dir              string
	securePort       int
	bindAddress      string
	advertiseAddress string
	extraIPs         string
	etcdPort         int
	nodeAgent        bool
	agentArgs        []string
}

// controllers the local cluster runs: what Deployments, Services and namespaces need to behave
// as on a real cluster. Cloud, node-IPAM and certificate controllers have nothing to do here.
var controllers = []string{
	"garbage-collector-controller",
	"namespace-controller",
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	"root-ca-certificate-publisher-controller",
	"deployment-controller",
	"replicaset-controller",
	"statefulset-controller",
	"daemonset-controller",
	"job-controller",
	"disruption-controller",
	"horizontal-pod-autoscaler-controller",
	"endpoints-controller",
	"endpointslice-controller",
	"endpointslice-mirroring-controller",
	"pod-garbage-collector-controller",
	"resourcequota-controller",
	"ttl-after-finished-controller",
}

func serve(args []string) int {
	var o serveOpts
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&o.dir, "dir", ".devcluster", "state directory (certificates, etcd data, logs, kubeconfig)")
	fs.IntVar(&o.securePort, "secure-port", 16443, "kube-apiserver HTTPS port")
	// kube-apiserver stays on loopback; pods reach it at the bridge address through the node
	// agent's relay (see apiforward.go), so nothing listens on the machine's outside interfaces.
	fs.StringVar(&o.bindAddress, "bind-address", "127.0.0.1", "address kube-apiserver listens on")
	// The advertised address becomes the endpoint of the `kubernetes` Service, which must not be
	// loopback; the bridge address is where pods reach the API server.
	fs.StringVar(&o.advertiseAddress, "advertise-address", bridgeIP, "address kube-apiserver advertises")
	fs.StringVar(&o.extraIPs, "extra-ips", "", "comma-separated extra IP SANs for the serving certificate")
	fs.IntVar(&o.etcdPort, "etcd-port", 12379, "etcd client port on 127.0.0.1 (peer port is this + 1)")
	fs.BoolVar(&o.nodeAgent, "node-agent", envOr("SLUICE_NODE_AGENT", "true") != "false", "run the node agent (simulated nodes that run pods; env SLUICE_NODE_AGENT=false turns it off)")
	nodes := fs.Int("nodes", 1, "number of simulated nodes")
	nodeName := fs.String("node-name", "devnode", "simulated nodes are NAME-1 ... NAME-N")
	imageTable := fs.String("image-table", "", "node agent image table (env SLUICE_IMAGE_TABLE; default REPO/hack/images.json)")
	repo := fs.String("repo", "", "repository root for ${REPO} in the image table (env SLUICE_REPO)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	o.agentArgs = []string{fmt.Sprintf("--nodes=%d", *nodes), "--node-name=" + *nodeName}
	if *imageTable != "" {
		o.agentArgs = append(o.agentArgs, "--image-table="+*imageTable)
	}
	if *repo != "" {
		o.agentArgs = append(o.agentArgs, "--repo="+*repo)
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return fail(err)
	}
	o.dir = dir
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return fail(err)
	}
	k := newPKI(filepath.Join(o.dir, "pki"))
	ips := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1"), net.ParseIP(bridgeIP)}
	if ip := net.ParseIP(o.advertiseAddress); ip != nil && !ip.Equal(net.ParseIP(bridgeIP)) {
		ips = append(ips, ip)
	}
	for _, s := range strings.Split(o.extraIPs, ",") {
		if ip := net.ParseIP(strings.TrimSpace(s)); ip != nil {
			ips = append(ips, ip)
		}
	}
	dns := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	if err := k.ensure(ips, dns); err != nil {
		return fail(fmt.Errorf("certificates: %w", err))
	}

	etcd, err := startEtcd(o)
	if err != nil {
		return fail(fmt.Errorf("etcd: %w", err))
	}
	defer etcd.Close()

	server := fmt.Sprintf("https://127.0.0.1:%d", o.securePort)
	adminKubeconfig := filepath.Join(o.dir, "kubeconfig")
	kcmKubeconfig := filepath.Join(o.dir, "controller-manager.kubeconfig")
	if err := writeKubeconfig(adminKubeconfig, server, k.caCert, k.adminCert, k.adminKey); err != nil {
		return fail(err)
	}
	if err := writeKubeconfig(kcmKubeconfig, server, k.caCert, k.kcmCert, k.kcmKey); err != nil {
		return fail(err)
	}

	self, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	apiArgs := []string{
		"--etcd-servers=" + fmt.Sprintf("http://127.0.0.1:%d", o.etcdPort),
		fmt.Sprintf("--secure-port=%d", o.securePort),
		"--bind-address=" + o.bindAddress,
		"--advertise-address=" + o.advertiseAddress,
		"--cert-dir=" + filepath.Join(o.dir, "apiserver-certs"),
		"--tls-cert-file=" + k.servingCert,
		"--tls-private-key-file=" + k.servingKey,
		"--client-ca-file=" + k.caCert,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + k.saPub,
		"--service-account-signing-key-file=" + k.saKey,
		"--api-audiences=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=RBAC",
		"--allow-privileged=true",
		"--enable-aggregator-routing=true",
		"--endpoint-reconciler-type=lease",
		"--profiling=false",
		"--v=0",
	}
	kcmArgs := []string{
		"--kubeconfig=" + kcmKubeconfig,
		"--authentication-kubeconfig=" + kcmKubeconfig,
		"--authorization-kubeconfig=" + kcmKubeconfig,
		"--controllers=" + strings.Join(controllers, ","),
		"--service-account-private-key-file=" + k.saKey,
		"--root-ca-file=" + k.caCert,
		"--use-service-account-credentials=true",
		"--leader-elect=false",
		"--secure-port=0",
		"--concurrent-deployment-syncs=10",
		"--concurrent-replicaset-syncs=10",
		"--concurrent-service-endpoint-syncs=10",
		"--endpointslice-updates-batch-period=0s",
		"--profiling=false",
		"--v=0",
	}

	agentArgs := append([]string{"--kubeconfig=" + adminKubeconfig, "--dir=" + o.dir}, o.agentArgs...)

	sigCtx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	restartAPI := make(chan os.Signal, 1)
	signal.Notify(restartAPI, syscall.SIGUSR1)

	// Shutdown order: the node agent first (it stops pods and removes the pod network while the
	// API server still answers), then the control plane.
	ctx, stopControlPlane := context.WithCancel(context.Background())
	defer stopControlPlane()
	agentCtx, stopAgent := context.WithCancel(ctx)
	defer stopAgent()

	api := &child{name: "kube-apiserver", bin: self, args: apiArgs, log: filepath.Join(o.dir, "kube-apiserver.log")}
	ctrl := &child{name: "kube-controller-manager", bin: self, args: kcmArgs, log: filepath.Join(o.dir, "kube-controller-manager.log")}
	agent := &child{name: "node-agent", bin: self, args: agentArgs, log: filepath.Join(o.dir, "node-agent.log"), stopWait: 25 * time.Second}
	lb := &child{name: "service-lb", bin: self, args: []string{"--kubeconfig=" + adminKubeconfig}, log: filepath.Join(o.dir, "service-lb.log")}
	var wg, agentWG sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); api.supervise(ctx) }()

	client, err := adminClient(k)
	if err != nil {
		return fail(err)
	}
	if err := waitReady(sigCtx, client, server+"/readyz", 3*time.Minute); err != nil {
		stopControlPlane()
		wg.Wait()
		return fail(fmt.Errorf("kube-apiserver did not become ready (see %s): %w", api.log, err))
	}
	wg.Add(1)
	go func() { defer wg.Done(); ctrl.supervise(ctx) }()
	if o.nodeAgent {
		agentWG.Add(1)
		go func() { defer agentWG.Done(); agent.supervise(agentCtx) }()
		// LoadBalancer Services only make sense with pods to balance over.
		agentWG.Add(1)
		go func() { defer agentWG.Done(); lb.supervise(agentCtx) }()
	}
	fmt.Printf("devcluster: ready at %s (kubeconfig %s)\n", server, adminKubeconfig)

	for {
		select {
		case <-sigCtx.Done():
			stopAgent()
			agentWG.Wait()
			stopControlPlane()
			wg.Wait()
			fmt.Println("devcluster: stopped")
			return 0
		case <-restartAPI:
			// Tests use SIGUSR1 to prove that clients survive an API server restart.
			fmt.Println("devcluster: restarting kube-apiserver")
			api.restart()
		}
	}
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "devcluster:", err)
	return 1
}

func startEtcd(o serveOpts) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = "devcluster"
	cfg.Dir = filepath.Join(o.dir, "etcd")
	client, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", o.etcdPort))
	peer, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", o.etcdPort+1))
	cfg.ListenClientUrls = []url.URL{*client}
	cfg.AdvertiseClientUrls = []url.URL{*client}
	cfg.ListenPeerUrls = []url.URL{*peer}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	cfg.InitialCluster = "devcluster=" + peer.String()
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{filepath.Join(o.dir, "etcd.log")}
	cfg.UnsafeNoFsync = true // a throwaway development store: speed over durability
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("not ready after 60s")
	}
}

func writeKubeconfig(path, server, ca, cert, key string) error {
	body := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: devcluster
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: %s
  user:
    client-certificate: %s
    client-key: %s
contexts:
- name: devcluster
  context:
    cluster: devcluster
    user: %s
current-context: devcluster
`, server, ca, filepath.Base(cert), cert, key, filepath.Base(cert))
	return os.WriteFile(path, []byte(body), 0o600)
}

func adminClient(k pki) (*http.Client, error) {
	pair, err := tls.LoadX509KeyPair(k.adminCert, k.adminKey)
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(k.caCert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}},
	}}, nil
}

func waitReady(ctx context.Context, c *http.Client, u string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		resp, err := c.Get(u)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			last = fmt.Errorf("%s: %d %s", u, resp.StatusCode, strings.TrimSpace(string(body)))
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	return last
}

// child runs one component as a child process and restarts it if it exits on its own.
type child struct {
	name, bin, log string
	args           []string
	stopWait       time.Duration // how long SIGTERM may take before SIGKILL (default 15 s)
	mu             sync.Mutex
	cmd            *exec.Cmd
}

func (c *child) supervise(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		started := time.Now()
		if err := c.run(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintf(os.Stderr, "devcluster: %s exited: %v\n", c.name, err)
		}
		if time.Since(started) > time.Minute {
			backoff = time.Second
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (c *child) run(ctx context.Context) error {
	f, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.Command(c.bin, append([]string{c.name}, c.args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	// The child dies with us even if we are killed hard.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	c.mu.Lock()
	c.cmd = cmd
	c.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		wait := c.stopWait
		if wait == 0 {
			wait = 15 * time.Second
		}
		select {
		case <-done:
		case <-time.After(wait):
			_ = cmd.Process.Kill()
			<-done
		}
		return nil
	}
}

// restart stops the running process; supervise starts it again.
func (c *child) restart() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
}
