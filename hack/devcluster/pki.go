package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki holds the file paths of the cluster's certificates and keys.
type pki struct {
	dir                     string
	caCert, caKey           string
	servingCert, servingKey string
	adminCert, adminKey     string
	kcmCert, kcmKey         string
	saKey, saPub            string
}

func newPKI(dir string) pki {
	p := func(n string) string { return filepath.Join(dir, n) }
	return pki{
		dir:    dir,
		caCert: p("ca.crt"), caKey: p("ca.key"),
		servingCert: p("apiserver.crt"), servingKey: p("apiserver.key"),
		adminCert: p("admin.crt"), adminKey: p("admin.key"),
		kcmCert: p("controller-manager.crt"), kcmKey: p("controller-manager.key"),
		saKey: p("sa.key"), saPub: p("sa.pub"),
	}
}

// ensure creates whatever is missing. Existing material is kept so that a restarted cluster
// keeps accepting the tokens and client certificates it issued before.
func (k pki) ensure(ips []net.IP, dnsNames []string) error {
	if err := os.MkdirAll(k.dir, 0o700); err != nil {
		return err
	}
	if !exists(k.caCert) || !exists(k.caKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			Subject:               pkix.Name{CommonName: "devcluster-ca"},
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		}
		if err := writeCert(k.caCert, k.caKey, tmpl, nil, key, key, 10*365*24*time.Hour); err != nil {
			return err
		}
	}
	ca, caKey, err := loadCA(k.caCert, k.caKey)
	if err != nil {
		return err
	}
	// The serving certificate is always reissued: the addresses it must name can change.
	servingKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	if err := writeCert(k.servingCert, k.servingKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: ips,
		DNSNames:    dnsNames,
	}, ca, servingKey, caKey, 365*24*time.Hour); err != nil {
		return err
	}
	clients := []struct {
		cert, key, cn string
		orgs          []string
	}{
		{k.adminCert, k.adminKey, "devcluster-admin", []string{"system:masters"}},
		{k.kcmCert, k.kcmKey, "system:kube-controller-manager", nil},
	}
	for _, c := range clients {
		if exists(c.cert) && exists(c.key) {
			continue
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		if err := writeCert(c.cert, c.key, &x509.Certificate{
			Subject:     pkix.Name{CommonName: c.cn, Organization: c.orgs},
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}, ca, key, caKey, 365*24*time.Hour); err != nil {
			return err
		}
	}
	if !exists(k.saKey) || !exists(k.saPub) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			return err
		}
		if err := writePEM(k.saKey, "PRIVATE KEY", der, 0o600); err != nil {
			return err
		}
		if err := writePEM(k.saPub, "PUBLIC KEY", pub, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func writeCert(certPath, keyPath string, tmpl, parent *x509.Certificate, key *ecdsa.PrivateKey, signer crypto.Signer, validity time.Duration) error {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(validity)
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writePEM(keyPath, "PRIVATE KEY", keyDER, 0o600); err != nil {
		return err
	}
	return writePEM(certPath, "CERTIFICATE", der, 0o644)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

func loadCA(certPath, keyPath string) (*x509.Certificate, crypto.Signer, error) {
	cb, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	cblock, _ := pem.Decode(cb)
	kblock, _ := pem.Decode(kb)
	if cblock == nil || kblock == nil {
		return nil, nil, errors.New("devcluster: CA files are not PEM")
	}
	cert, err := x509.ParseCertificate(cblock.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(kblock.Bytes)
	if err != nil {
		return nil, nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("devcluster: CA key is %T, not a signer", key)
	}
	return cert, signer, nil
}
