// Package pgtest gives tests a PostgreSQL database of their own on the
// server that COINTRAIL_TEST_POSTGRES names.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Env names the variable holding the admin URL of the test server.
const Env = "COINTRAIL_TEST_POSTGRES"

// AdminURL returns $COINTRAIL_TEST_POSTGRES, skipping the test when it is
// unset, except under CI=true, where that is a failure.
func AdminURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(Env)
	if u == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set; it is required under CI=true (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)", Env)
		}
		tb.Skipf("set %s to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run this test", Env)
	}
	return u
}

// FreshDatabase creates an empty database cointrail_test_<random> for the
// test, dropped when it ends, and returns its URL.
func FreshDatabase(tb testing.TB) string {
	tb.Helper()
	admin := AdminURL(tb)
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	name := "cointrail_test_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		tb.Fatalf("connect to %s: %v", Env, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Errorf("connect to drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil || u.Scheme == "" {
		tb.Fatalf("%s must be a postgres:// URL", Env)
	}
	u.Path = "/" + name
	return u.String()
}
