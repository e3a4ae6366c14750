package app_test

import (
	"context"
	"testing"

	"github.com/secure-personal-profile/spp/app"
	"github.com/secure-personal-profile/spp/store/storetest"
)

// kindSender delivers nothing; it only claims a kind.
type kindSender string

func (k kindSender) Kind() string                             { return string(k) }
func (k kindSender) Send(context.Context, *app.Message) error { return nil }

func TestDeliversAndSyncInfoDescribeTheRunningProcess(t *testing.T) {
	env := storetest.New(t, app.Config{})
	if env.App.Delivers(app.KindEmail) {
		t.Fatal("delivers e-mail before the outbox runs")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env.App.StartOutbox(ctx, kindSender(app.KindEmail), kindSender(app.KindWebhook))
	if !env.App.Delivers(app.KindEmail) || !env.App.Delivers(app.KindWebhook) {
		t.Fatal("a configured sender is not reported")
	}
	if env.App.Delivers(app.KindSMS) {
		t.Fatal("SMS reported without a sender")
	}
	if info := env.App.SyncInfo(); info.Running || info.PeerID != "" || info.Addrs != nil {
		t.Fatalf("sync reported without a sync service: %+v", info)
	}
}
