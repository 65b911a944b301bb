// Package node manages a node's data folder: its configuration and its
// Ed25519 signing key.
//
// A data folder holds everything a node needs: node.json (which
// organisation operates the node, and which database it uses), node.key
// (the key the node signs its organisations' objects with) and, by default,
// the SQLite database. Copying the folder while the node is stopped is a
// backup.
package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Files of a data folder.
const (
	ConfigFile = "node.json"
	KeyFile    = "node.key"
	DBFile     = "cointrail.db"
)

// configVersion is the version of node.json this code writes.
const configVersion = 1

// Config is a data folder's node.json.
type Config struct {
	// Version is the version of this file's format.
	Version int `json:"version"`
	// Operator is the identity id of the organisation that operates the
	// node; commands act as it when no --as is given.
	Operator string `json:"operator"`
	// OperatorName is the operator organisation's name.
	OperatorName string `json:"operator_name"`
	// DB is the PostgreSQL URL of the node's database; "" for the SQLite
	// database in the folder.
	DB string `json:"db,omitempty"`
	// Created is when the folder was made.
	Created time.Time `json:"created"`
}

// ErrNotInitialised reports a folder that holds no node.
var ErrNotInitialised = errors.New("node: not a cointrail data folder")

// ErrExists reports a folder that already holds a node.
var ErrExists = errors.New("node: data folder already initialised")

// Create makes dir a data folder: it creates the folder (mode 0700) and a
// fresh signing key. The configuration is written by [WriteConfig] once the
// operator organisation exists.
func Create(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil {
		return fmt.Errorf("%w: %s", ErrExists, dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); err == nil {
		return nil // a previous, interrupted init made it
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate node key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("encode node key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return writeFileAtomic(filepath.Join(dir, KeyFile), data, 0o600)
}

// WriteConfig writes cfg as dir's node.json.
func WriteConfig(dir string, cfg Config) error {
	cfg.Version = configVersion
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, ConfigFile), append(data, '\n'), 0o600)
}

// LoadConfig reads dir's node.json.
func LoadConfig(dir string) (Config, error) {
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, fmt.Errorf("%w: %s (run cointrail init --data %s)", ErrNotInitialised, dir, dir)
	}
	if err != nil {
		return Config{}, fmt.Errorf("read node config: %w", err)
	}
	var cfg Config
	if err := json.Unmarshal(data, &cfg); err != nil {
		return Config{}, fmt.Errorf("node config %s: %w", filepath.Join(dir, ConfigFile), err)
	}
	if cfg.Version > configVersion {
		return Config{}, fmt.Errorf("node config %s has version %d; this cointrail understands up to %d", filepath.Join(dir, ConfigFile), cfg.Version, configVersion)
	}
	return cfg, nil
}

// LoadKey reads dir's signing key.
func LoadKey(dir string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(filepath.Join(dir, KeyFile))
	if err != nil {
		return nil, fmt.Errorf("read node key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("node key %s is not a PEM private key", filepath.Join(dir, KeyFile))
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("node key %s is not an Ed25519 key", filepath.Join(dir, KeyFile))
	}
	return priv, nil
}

// KeyID names a public key: the base64url SHA-256 of the key, first 16
// bytes. Signatures carry it so a verifier knows which key to use.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// writeFileAtomic writes data to path through a temporary file and a rename,
// so a crash leaves the old file or the new one, never half of one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
