package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// The simulated pod network: one Linux bridge with the first address of 198.18.0.0/15 (the range
// reserved for benchmarking, so it collides with nothing real), one network namespace per pod and
// a veth pair between the two. Every name we create carries a fixed prefix so that a later run
// (or `devcluster cleanup`) can find and remove what a killed run left behind.
const (
	bridgeName   = "sluice0"
	bridgeIP     = "198.18.0.1"
	podPrefixLen = 15
	netnsPrefix  = "sluice-"
	vethPrefix   = "sluv"
)

var podNet = func() *net.IPNet { _, n, _ := net.ParseCIDR("198.18.0.0/15"); return n }()

// ipTool runs one iproute2 command and returns its output; errors carry the command's own message.
func ipTool(args ...string) (string, error) {
	var out bytes.Buffer
	cmd := exec.Command("ip", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

func linkExists(name string) bool {
	_, err := ipTool("link", "show", "dev", name)
	return err == nil
}

// ensureBridge creates the bridge and its address (idempotent). Forwarding is switched off on it so
// pods can reach the host and each other but never anything beyond, whatever the host's setting.
func ensureBridge() error {
	if !linkExists(bridgeName) {
		if _, err := ipTool("link", "add", bridgeName, "type", "bridge"); err != nil {
			return err
		}
	}
	// IPv6 off before the link comes up: no link-local addresses, router solicitations or DAD.
	_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+bridgeName+"/disable_ipv6", []byte("1"), 0o644)
	if _, err := ipTool("addr", "replace", fmt.Sprintf("%s/%d", bridgeIP, podPrefixLen), "dev", bridgeName); err != nil {
		return err
	}
	if _, err := ipTool("link", "set", bridgeName, "up"); err != nil {
		return err
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+bridgeName+"/forwarding", []byte("0"), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "node-agent: cannot switch off forwarding on %s: %v\n", bridgeName, err)
	}
	return nil
}

// sandboxNames derives the netns and host-side veth names from the pod UID (a veth name has at
// most 15 characters).
func sandboxNames(uid string) (netns, veth string) {
	h := sha256.Sum256([]byte(uid))
	id := hex.EncodeToString(h[:])
	return netnsPrefix + id[:16], vethPrefix + id[:11]
}

// setupSandbox creates the pod's network namespace with eth0 = ip/15, lo up and a default route
// via the bridge. On failure whatever was created is removed again.
func setupSandbox(netns, veth string, ip net.IP) (err error) {
	defer func() {
		if err != nil {
			teardownSandbox(netns, veth)
		}
	}()
	steps := [][]string{
		{"netns", "add", netns},
		{"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns},
		{"link", "set", veth, "master", bridgeName},
		{"link", "set", veth, "up"},
		{"-n", netns, "addr", "add", fmt.Sprintf("%s/%d", ip, podPrefixLen), "dev", "eth0"},
		{"-n", netns, "link", "set", "lo", "up"},
		{"-n", netns, "link", "set", "eth0", "up"},
		{"-n", netns, "route", "add", "default", "via", bridgeIP},
	}
	for i, s := range steps {
		if _, err := ipTool(s...); err != nil {
			return err
		}
		if i == 1 {
			// The host side carries no addresses: keep IPv6 link-local ones off it.
			_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+veth+"/disable_ipv6", []byte("1"), 0o644)
		}
	}
	return nil
}

// teardownSandbox kills whatever still runs in the namespace and removes it and the veth pair.
func teardownSandbox(netns, veth string) {
	killNetnsProcesses(netns)
	if _, err := os.Stat("/run/netns/" + netns); err == nil {
		if _, err := ipTool("netns", "delete", netns); err != nil {
			fmt.Fprintln(os.Stderr, "node-agent:", err)
		}
	}
	if linkExists(veth) {
		_, _ = ipTool("link", "delete", veth)
	}
}

func killNetnsProcesses(netns string) {
	out, err := ipTool("netns", "pids", netns)
	if err != nil {
		return
	}
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// routesViaBridge reports whether the kernel sends traffic for ip through our bridge: the check
// every prober and test makes before it sends anything to a simulated address.
func routesViaBridge(ip string) error {
	parsed := net.ParseIP(ip)
	if parsed == nil || !podNet.Contains(parsed) {
		return fmt.Errorf("%s is not in the simulated pod range %s", ip, podNet)
	}
	out, err := ipTool("route", "get", ip)
	if err != nil {
		return err
	}
	fields := strings.Fields(out)
	for i := 0; i+1 < len(fields); i++ {
		if fields[i] == "dev" {
			if fields[i+1] == bridgeName {
				return nil
			}
			return fmt.Errorf("route to %s goes via %s, not %s; refusing to send traffic", ip, fields[i+1], bridgeName)
		}
	}
	return fmt.Errorf("route to %s: no device in %q", ip, strings.TrimSpace(out))
}

// ipPool hands out pod addresses from 198.18.0.0/15, skipping the network address, the bridge and
// the broadcast address. It moves on round-robin so a freed address is not reused at once (an
// EndpointSlice may still name it while its old pod terminates).
type ipPool struct {
	mu   sync.Mutex
	used map[uint32]bool
	next uint32
}

func newIPPool() *ipPool { return &ipPool{used: map[uint32]bool{}, next: 2} }

func (p *ipPool) allocate() (net.IP, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	base := ipToU32(podNet.IP)
	size := uint32(1) << (32 - podPrefixLen)
	for range size {
		off := p.next
		p.next++
		if p.next >= size-1 {
			p.next = 2
		}
		if off < 2 || off >= size-1 || p.used[off] {
			continue
		}
		p.used[off] = true
		return u32ToIP(base + off), nil
	}
	return nil, fmt.Errorf("pod address range %s exhausted", podNet)
}

func (p *ipPool) release(ip net.IP) {
	if ip == nil || !podNet.Contains(ip) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.used, ipToU32(ip)-ipToU32(podNet.IP))
}

func ipToU32(ip net.IP) uint32 {
	v4 := ip.To4()
	return uint32(v4[0])<<24 | uint32(v4[1])<<16 | uint32(v4[2])<<8 | uint32(v4[3])
}

func u32ToIP(v uint32) net.IP { return net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v)) }
